"""Shared fixtures of the integration tests: the real Kafka broker started by ctest's `kafka` fixture
(tests/kafka/broker.sh), loopback HTTP servers, the newsd daemon as a real process, and consumers.

Tests wait on conditions (records consumed, log lines seen), never on fixed sleeps."""
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

NEWSD_BIN = os.environ.get("NEWSD_BIN", os.path.join(os.path.dirname(__file__), "../../build/newsd"))
BROKER_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kafka", "broker.sh")
BROKER_DIR = os.environ.get("NEWSD_BROKER_DIR", "")
SANITIZED = os.environ.get("NEWSD_SANITIZED") == "1"
# Sanitized builds run slower; deadlines stretch, assertions do not.
SLOW = 3 if SANITIZED else 1


def wait_for(cond, timeout, what, interval=0.05):
    """Poll cond() until it returns a true value; fail naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout * SLOW:.0f}s waiting for {what}")


def free_port():
    """A loopback port free at the moment (for the daemon's server.port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def with_server(cfg, port):
    """base_config's text with the health/metrics server on 127.0.0.1:port."""
    assert "server:\n  port: 0" in cfg
    return cfg.replace("server:\n  port: 0", f"server:\n  bind: 127.0.0.1\n  port: {port}")


def http_get(port, path, timeout=10):
    """(status, body) of GET http://127.0.0.1:port/path; (None, reason) when nothing answered."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return None, str(e)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format 0.0.4: returns ({family: type}, [(name, labels, value)]), checking that
    every sample belongs to a family declared before it."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert name not in types, f"family {name} declared twice"
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"bad sample line: {line!r}"
        name, labels = m.group(1), dict(LABEL.findall(m.group(3) or ""))
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                family = name[: -len(suffix)]
        assert family in types, f"sample {name} before its # TYPE"
        samples.append((name, labels, float(m.group(4))))
    return types, samples


def value(samples, name, **labels):
    """The first of parse_metrics' samples named `name` with these labels, None when there is none."""
    for n, l, v in samples:
        if n == name and all(l.get(k) == want for k, want in labels.items()):
            return v
    return None


def scrape(port):
    """The daemon's /metrics samples, [] when it does not answer."""
    status, text = http_get(port, "/metrics", timeout=5)
    return parse_metrics(text)[1] if status == 200 else []


def metric(port, name, **labels):
    """One sample of a fresh scrape (None when absent or the daemon does not answer)."""
    return value(scrape(port), name, **labels)


def metric_sum(port, name):
    """The sum of every sample named `name` (all its labels) in a fresh scrape, None when absent."""
    found = [v for n, _, v in scrape(port) if n == name]
    return sum(found) if found else None


@pytest.fixture(scope="session")
def brokers():
    path = os.path.join(BROKER_DIR, "bootstrap")
    if not BROKER_DIR or not os.path.exists(path):
        pytest.fail("no Kafka broker: run through ctest (the kafka fixture starts one) or set NEWSD_BROKER_DIR")
    with open(path) as f:
        return f.read().strip()


def start_broker(bdir, env=None):
    """A broker of the test's own in bdir (tests/kafka/broker.sh), for a test that takes it away or
    freezes it without disturbing the tests beside it. Returns its bootstrap address."""
    subprocess.run([BROKER_SH, "start", str(bdir)], check=True, stdout=subprocess.DEVNULL, env=env)
    with open(os.path.join(bdir, "bootstrap")) as f:
        return f.read().strip()


def stop_broker(bdir):
    """Stop start_broker's broker, frozen or not."""
    subprocess.run([BROKER_SH, "thaw", str(bdir)], check=False, stderr=subprocess.DEVNULL)
    subprocess.run([BROKER_SH, "stop", str(bdir)], check=False, stdout=subprocess.DEVNULL)


def topic_names(prefix):
    """newsd's five topics, named under prefix."""
    return {k: f"{prefix}.{v}" for k, v in {
        "stories": "news.stories.v1", "events": "news.events.v1", "alerts": "news.alerts.v1",
        "deadletter": "news.deadletter.v1", "state": "newsd.state.v1"}.items()}


def load_config(brokers, topics, feeds, port=0, transaction_timeout_s=None, extra=""):
    """base_config for the load and outage tests: log_level info, the server on port (0: any),
    kafka.transaction_timeout_ms when given."""
    cfg = base_config(brokers, topics, feeds, extra).replace("log_level: debug", "log_level: info")
    cfg = cfg.replace("  port: 0", f"  port: {port}")
    if transaction_timeout_s:
        cfg = cfg.replace("kafka:\n", f"kafka:\n  transaction_timeout_ms: {transaction_timeout_s * 1000}\n", 1)
    return cfg


@pytest.fixture
def topics(brokers):
    """Fresh topic names per test so tests never see each other's records."""
    names = topic_names(f"t{uuid.uuid4().hex[:8]}")
    admin = AdminClient({"bootstrap.servers": brokers})
    new = [NewTopic(n, num_partitions=3, replication_factor=1,
                    config={"cleanup.policy": "compact"} if k == "state" else {})
           for k, n in names.items()]
    for fut in admin.create_topics(new).values():
        fut.result(30)
    return names


class FeedServer:
    """A loopback HTTP server whose documents the test changes while the daemon polls them.
    Records every request (path and headers) for assertions on conditional GET and politeness."""

    def __init__(self):
        self.docs = {}       # path -> (body bytes, headers dict, status)
        self.requests = []   # (path, headers dict)
        self.timed = []      # (monotonic time, path, headers dict)
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with server.lock:
                    server.requests.append((self.path, dict(self.headers)))
                    server.timed.append((time.monotonic(), self.path, dict(self.headers)))
                    doc = server.docs.get(self.path)
                if doc is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, headers, status = doc
                etag = headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path, body, headers=None, status=200):
        if isinstance(body, str):
            body = body.encode()
        with self.lock:
            self.docs[path] = (body, headers or {"Content-Type": "application/rss+xml"}, status)

    def requests_for(self, path):
        with self.lock:
            return [h for p, h in self.requests if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server():
    server = FeedServer()
    yield server
    server.close()


class Daemon:
    """newsd run -c CONFIG as a child process; stderr (JSON log lines) collected for assertions."""

    def __init__(self, config_text, tmp_path, env=None):
        self.config_path = tmp_path / "newsd.yaml"
        self.config_path.write_text(config_text)
        self.log_path = tmp_path / "newsd.log"
        self.log = open(self.log_path, "w")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([NEWSD_BIN, "run", "-c", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=e)

    def log_lines(self):
        with open(self.log_path) as f:
            out = []
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"raw": line})
            return out

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("newsd did not stop within the deadline")
        finally:
            self.log.close()
        return rc


@pytest.fixture
def run_daemon(tmp_path):
    started = []

    def start(config_text, env=None):
        # the first daemon of a test works in tmp_path; more (several instances) get folders of
        # their own, so their config files and logs stay apart
        where = tmp_path
        if started:
            where = tmp_path / f"d{len(started)}"
            where.mkdir(exist_ok=True)
        d = Daemon(config_text, where, env)
        started.append(d)
        return d

    yield start
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def base_config(brokers, topics, feeds, extra=""):
    lines = [
        "log_level: debug",
        "kafka:",
        f"  brokers: {brokers}",
        "  linger_ms: 5",
        # one transactional id per test (restarts within a test reuse it, as a real restart does)
        f"  transactional_id: newsd-{topics['stories'].split('.')[0]}",
        "  topics:",
    ] + [f"    {k}: {v}" for k, v in topics.items()] + [
        "fetch:",
        "  min_interval_s: 1",
        "server:",
        "  port: 0",
        "feeds:",
    ]
    for f in feeds:
        lines.append(f"  - id: {f['id']}")
        lines.append(f"    url: {f['url']}")
        lines.append(f"    interval_s: {f.get('interval_s', 1)}")
    return "\n".join(lines) + "\n" + extra


class TopicReader:
    """Reads a topic from the beginning with read_committed, accumulating records."""

    def __init__(self, brokers, topic, wait_topic=30):
        self.c = Consumer({"bootstrap.servers": brokers, "group.id": "test-" + uuid.uuid4().hex,
                           "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                           "enable.auto.commit": False})
        # a topic just created (its metadata may not have spread yet) or one the daemon creates on
        # its first write: wait until it has partitions, or a reader would silently read nothing
        deadline = time.monotonic() + wait_topic * SLOW
        while True:
            md = self.c.list_topics(topic, timeout=10)
            parts = md.topics[topic].partitions
            if parts or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        self.c.assign([TopicPartition(topic, p, 0) for p in parts])
        self.records = []

    def poll(self, seconds=0.5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            m = self.c.poll(0.1)
            if m is None:
                continue
            if m.error():
                continue
            self.records.append(m)
        return self.records

    def wait_count(self, n, timeout):
        wait_for(lambda: len(self.poll(0.2)) >= n, timeout, f"{n} records (have {len(self.records)})")
        return self.records

    def close(self):
        self.c.close()


@pytest.fixture
def reader(brokers):
    readers = []

    def make(topic):
        r = TopicReader(brokers, topic)
        readers.append(r)
        return r

    yield make
    for r in readers:
        r.close()


def rss(items, title="Test feed", ttl=None):
    """An RSS 2.0 document from item dicts (guid, title, link, description, pubDate, author)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
           f"<title>{title}</title><link>http://example.org/</link><description>t</description>"]
    if ttl:
        out.append(f"<ttl>{ttl}</ttl>")
    for it in items:
        out.append("<item>")
        for k in ("title", "link", "guid", "pubDate"):
            if k in it:
                out.append(f"<{k}>{it[k]}</{k}>")
        if "author" in it:
            out.append(f"<dc:creator>{it['author']}</dc:creator>")
        if "description" in it:
            out.append(f"<description><![CDATA[{it['description']}]]></description>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


# --- fetch tests: scripted HTTP servers and a config builder with every fetch knob ---------------

class ScriptServer:
    """A loopback HTTP/1.1 server (optionally TLS) whose paths run scripts: a route is a function
    route(handler) that writes the whole response through the BaseHTTPRequestHandler it gets
    (send_response, wfile, ...), so a test can answer slowly, endlessly, or not at all.
    Records (monotonic time, path, headers) of every request and the most requests it served at once."""

    def __init__(self, tls_context=None, host="127.0.0.1"):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (ConnectionError, OSError):
                    self.close_connection = True

            def do_GET(self):
                with server.lock:
                    server.requests.append((time.monotonic(), self.path, dict(self.headers)))
                    route = server.routes.get(self.path)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    if route is None:
                        self.send_response(404)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        route(self)
                finally:
                    with server.lock:
                        server.active -= 1

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls_context is not None else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, host="127.0.0.1"):
        return f"{self.scheme}://{host}:{self.port}{path}"

    def route(self, path, fn):
        with self.lock:
            self.routes[path] = fn

    def static(self, path, body, headers=None, status=200):
        """A fixed response; honours If-None-Match against an ETag in headers."""
        if isinstance(body, str):
            body = body.encode()
        headers = {"Content-Type": "application/rss+xml"} if headers is None else headers

        def fn(h):
            etag = headers.get("ETag")
            if etag and h.headers.get("If-None-Match") == etag:
                h.send_response(304)
                h.send_header("ETag", etag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        self.route(path, fn)

    def log(self, path):
        """[(monotonic time, headers)] of the requests for path."""
        with self.lock:
            return [(t, hd) for t, p, hd in self.requests if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def script_server():
    servers = []

    def make(**kw):
        s = ScriptServer(**kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def fetch_config(brokers, topics, feeds, fetch=None, extra=""):
    """Like base_config, with fetch.* keys (dict) and per-feed keys: interval_s, fulltext, headers."""
    f = {"min_interval_s": 1}
    f.update(fetch or {})
    lines = ["log_level: debug", "kafka:", f"  brokers: {brokers}", "  linger_ms: 5",
             f"  transactional_id: newsd-{topics['stories'].split('.')[0]}", "  topics:"]
    lines += [f"    {k}: {v}" for k, v in topics.items()]
    lines += ["fetch:"] + [f"  {k}: {json.dumps(v)}" for k, v in f.items()]
    lines += ["server:", "  port: 0", "feeds:"]
    for feed in feeds:
        lines.append(f"  - id: {feed['id']}")
        lines.append(f"    url: {json.dumps(feed['url'])}")
        lines.append(f"    interval_s: {feed.get('interval_s', 1)}")
        if feed.get("fulltext"):
            lines.append("    fulltext: true")
        if feed.get("headers"):
            lines.append("    headers:")
            lines += [f"      {k}: {json.dumps(v)}" for k, v in feed["headers"].items()]
    return "\n".join(lines) + "\n" + extra


def feed_errors(daemon, feed, reason=None):
    """Log lines reporting a reason for a feed (the fetch module's per-feed error lines)."""
    return [l for l in daemon.log_lines()
            if l.get("module") == "fetch" and l.get("feed") == feed and "reason" in l
            and (reason is None or l["reason"] == reason)]


def rss_bytes(n, prefix="g", title="Item"):
    return rss([{"guid": f"{prefix}{i}", "title": f"{title} {i}", "link": f"http://example.org/{prefix}{i}",
                 "description": f"BERLIN (Wire) - {title} number {i} happened today."} for i in range(n)]).encode()

