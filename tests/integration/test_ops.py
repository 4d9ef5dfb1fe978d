"""Operations with the real broker: /healthz, /readyz (503 until Kafka is reachable, then 200),
/metrics after feeds were polled, and SIGHUP reload (new feed in, old feed out, broken file rejected
with file:line errors while the running config stays). Tests wait on conditions, never on sleeps."""
import json
import os
import re
import signal
import socket
import subprocess
import threading

from conftest import NEWSD_BIN, base_config, free_port, http_get, parse_metrics, rss, value, wait_for, with_server


class Gate:
    """A TCP port that refuses connections until opened, then forwards to the real broker: Kafka is
    'unreachable' at first, then reachable (the broker's metadata points clients at it directly)."""

    def __init__(self, target):
        host, port = target.split(",")[0].rsplit(":", 1)
        self.target = (host, int(port))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        self.port = self.sock.getsockname()[1]
        self.closed = False

    def open(self):
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.sock.close()


def healthcheck(port, *args):
    """`newsd healthcheck` as Docker runs it, the port from the environment."""
    env = dict(os.environ, NEWSD_SERVER_PORT=str(port))
    return subprocess.run([NEWSD_BIN, "healthcheck", *args], env=env, capture_output=True, text=True,
                          timeout=30)


def guids(records):
    return [json.loads(m.value())["provenance"]["guid"] for m in records]


def test_health_readiness_metrics(brokers, topics, feed_server, run_daemon, reader):
    feed_server.set("/wire.xml", rss([
        {"guid": "w-1", "title": "Ministers meet", "description": "GENEVA - Ministers met."},
        {"guid": "w-2", "title": "Talks", "description": "Officials held talks."}]),
        {"Content-Type": "application/rss+xml", "ETag": '"w1"'})
    gate = Gate(brokers)
    port = free_port()
    cfg = with_server(base_config(f"127.0.0.1:{gate.port}", topics, [
        {"id": "wire", "url": feed_server.url("/wire.xml")},
        {"id": "down", "url": "http://127.0.0.1:9/feed.xml"},
    ]), port)
    daemon = run_daemon(cfg)
    try:
        wait_for(lambda: http_get(port, "/healthz")[0] == 200, 30, "/healthz 200")
        status, body = http_get(port, "/readyz")
        assert status == 503 and "kafka: failing" in body, (status, body)
        assert http_get(port, "/nope")[0] == 404
        # the image's HEALTHCHECK: unhealthy while not ready, and says why; --live is only liveness
        r = healthcheck(port)
        assert r.returncode == 1 and "HTTP status 503: kafka: failing" in r.stderr, r.stderr
        assert healthcheck(port, "--live").returncode == 0

        gate.open()
        wait_for(lambda: http_get(port, "/readyz")[0] == 200, 90, "/readyz 200 once Kafka is reachable")
        assert http_get(port, "/readyz")[1] == "kafka: ok\nstate: ok\nstages: ok\n"
        r = healthcheck(port)
        assert r.returncode == 0, r.stderr

        r = reader(topics["stories"])
        assert sorted(guids(r.wait_count(2, 60))) == ["w-1", "w-2"]

        def scraped():
            status, text = http_get(port, "/metrics")
            assert status == 200, text
            types, samples = parse_metrics(text)
            ok = (value(samples, "newsd_feed_not_modified_total", feed="wire") or 0) >= 1 and \
                (value(samples, "newsd_feed_errors_total", feed="down", reason="connect") or 0) >= 1 and \
                (value(samples, "newsd_kafka_delivered_total") or 0) >= 2
            return (types, samples) if ok else None
        types, samples = wait_for(scraped, 60, "metrics of a 304 poll, a connect error and deliveries")

        for family, typ in {
                "newsd_feed_polls_total": "counter", "newsd_feed_not_modified_total": "counter",
                "newsd_feed_errors_total": "counter", "newsd_feed_items_total": "counter",
                "newsd_queue_depth": "gauge", "newsd_enrich_duration_seconds": "histogram",
                "newsd_kafka_records_total": "counter", "newsd_kafka_delivered_total": "counter",
                "newsd_kafka_delivery_errors_total": "counter", "newsd_kafka_transactions_total": "counter",
                "newsd_alerts_total": "counter", "process_resident_memory_bytes": "gauge",
                "newsd_uptime_seconds": "gauge", "newsd_ready": "gauge",
                "newsd_config_reloads_total": "counter"}.items():
            assert types.get(family) == typ, f"{family}: {types.get(family)}"
        assert value(samples, "newsd_feed_polls_total", feed="wire") >= 2
        assert value(samples, "newsd_feed_items_total", feed="wire") == 2
        assert value(samples, "newsd_feed_items_total", feed="down") == 0
        assert value(samples, "newsd_feed_last_status", feed="wire") in (200, 304)
        assert value(samples, "newsd_feeds") == 2
        assert value(samples, "newsd_kafka_records_total", kind="story") >= 2
        assert value(samples, "newsd_kafka_transactions_total", result="committed") >= 1
        assert value(samples, "newsd_enrich_duration_seconds_count") >= 2
        assert value(samples, "newsd_enrich_duration_seconds_bucket", le="+Inf") == \
            value(samples, "newsd_enrich_duration_seconds_count")
        assert value(samples, "newsd_queue_depth", queue="enrich") is not None
        assert value(samples, "newsd_queue_depth", queue="publish") is not None
        assert value(samples, "process_resident_memory_bytes") > 1e6
        assert value(samples, "newsd_uptime_seconds") > 0
        assert value(samples, "newsd_ready", check="kafka") == 1
        assert not [s for s in samples if s[0] == "newsd_alerts_total"], "no desks yet: no samples"
        assert daemon.stop() == 0
    finally:
        gate.close()


def feed_cfg(brokers, topics, port, feeds):
    return with_server(base_config(brokers, topics, feeds), port)


def test_sighup_reload(brokers, topics, feed_server, run_daemon, reader):
    feed_server.set("/old.xml", rss([{"guid": "o-1", "title": "Old one", "description": "Old."}]))
    feed_server.set("/new.xml", rss([{"guid": "n-1", "title": "New one", "description": "New."}]))
    port = free_port()
    old = {"id": "old", "url": feed_server.url("/old.xml")}
    new = {"id": "new", "url": feed_server.url("/new.xml")}
    daemon = run_daemon(feed_cfg(brokers, topics, port, [old]))
    r = reader(topics["stories"])
    assert guids(r.wait_count(1, 60)) == ["o-1"]

    def log_with(text):
        return [l for l in daemon.log_lines() if text in l.get("msg", "")]

    # new feed in, old feed out
    daemon.config_path.write_text(feed_cfg(brokers, topics, port, [new]))
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: log_with("reload applied: 1 feeds"), 30, "the reload to be applied")
    old_requests = len(feed_server.requests_for("/old.xml"))
    wait_for(lambda: "n-1" in guids(r.poll(0.2)), 60, "the new feed's story")
    feed_server.set("/old.xml", rss([{"guid": "o-2", "title": "Old two", "description": "Old 2."},
                                     {"guid": "o-1", "title": "Old one", "description": "Old."}]))
    feed_server.set("/new.xml", rss([{"guid": "n-2", "title": "New two", "description": "New 2."},
                                     {"guid": "n-1", "title": "New one", "description": "New."}]))
    wait_for(lambda: "n-2" in guids(r.poll(0.2)), 60, "the new feed's second story")
    # a request to the old feed in flight at the reload may still have reached the server
    assert len(feed_server.requests_for("/old.xml")) <= old_requests + 1
    assert "o-2" not in guids(r.records)

    # a broken file is rejected with file:line errors and the running feeds go on
    path = str(daemon.config_path)
    daemon.config_path.write_text(feed_cfg(brokers, topics, port, [new]) +
                                  "  - id: x\n    url: ftp://example.org/\n" + "bogus: 1\n")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: log_with("reload rejected"), 30, "the broken reload to be rejected")
    errors = [l["msg"] for l in daemon.log_lines() if l.get("module") == "config" and l.get("level") == "error"]
    assert any(re.match(re.escape(path) + r":\d+: ", m) for m in errors), errors
    assert any("unknown key \"bogus\"" in m for m in errors), errors
    assert any("scheme must be one of" in m for m in errors), errors
    feed_server.set("/new.xml", rss([{"guid": "n-3", "title": "New three", "description": "New 3."},
                                     {"guid": "n-2", "title": "New two", "description": "New 2."},
                                     {"guid": "n-1", "title": "New one", "description": "New."}]))
    wait_for(lambda: "n-3" in guids(r.poll(0.2)), 60, "a story of the kept config after the rejected reload")

    status, text = http_get(port, "/metrics")
    _, samples = parse_metrics(text)
    assert value(samples, "newsd_config_reloads_total", result="applied") == 1
    assert value(samples, "newsd_config_reloads_total", result="rejected") == 1
    assert value(samples, "newsd_feeds") == 1
    assert value(samples, "newsd_feed_polls_total", feed="old") is None

    assert daemon.stop() == 0
    r.poll(1)
    got = guids(r.records)
    assert sorted(got) == ["n-1", "n-2", "n-3", "o-1"], got  # each exactly once


def test_reload_on_file_change(brokers, topics, feed_server, run_daemon, reader):
    """reload.watch_file: an atomic replace (editors, ConfigMap updates) and an in-place write both
    reload, without SIGHUP."""
    feed_server.set("/a.xml", rss([{"guid": "a-1", "title": "A one", "description": "A."}]))
    feed_server.set("/b.xml", rss([{"guid": "b-1", "title": "B one", "description": "B."}]))
    port = free_port()
    watch = "reload:\n  watch_file: true\n"
    a = {"id": "a", "url": feed_server.url("/a.xml")}
    b = {"id": "b", "url": feed_server.url("/b.xml")}
    daemon = run_daemon(with_server(base_config(brokers, topics, [a], watch), port))
    r = reader(topics["stories"])
    assert guids(r.wait_count(1, 60)) == ["a-1"]

    def logs(text):
        return len([l for l in daemon.log_lines() if text in l.get("msg", "")])

    tmp = str(daemon.config_path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(with_server(base_config(brokers, topics, [a, b], watch), port))
    os.replace(tmp, daemon.config_path)
    wait_for(lambda: logs("reload applied: 2 feeds"), 30, "a reload after the file was replaced")
    wait_for(lambda: "b-1" in guids(r.poll(0.2)), 60, "the added feed's story")

    daemon.config_path.write_text("feeds: [{id: a, url: ftp://x/}]\n")
    wait_for(lambda: logs("reload rejected"), 30, "a rejected reload after an in-place write")
    _, text = http_get(port, "/metrics")
    _, samples = parse_metrics(text)
    assert value(samples, "newsd_feeds") == 2
    assert value(samples, "newsd_config_reloads_total", result="applied") == 1
    assert value(samples, "newsd_config_reloads_total", result="rejected") == 1
    assert daemon.stop() == 0
