"""The deployment files agree with the code: they parse, their ports, paths and environment names
match the defaults newsd reports (`newsd config-doc`), deploy/newsd.yaml passes `newsd check-config`,
and the Dockerfile has the shape the image promises (two Debian 12 stages built with
scripts/deps.sh, non-root, HEALTHCHECK through `newsd healthcheck`). `make test` does not assume a
Docker engine, so the image's steps that can run outside it are run: the install tree, the config it
ships, and the runtime package list covering the libraries the binary links (the Release build and
its installed tree are tests/install/)."""
import os
import re
import subprocess

import yaml

from conftest import NEWSD_BIN

SRC = os.environ.get("NEWSD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
DEPLOY = os.path.join(SRC, "deploy")
K8S = os.path.join(DEPLOY, "k8s")


def newsd(*args, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("NEWSD_") and k not in ("NEWSD_BIN", "NEWSD_SOURCE_DIR", "NEWSD_BROKER_DIR"):
            del e[k]  # the checks below are about the files, not this shell's overrides
    e.update(env or {})
    return subprocess.run([NEWSD_BIN, *args], capture_output=True, text=True, env=e, timeout=60)


def config_doc():
    """{key: (default, env var)} from the generated reference."""
    out = newsd("config-doc").stdout
    keys = {}
    for m in re.finditer(r"^\| `([a-z_.]+)` \| \w+ \| `?([^|`]*)`? \| `([A-Z_<>]+)` \|", out, re.M):
        keys[m.group(1)] = (m.group(2).strip(), m.group(3))
    assert "server.port" in keys and "kafka.brokers" in keys, out[:500]
    return keys


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def k8s_docs():
    docs = {}
    for name in sorted(os.listdir(K8S)):
        with open(os.path.join(K8S, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs[doc["kind"]] = doc
    return docs


def dockerfile():
    """Instructions of the Dockerfile with continuation lines joined: [(INSTRUCTION, args)]."""
    with open(os.path.join(SRC, "Dockerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            out.append((op.upper(), args.strip()))
    return out


def test_example_config_is_valid_and_uses_the_default_port():
    r = newsd("check-config", os.path.join(DEPLOY, "newsd.yaml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "valid" in r.stdout
    conf = load(os.path.join(DEPLOY, "newsd.yaml"))
    keys = config_doc()
    assert conf["server"]["port"] == int(keys["server.port"][0]) == 8080
    for k, v in conf["kafka"]["topics"].items():
        assert v == keys[f"kafka.topics.{k}"][0], k


def test_configmap_holds_the_example_config():
    cm = k8s_docs()["ConfigMap"]
    with open(os.path.join(DEPLOY, "newsd.yaml")) as f:
        assert cm["data"]["newsd.yaml"] == f.read(), "deploy/k8s/configmap.yaml differs from deploy/newsd.yaml"


def test_kubernetes_objects_agree_with_the_code():
    docs = k8s_docs()
    assert set(docs) >= {"Deployment", "ConfigMap", "Service", "PodDisruptionBudget"}
    port = int(config_doc()["server.port"][0])
    dep = docs["Deployment"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == port
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"]["port"] in ("http", port)
    # non-root, read-only root filesystem
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # memory request and limit present and ordered, and sized by docs/OPERATIONS.md's formula: the
    # request covers the models (128 MiB measured by bench_memory) and the process, the limit adds
    # the config's memory.limit_mb of buffers on top
    req, lim = c["resources"]["requests"]["memory"], c["resources"]["limits"]["memory"]
    mi = lambda s: int(s[:-2]) * (1024 if s.endswith("Gi") else 1)
    assert 128 <= mi(req) <= mi(lim)
    conf = yaml.safe_load(docs["ConfigMap"]["data"]["newsd.yaml"])
    budget_mb = int((conf.get("memory") or {}).get("limit_mb", config_doc()["memory.limit_mb"][0]))
    assert mi(lim) - mi(req) >= budget_mb, f"limit {lim} - request {req} < memory.limit_mb {budget_mb}"
    # the config is mounted where the image's entrypoint reads it
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["config"] == "/etc/newsd"
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["config"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    # a grace period longer than the producer's flush deadline
    flush_ms = int(config_doc()["kafka.flush_timeout_ms"][0])
    assert pod["terminationGracePeriodSeconds"] * 1000 > flush_ms
    # every environment variable is one newsd documents
    env_names = {v[1] for v in config_doc().values()}
    for e in c.get("env", []):
        assert e["name"] in env_names, f"{e['name']} is not a newsd setting"
    # the Service and the PDB select the pod and expose the health port
    svc = docs["Service"]
    assert svc["spec"]["selector"].items() <= labels.items()
    (sp,) = svc["spec"]["ports"]
    assert sp["port"] == port and sp["targetPort"] in ("http", port)
    assert svc["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    pdb = docs["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # several replicas only share the feeds in cluster mode, each with a transactional id of its own
    if dep["spec"]["replicas"] > 1:
        env = {e["name"]: e for e in c["env"]}
        assert env["NEWSD_CLUSTER_FEEDS_TOPIC"]["value"], "replicas > 1 need cluster.feeds_topic"
        assert env["NEWSD_KAFKA_TRANSACTIONAL_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert pdb["spec"]["maxUnavailable"] < dep["spec"]["replicas"]
        # the init container publishes the mounted config's feeds to the same topic
        (init,) = pod["initContainers"]
        assert init["command"][:3] == ["newsd", "feeds", "publish"]
        init_env = {e["name"]: e.get("value") for e in init["env"]}
        assert init_env["NEWSD_CLUSTER_FEEDS_TOPIC"] == env["NEWSD_CLUSTER_FEEDS_TOPIC"]["value"]
        assert init_env["NEWSD_KAFKA_BROKERS"] == env["NEWSD_KAFKA_BROKERS"]["value"]
        assert {m["name"]: m["mountPath"] for m in init["volumeMounts"]}["config"] == "/etc/newsd"


def test_compose_file():
    compose = load(os.path.join(DEPLOY, "compose.yaml"))
    svc = compose["services"]
    assert set(svc) == {"kafka", "newsd", "kcat"}
    kafka = svc["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("://", 1)[1]
    n = svc["newsd"]
    assert n["environment"]["NEWSD_KAFKA_BROKERS"] == advertised
    env_names = {v[1] for v in config_doc().values()}
    assert set(n["environment"]) <= env_names
    assert n["build"]["dockerfile"] == "Dockerfile"
    assert os.path.exists(os.path.join(DEPLOY, n["build"]["context"], "Dockerfile"))
    assert n["read_only"] is True and n["user"].split(":")[0] != "0"
    host, container = n["ports"][0].split(":")
    assert int(container) == int(config_doc()["server.port"][0])
    src, dst = n["volumes"][0].split(":")[:2]
    assert os.path.exists(os.path.join(DEPLOY, src)) and dst == "/etc/newsd/newsd.yaml"
    assert n["depends_on"]["kafka"]["condition"] == "service_healthy"
    kcat = svc["kcat"]
    assert "kcat" in kcat["image"]
    args = kcat["command"]
    assert args[args.index("-b") + 1] == advertised
    assert args[args.index("-t") + 1] == config_doc()["kafka.topics.stories"][0]


def test_dockerfile_shape():
    ins = dockerfile()
    froms = [a for op, a in ins if op == "FROM"]
    assert len(froms) == 2
    assert re.fullmatch(r"debian:12 AS build", froms[0], re.I), froms[0]
    assert re.fullmatch(r"debian:12(-slim)? AS runtime", froms[1], re.I), froms[1]
    stage_of = []
    stage = -1
    for op, a in ins:
        if op == "FROM":
            stage += 1
        stage_of.append((stage, op, a))
    runs = {s: " && ".join(a for st, op, a in stage_of if st == s and op == "RUN") for s in (0, 1)}
    # the same dependency script as the Makefile, build packages in one stage, runtime in the other,
    # and the apt cache cleaned in both
    assert re.search(r"scripts/deps\.sh build\b", runs[0])
    assert re.search(r"deps\.sh runtime\b", runs[1])
    for s in (0, 1):
        assert "apt-get clean" in runs[s] and "rm -rf /var/lib/apt/lists/*" in runs[s], s
    # the one Release build CI runs too (ctest release.build), not a copy of its steps
    assert re.search(r"scripts/build-release\.sh /out\b", runs[0])
    assert "cmake" not in runs[0]
    with open(os.path.join(SRC, "scripts/build-release.sh")) as f:
        script = f.read()
    assert "-DCMAKE_BUILD_TYPE=Release" in script and "-DNEWSD_TESTS=OFF" in script
    assert re.search(r"cmake --install .*--prefix \"\$prefix\" --strip", script)
    last = {op: a for st, op, a in stage_of if st == 1}
    uid, gid = last["USER"].split(":")
    assert uid not in ("root", "0") and gid not in ("root", "0")
    # the user and group the image creates are the ones USER names, as the docs and k8s say
    assert re.search(rf"groupadd .*--gid {gid}\b", runs[1]), runs[1]
    assert re.search(rf"useradd .*--uid {uid}\b.*--gid {gid}\b", runs[1]), runs[1]
    pod = k8s_docs()["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (int(uid), int(gid))
    with open(os.path.join(SRC, "docs/OPERATIONS.md")) as f:
        assert f"uid/gid {uid}" in f.read()
    assert load(os.path.join(DEPLOY, "compose.yaml"))["services"]["newsd"]["user"] == f"{uid}:{gid}"
    assert int(last["EXPOSE"]) == int(config_doc()["server.port"][0])
    hc = last["HEALTHCHECK"]
    cmd = re.search(r"CMD (\[.*\])", hc).group(1)
    hc_args = yaml.safe_load(cmd)
    # healthy means ready (/readyz), so Compose's service_healthy means publishing
    assert hc_args[:2] == ["newsd", "healthcheck"] and "--live" not in hc_args
    assert yaml.safe_load(last["ENTRYPOINT"]) == ["newsd", "run", "-c", "/etc/newsd/newsd.yaml"]
    # the subcommands it names exist
    assert "healthcheck" in newsd("help").stdout
    # files it copies exist
    for op, a in ins:
        if op == "COPY" and not a.startswith("--from"):
            src = a.split()[0]
            assert src == "." or os.path.exists(os.path.join(SRC, src)), src
    assert os.path.exists(os.path.join(SRC, ".dockerignore"))


def deps_packages(kind):
    with open(os.path.join(SRC, "scripts/deps.sh")) as f:
        text = f.read()
    m = re.search(kind + r'_pkgs="([^"]*)"', text)
    return set(m.group(1).split())


def test_runtime_packages_cover_the_binary():
    """What `deps.sh runtime` installs holds every library newsd links against (readelf NEEDED)."""
    runtime = deps_packages("runtime")
    out = subprocess.run(["readelf", "-d", NEWSD_BIN], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    assert "librdkafka.so.1" in needed
    sanitizer = ("libasan", "libubsan", "libstdc++", "libgcc_s")
    for lib in needed:
        if lib.startswith(sanitizer):
            continue  # the ASan build's extra runtime, not in the image
        owner = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True).stdout
        pkgs = {line.split(":")[0] for line in owner.splitlines() if line}
        assert pkgs, f"no package owns {lib}"
        assert pkgs & (runtime | {"libc6"}), f"{lib} comes from {pkgs}, not in deps.sh runtime"


def test_install_tree_runs_the_shipped_config(tmp_path):
    """The image's install step, outside Docker: the binary and the data land where main.c and the
    example config look for them, and the installed binary accepts the shipped config."""
    build_dir = os.path.dirname(os.path.abspath(NEWSD_BIN))
    prefix = tmp_path / "usr"
    r = subprocess.run(["cmake", "--install", build_dir, "--prefix", str(prefix)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    binary = prefix / "bin" / "newsd"
    assert binary.exists()
    feeds_dir = prefix / "share" / "newsd" / "demo" / "feeds"
    conf = load(os.path.join(DEPLOY, "newsd.yaml"))
    text = open(os.path.join(DEPLOY, "newsd.yaml")).read()
    for feed in conf["feeds"]:
        path = feed["url"].replace("file://", "")
        assert path.startswith("/usr/share/newsd/demo/feeds/")
        assert (feeds_dir / os.path.basename(path)).exists(), path
    local = tmp_path / "newsd.yaml"
    local.write_text(text.replace("file:///usr/", f"file://{prefix}/"))
    r = subprocess.run([str(binary), "check-config", str(local)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_config_reports_errors_with_lines(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: 99999\nfeeds:\n  - id: a\n    url: ftp://x/\nbogus: 1\n")
    r = newsd("check-config", str(bad))
    assert r.returncode == 1
    assert f"{bad}:2: server.port: 99999 is out of range" in r.stdout
    assert f"{bad}:5: feeds: url:" in r.stdout
    assert f"{bad}:6: unknown key \"bogus\"" in r.stdout
    assert "3 errors" in r.stdout
    # the environment is checked too
    r = newsd("check-config", os.path.join(DEPLOY, "newsd.yaml"), env={"NEWSD_SERVER_PORT": "x"})
    assert r.returncode == 1 and "environment NEWSD_SERVER_PORT" in r.stdout


def test_deps_stops_when_apt_update_fails(tmp_path):
    """A failed `apt-get update` (no network, a bad source) stops deps.sh there with a message,
    instead of an "Unable to locate package" later. apt-get and dpkg-query are stand-ins that log
    their calls: the one for dpkg-query reports every package missing, apt-get update fails."""
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {
        "dpkg-query": "exit 1",
        "apt-get": 'case " $* " in *" update "*) echo "E: Failed to fetch http://deb.example/" >&2; '
                   "exit 100;; esac",
        "sudo": 'exec "$@"',
    }.items():
        (bin_dir / name).write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n{body}\n')
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    r = subprocess.run(["sh", os.path.join(SRC, "scripts/deps.sh"), "build"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "deps: apt-get update failed" in r.stderr and "nothing" in r.stderr
    log = calls.read_text()
    assert "apt-get update -qq --error-on=any" in log  # apt's own exit 0 on a fetch warning is not trusted
    assert "apt-get install" not in log


def test_make_demo_installs_only_the_build_packages():
    """`make demo` runs `deps.sh build` (compilers and -dev libraries); the test toolchain (cmocka,
    clang, valgrind, Java, Maven, pytest) comes with `make test` only."""
    def dry(target):
        r = subprocess.run(["make", "-n", "-C", SRC, target], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout
    demo, test = dry("demo"), dry("test")
    assert "scripts/deps.sh build" in demo and "deps.sh test" not in demo
    assert "--target newsd" in demo  # only the binary, not the tests and benchmarks
    assert "scripts/deps.sh test" in test
    build, tests = deps_packages("build"), deps_packages("test")
    assert not build & {"libcmocka-dev", "clang", "lld", "valgrind", "maven", "openjdk-17-jre-headless",
                        "python3-pytest", "kcat"}
    assert {"libcmocka-dev", "clang", "maven", "python3-pytest"} <= tests
