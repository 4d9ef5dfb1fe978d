"""The installed layout, not the build tree. What scripts/build-release.sh installed (ctest's
release.build, into a temporary DESTDIR) is copied to a fresh folder outside the source tree, made
read-only, and run from there with its working folder elsewhere and no NEWSD_* variable, as uid
10001 where the test runs as root (the image's user): `newsd version`, `newsd enrich` on a story with
the models found under the install prefix, and `newsd demo --seconds 5` showing stories. Nothing in
the installed binary may name the source or build folder."""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

ROOT = os.environ["NEWSD_INSTALL_ROOT"]  # the DESTDIR release.build installed into
SRC = os.path.realpath(os.environ["NEWSD_SOURCE_DIR"])
BUILD = os.path.realpath(os.environ["NEWSD_RELEASE_BUILD"])
IMAGE_UID = 10001


@pytest.fixture(scope="module")
def tree():
    """A copy of DESTDIR/usr in a new folder under /tmp, every file and folder read-only."""
    top = tempfile.mkdtemp(prefix="newsd-installed-")
    usr = os.path.join(top, "usr")
    shutil.copytree(os.path.join(ROOT, "usr"), usr, symlinks=True)
    with open(os.path.join(SRC, "tests/fixtures/enrich/wire-lavrov-fidan.txt")) as f:
        story = f.read()
    stories = os.path.join(top, "stories")
    os.mkdir(stories)
    with open(os.path.join(stories, "wire.txt"), "w") as f:
        f.write(story)
    open(os.path.join(stories, "empty.txt"), "w").close()
    for d, dirs, files in os.walk(top, topdown=False):
        for name in files:
            p = os.path.join(d, name)
            if not os.path.islink(p):
                x = os.stat(p).st_mode & stat.S_IXUSR
                os.chmod(p, 0o555 if x else 0o444)
        os.chmod(d, 0o555)
    yield top
    for d, dirs, files in os.walk(top):
        os.chmod(d, 0o755)
    shutil.rmtree(top)


def run(tree, *args, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSD_")}
    as_image_user = None
    if os.geteuid() == 0:
        def as_image_user():
            os.setgroups([])
            os.setgid(IMAGE_UID)
            os.setuid(IMAGE_UID)
    return subprocess.run([os.path.join(tree, "usr/bin/newsd"), *args], cwd="/", env=env,
                          preexec_fn=as_image_user, capture_output=True, text=True, timeout=timeout)


def test_the_layout_is_what_the_image_copies(tree):
    share = os.path.join(tree, "usr/share/newsd")
    for name in ("models/kb.tsv", "models/ner.bin", "models/events.model", "models/topics.model",
                 "models/syntax.bin",
                 "desks.yaml", "demo/feeds"):
        assert os.path.exists(os.path.join(share, name)), name


def test_no_path_back_to_the_source_tree(tree):
    """The binary holds no path of the source or build folder (the `strings` of it), and it is
    stripped: models are found beside the executable, not through a compiled-in source path."""
    with open(os.path.join(tree, "usr/bin/newsd"), "rb") as f:
        blob = f.read()
    texts = [m.decode() for m in re.findall(rb"[\x20-\x7e]{4,}", blob)]
    for folder in {SRC, os.environ["NEWSD_SOURCE_DIR"].rstrip("/"), BUILD}:
        hits = [t for t in texts if t == folder or folder + "/" in t]
        assert not hits, f"the installed binary names {folder}: {hits[:3]}"
    assert "NEWSD_SOURCE_DIR" not in blob.decode("latin-1")
    assert b".symtab" not in blob, "not stripped (cmake --install --strip)"


def test_version(tree):
    r = run(tree, "version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"newsd \d+\.\d+\.\d+ \(allocator \w+\)\n", r.stdout), r.stdout


def test_enrich_a_story_with_the_installed_models(tree):
    r = run(tree, "enrich", os.path.join(tree, "stories/wire.txt"))
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()
    story = json.loads(line)
    people = {e["name"] for e in story["entities"] if e["type"] == "PERSON"}
    assert {"Sergei Lavrov", "Hakan Fidan"} <= people  # ner.bin and kb.tsv
    assert any(e["type"] == "GPE" and e.get("ids", {}).get("iso3166") == "RUS" for e in story["entities"])
    consult = [ev for ev in story["events"] if ev["type"] == "CONSULT"]  # events.model
    assert consult and consult[0]["source"][0]["code"] == "RUS" and consult[0]["target"][0]["code"] == "TUR"
    assert story["subject"], "no topics (topics.model)"


def test_enrich_an_empty_file_is_no_story(tree):
    path = os.path.join(tree, "stories/empty.txt")
    r = run(tree, "enrich", path)
    assert r.returncode == 0
    assert r.stdout == ""
    assert r.stderr == f"newsd enrich: {path}: empty, no story in it\n"


def test_missing_models_are_named(tree, tmp_path):
    """Without the share folder beside it, the binary says where it looked (no source fallback)."""
    lone = tmp_path / "bin"
    lone.mkdir()
    shutil.copy(os.path.join(tree, "usr/bin/newsd"), lone / "newsd")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSD_")}
    r = subprocess.run([str(lone / "newsd"), "enrich", os.path.join(tree, "stories/wire.txt")],
                       cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    assert f"{tmp_path}/share/newsd/models/kb.tsv" in r.stderr, r.stderr


def test_demo_shows_stories(tree):
    r = run(tree, "demo", "--seconds", "5", timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    shown = re.search(r"stopped after showing (\d+) stories", r.stdout)
    assert shown and int(shown.group(1)) >= 1, r.stdout[-2000:]
    assert r.stdout.count("── ") == int(shown.group(1))
    assert "entities:" in r.stdout
