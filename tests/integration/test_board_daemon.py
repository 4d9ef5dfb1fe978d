"""The board of `newsd run` against the real broker, without a browser: what it serves and to whom
(board.token, board.password, the security headers), the Server-Sent Events it writes (recent
alerts, replay from Kafka after Last-Event-ID across partitions, the desk filter, live alerts), and
its limits (board.max_clients, a slow reader dropped past board.client_queue). Alerts are produced
straight into the alerts topic, as the alert stage would; tests wait on conditions, never sleeps."""
import base64
import json
import socket

import pytest
from confluent_kafka import Producer

from conftest import SLOW, base_config, free_port, http_get, metric, wait_for

TOKEN = "s3cret-token"
PASSWORD = "pa55word"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def request(port, path, headers=None, method="GET"):
    """One HTTP/1.0 request: (status, headers dict, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"{method} {path} HTTP/1.0", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *hdrs = head.decode("latin-1").split("\r\n")
    return int(status_line.split()[1]), {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in hdrs}, body


class Stream:
    """A reader of /board/events on a raw socket (HTTP/1.0: no chunking), parsing SSE events."""

    def __init__(self, port, query="", headers=None, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10 * SLOW)
        self.s.connect(("127.0.0.1", port))
        h = dict(BEARER, **(headers or {}))
        lines = [f"GET /board/events{query} HTTP/1.0", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in h.items()]
        self.s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.events = []
        self.closed = False
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split()[1])

    def _until(self, sep):
        while sep not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                self.closed = True
                raise EOFError
            self.buf += chunk
        out, _, self.buf = self.buf.partition(sep)
        return out

    def next(self):
        """The next event (comments skipped) as a dict: id, event, data (parsed JSON)."""
        while True:
            block = self._until(b"\n\n").decode()
            ev = {}
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                k, _, v = line.partition(": ")
                ev[k] = v
            if "event" in ev:
                ev["data"] = json.loads(ev["data"])
                self.events.append(ev)
                return ev

    def until(self, kind):
        while True:
            ev = self.next()
            if ev["event"] == kind:
                return ev

    def close(self):
        self.s.close()


def alert_doc(i, desk, pad=0):
    return {"id": f"alert-{i:016x}", "desk": desk, "desk_title": desk.title(), "priority": "URGENT",
            "kind": "new_development", "time": "2026-12-04T00:00:00Z", "time_ms": 1796342400000 + i,
            "why": f"{desk.title()}: new development — test {i}.", "headline": f"headline {i}" + "x" * pad,
            "story_id": f"{i:016x}", "story_version": 1, "story_ids": [f"{i:016x}"],
            "fingerprint": f"{i:016x}", "development": {"id": f"dev-{i:016x}"},
            "events": [], "entities": [], "matched": {}}


@pytest.fixture
def board(brokers, topics, run_daemon, tmp_path):
    feed = tmp_path / "empty.xml"
    feed.write_text("<rss version='2.0'><channel><title>t</title></channel></rss>")
    port = free_port()
    cfg = base_config(brokers, topics, [{"id": "empty", "url": f"file://{feed}", "interval_s": 60}])
    cfg = cfg.replace("server:\n  port: 0", f"server:\n  bind: 127.0.0.1\n  port: {port}")
    cfg += (f"board:\n  token: {TOKEN}\n  password: {PASSWORD}\n  max_clients: 3\n"
            "  client_queue: 16\n  recent_per_desk: 50\n")
    d = run_daemon(cfg)
    wait_for(lambda: http_get(port, "/readyz")[0] == 200, 60, "the daemon ready")
    producer = Producer({"bootstrap.servers": brokers})
    n = [0]

    def produce(count, desk="asia", pad=0):
        ids = []
        for _ in range(count):
            i = n[0]
            n[0] += 1
            producer.produce(topics["alerts"], key=desk, value=json.dumps(alert_doc(i, desk, pad)),
                             partition=i % 3)
            ids.append(f"alert-{i:016x}")
        producer.flush(30)
        return ids

    b = type("B", (), {})()
    b.port, b.produce, b.daemon = port, produce, d
    yield b


def test_board_guarded_and_read_only(board):
    p = board.port
    status, headers, _ = request(p, "/board")
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert request(p, "/board", {"Authorization": "Bearer wrong"})[0] == 401
    status, headers, body = request(p, "/board", BEARER)
    assert status == 200 and b"<title>newsd" in body
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    basic = base64.b64encode(f"editor:{PASSWORD}".encode()).decode()
    assert request(p, "/board/board.js", {"Authorization": f"Basic {basic}"})[0] == 200
    wrong = base64.b64encode(b"editor:nope").decode()
    assert request(p, "/board/board.js", {"Authorization": f"Basic {wrong}"})[0] == 401
    # ?token= once: a cookie, and the token leaves the address
    status, headers, _ = request(p, f"/board?token={TOKEN}")
    assert status == 303 and headers["location"] == "/board"
    cookie = headers["set-cookie"].split(";")[0]
    assert "HttpOnly" in headers["set-cookie"]
    assert request(p, "/board", {"Cookie": cookie})[0] == 200
    assert request(p, "/board/events", BEARER, method="POST")[0] == 405
    assert request(p, "/board/story/../../etc/passwd", BEARER)[0] == 404
    assert request(p, "/board/story/0123456789abcdef", BEARER)[0] == 404


def test_board_recent_replay_and_live(board):
    p = board.port
    first = board.produce(6, "asia") + board.produce(3, "europe")
    # a new page: the recent alerts (every desk), then its position
    wait_for(lambda: metric(p, "newsd_board_clients") is not None, 30, "the board in /metrics")
    s = Stream(p)
    assert s.status == 200
    assert s.next()["event"] == "hello"

    def recent_ids():
        nonlocal s
        s.close()
        s = Stream(p)
        got = []
        while True:
            ev = s.next()
            if ev["event"] == "ready":
                return got, ev
            if ev["event"] == "alert":
                got.append(ev["data"]["alert"]["id"])
    got, ready = wait_for(lambda: (lambda r: r if set(first) <= set(r[0]) else None)(recent_ids()), 30,
                          "the recent alerts", interval=0.5)
    assert sorted(got) == sorted(first) and ready["id"].count(":") == 3
    last = ready["id"]
    s.close()
    # cut off: five more alerts, over three partitions; reconnecting with Last-Event-ID replays them
    missed = board.produce(5, "asia")
    assert (metric(p, "newsd_board_events_total", kind="recent") or 0) >= len(first)

    # until the board's consumer has read them, a reconnect replays less: ask again
    def replayed():
        r = Stream(p, headers={"Last-Event-ID": last})
        hello = r.next()
        assert hello["data"]["mode"] == "replay"
        out = []
        while True:
            ev = r.next()
            if ev["event"] == "ready":
                r.close()
                return out if set(missed) <= set(out) else None
            out.append(ev["data"]["alert"]["id"])
            assert ev["id"].count(":") >= 1
    got = wait_for(replayed, 30, "the missed alerts replayed", interval=0.5)
    assert sorted(got) == sorted(missed), "a replay holds what was missed, each once, and no more"
    assert (metric(p, "newsd_board_events_total", kind="replayed") or 0) >= 5
    # one desk's stream replays and streams that desk only, live with ids
    r = Stream(p, "?desk=europe", headers={"Last-Event-ID": last})
    assert r.until("ready")
    assert all(e["data"]["alert"]["desk"] == "europe" for e in r.events if e["event"] == "alert")
    live = board.produce(1, "asia") + board.produce(1, "europe")
    ev = r.until("alert")
    assert ev["data"]["alert"]["id"] == live[1] and ev["id"]
    assert (metric(p, "newsd_board_events_total", kind="live") or 0) >= 1
    r.close()


def test_board_limits(board):
    p = board.port
    board.produce(1, "asia")
    streams = [Stream(p) for _ in range(3)]
    for st in streams:
        st.until("ready")
    status, headers, _ = request(p, "/board/events", BEARER)
    assert status == 503 and headers.get("retry-after")
    assert metric(p, "newsd_board_disconnects_total", reason="refused") >= 1
    for st in streams:
        st.close()
    wait_for(lambda: metric(p, "newsd_board_clients") == 0, 30, "the streams closed")
    # a page that does not read: past board.client_queue (16) waiting events it is disconnected
    slow = Stream(p, rcvbuf=4096)
    slow.until("ready")
    # the kernel buffers what the page does not read (how much varies): alerts come until they are full
    wait_for(lambda: board.produce(50, "asia", pad=8000) and
             metric(p, "newsd_board_disconnects_total", reason="slow") >= 1, 60, "the slow page dropped",
             interval=0.2)
    with pytest.raises(EOFError):
        while True:
            slow.next()
    slow.close()
    wait_for(lambda: metric(p, "newsd_board_clients") == 0, 30, "no stream left")
