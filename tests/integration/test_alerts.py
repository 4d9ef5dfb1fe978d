"""Desk alerts end to end with the real broker.

A loopback feed server publishes one development (US-China talks) through three feeds: the
original, a copy, and a rewrite; then an escalation (an accusation by a head of state); then an
unrelated story (Germany-France). Each desk must get exactly the alerts it should, on Kafka and on
its webhook, and the webhook must get them after being down (HTTP 503, then connection refused
across a daemon restart). After the restart the developments are restored: copies and follow-ups
of a known development stay silent.

The stories are ninjs items that already carry entities, events and subject (the ninjs parser keeps
them), so this test does not depend on the enrich models; with the enrich stage merged, enrichment
of these texts must leave those annotations as they are or produce equivalent ones."""
import http.server
import json
import os
import subprocess
import threading
import uuid

import jsonschema

from conftest import NEWSD_BIN, base_config, wait_for

HERE = os.path.dirname(__file__)
SOURCE = os.environ.get("NEWSD_SOURCE_DIR", os.path.join(HERE, "../.."))
FIXTURES = os.path.join(SOURCE, "tests/fixtures/alerts")


def fixture(name, guid=None, **changes):
    with open(os.path.join(FIXTURES, name + ".json")) as f:
        doc = json.load(f)
    item = {"uri": guid or name, "headline": doc["headline"], "body_text": doc["body_text"],
            "versioncreated": "2026-11-28T09:00:00Z"}
    for k in ("entities", "events", "subject"):
        item[k] = doc[k]
    item.update(changes)
    return item


def ninjs(items):
    return json.dumps({"items": items})


class Hook:
    """A loopback webhook receiver: up (200), down (503) or closed (connection refused); in mode
    "picky" it answers 422 to every POST of the first alert id it sees and 200 to the others."""

    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.posts = []      # (path, body) accepted
        self.refused = {}    # path -> 503 answers given
        self.unwanted = None  # picky: the alert id answered 422
        self.rejections = 0
        self.mode = "up"
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                alert_id = self.headers.get("X-Newsd-Alert-Id")
                with hook.lock:
                    down = hook.mode == "down"
                    if hook.mode == "picky" and hook.unwanted in (None, alert_id):
                        hook.unwanted = alert_id
                        hook.rejections += 1
                        status = 422
                    elif down:
                        hook.refused[self.path] = hook.refused.get(self.path, 0) + 1
                        status = 503
                    else:
                        hook.posts.append((self.path, json.loads(body), dict(self.headers)))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def alert_ids(self, path):
        """Ids of the alerts delivered to path, alone or inside digests, in order."""
        out = []
        with self.lock:
            for p, body, _ in self.posts:
                if p != path:
                    continue
                if body.get("type") == "digest":
                    out += [a["id"] for a in body["alerts"]]
                else:
                    out.append(body["id"])
        return out

    def texts(self, path):
        with self.lock:
            return [body["text"] for p, body, _ in self.posts if p == path]


def desks_yaml(hook_url, group):
    return f"""desks:
  - name: asia-pacific
    title: Asia-Pacific
    match:
      any:
        - countries: [CHN, JPN, KOR, TWN]
    webhooks:
      - url: {hook_url}/asia
        rate_per_min: 600
        burst: 50
  - name: europe
    title: Europe
    match:
      any:
        - countries: [DEU, FRA, GBR]
    webhooks:
      - url: {hook_url}/europe
        format: slack
  - name: us-china
    title: US-China
    match:
      all:
        - countries_all: [USA, CHN]
  - name: conflict
    title: Conflict
    match:
      any:
        - events: [ACCUSE, THREATEN]
          min_intensity: 4
alerts:
  webhook_group: {group}
  webhook_retry_max_s: 2
"""


def by_desk(records):
    out = {}
    for m in records:
        doc = json.loads(m.value())
        assert m.key().decode() == doc["desk"], "alerts are keyed by desk"
        out.setdefault(doc["desk"], []).append(doc)
    return out


def validator():
    with open(os.path.join(SOURCE, "schemas/alert.v1.json")) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def test_desks_get_each_development_once(brokers, topics, feed_server, run_daemon, reader):
    hook = Hook()
    port = hook.port
    for path in ("/a.json", "/b.json", "/c.json", "/d.json"):
        feed_server.set(path, ninjs([]), {"Content-Type": "application/json"})
    feeds = [{"id": f"wire-{x}", "url": feed_server.url(f"/{x}.json")} for x in "abcd"]
    cfg = base_config(brokers, topics, feeds,
                      desks_yaml(hook.url(), "hooks-" + uuid.uuid4().hex[:8]))
    hook.set_mode("down")
    daemon = run_daemon(cfg)
    stories = reader(topics["stories"])
    alerts = reader(topics["alerts"])

    def story_count(n):
        stories.wait_count(n, 60)
        return [json.loads(m.value()) for m in stories.records]

    # one development from three feeds, in a known order: original, copy, rewrite
    a = fixture("talks-a", "a-1")
    feed_server.set("/a.json", ninjs([a]), {"Content-Type": "application/json"})
    story_count(1)
    feed_server.set("/b.json", ninjs([fixture("talks-b-copy", "b-1")]),
                    {"Content-Type": "application/json"})
    docs = story_count(2)
    copy = next(d for d in docs if d["provenance"]["feed"] == "wire-b")
    original = next(d for d in docs if d["provenance"]["feed"] == "wire-a")
    assert copy["dedup"]["duplicate_of"] == original["id"]
    assert copy["dedup"]["development_id"] == original["dedup"]["development_id"]
    assert original["dedup"]["is_new_development"] is True
    feed_server.set("/c.json", ninjs([fixture("talks-c-rewrite", "c-1")]),
                    {"Content-Type": "application/json"})
    story_count(3)
    # the escalation, then an unrelated story
    feed_server.set("/a.json", ninjs([a, fixture("escalation", "a-2")]),
                    {"Content-Type": "application/json"})
    story_count(4)
    feed_server.set("/b.json", ninjs([fixture("talks-b-copy", "b-1"), fixture("unrelated", "b-2")]),
                    {"Content-Type": "application/json"})
    docs = story_count(5)
    dev = original["dedup"]["development_id"]
    assert sum(1 for d in docs if d["dedup"]["development_id"] == dev) == 4

    # exactly these alerts, committed with their stories
    got = by_desk(alerts.wait_count(8, 30))
    alerts.poll(1)
    got = by_desk(alerts.records)
    kinds = {desk: [a["kind"] for a in sorted(lst, key=lambda a: a["time_ms"])] for desk, lst in got.items()}
    assert kinds == {
        "asia-pacific": ["new_development", "escalation", "escalation"],
        "us-china": ["new_development", "escalation", "escalation"],
        "conflict": ["new_development"],
        "europe": ["new_development"],
    }, kinds
    v = validator()
    story_ids = {d["id"] for d in docs}
    for m in alerts.records:
        doc = json.loads(m.value())
        v.validate(doc)
        h = {k: val.decode() for k, val in (m.headers() or [])}
        assert h["ce_type"] == "io.newsd.alert.v1" and h["ce_id"] == doc["id"]
        assert doc["story_id"] in story_ids
        assert doc["why"].startswith(doc["desk_title"] + ": ")
    asia = sorted(got["asia-pacific"], key=lambda a: a["time_ms"])
    assert "United States consulted with China (CONSULT, CAMEO 040): \"Secretary of State" in asia[0]["why"]
    assert "corroborated by 3 sources" in asia[1]["why"]
    assert "China accused United States (ACCUSE, CAMEO 112)" in asia[2]["why"]
    assert "heads of state now involved" in asia[2]["why"]
    assert all(a["development"]["id"] == dev for a in asia)
    assert got["europe"][0]["development"]["id"] != dev

    # the terminal view: priority, time, headline, why
    out = subprocess.run([NEWSD_BIN, "alerts", "--desk", "asia-pacific", "--brokers", brokers,
                          "--topic", topics["alerts"], "--from-beginning", "--count", "3"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("URGENT ") and "US and China hold talks in Beijing" in lines[0]
    assert lines[1].strip() == asia[0]["why"]
    assert lines[5].strip() == asia[2]["why"]

    # the webhook was down (503) the whole time; it comes back and gets every alert
    wait_for(lambda: hook.refused.get("/asia", 0) >= 2, 30, "retried POSTs while the hook is down")
    hook.set_mode("up")
    want = {a["id"] for a in asia}
    wait_for(lambda: set(hook.alert_ids("/asia")) >= want, 60, "asia-pacific alerts on the webhook")
    wait_for(lambda: hook.texts("/europe"), 60, "the europe alert on the Slack webhook")
    assert any("Germany and France agree" in t for t in hook.texts("/europe"))
    for _, _, h in hook.posts:
        assert h["Content-Type"] == "application/json"

    # restart with the webhook gone entirely (connection refused)
    hook.close()
    assert daemon.stop() == 0
    daemon = run_daemon(cfg)
    # a copy and a follow-up of the known development from a fourth feed: silent after restore
    follow = fixture("talks-c-rewrite", "d-2", headline="Officials say US-China talks to continue",
                     body_text="Officials on both sides said on Tuesday that the dialogue between "
                               "Washington and Beijing will continue at working level, with trade "
                               "and export rules at the top of the list.")
    feed_server.set("/d.json", ninjs([fixture("talks-b-copy", "d-1"), follow]),
                    {"Content-Type": "application/json"})
    docs = story_count(7)
    later = [d for d in docs if d["provenance"]["feed"] == "wire-d"]
    assert len(later) == 2 and all(d["dedup"]["development_id"] == dev for d in later)
    # alerts commit with their stories: once the stories are visible, so would their alerts be
    alerts.poll(1)
    assert len(alerts.records) == 8, "a restored development must not alert again"

    # a new development while the hook is unreachable, then the hook comes back on the same port
    feed_server.set("/d.json", ninjs([fixture("talks-b-copy", "d-1"), follow,
                                      fixture("escalation", "d-3",
                                              headline="China threatens Japan over islands",
                                              body_text="China threatened Japan with countermeasures "
                                                        "over a dispute about islands in the East "
                                                        "China Sea, its defence ministry said.",
                                              entities=[
                                                  {"type": "GPE", "name": "China",
                                                   "ids": {"iso3166": "CHN"}, "kind": "country"},
                                                  {"type": "GPE", "name": "Japan",
                                                   "ids": {"iso3166": "JPN"}, "kind": "country"}],
                                              events=[{"type": "THREATEN", "cameo": "13",
                                                       "source": [{"code": "CHN"}],
                                                       "target": [{"code": "JPN"}],
                                                       "intensity": -6.0, "confidence": 0.9}])]),
                    {"Content-Type": "application/json"})
    records = alerts.wait_count(10, 60)
    new = [json.loads(m.value()) for m in records[8:]]
    assert sorted(a["desk"] for a in new) == ["asia-pacific", "conflict"]
    wait_for(lambda: any(l.get("module") == "webhook" and "POST" in l.get("msg", "")
                         for l in daemon.log_lines()), 30, "a failed POST to the closed hook")
    hook = Hook(port)
    want |= {a["id"] for a in new if a["desk"] == "asia-pacific"}
    try:
        wait_for(lambda: set(hook.alert_ids("/asia")) >= (want - {a["id"] for a in asia}), 60,
                 "the alert made while the hook was unreachable")
        # nothing delivered before the restart is delivered again: offsets were committed
        assert not set(hook.alert_ids("/asia")) & {a["id"] for a in asia}
    finally:
        hook.close()
    assert daemon.stop() == 0


def test_webhook_gives_up_on_a_permanent_refusal(brokers, topics, feed_server, run_daemon, reader):
    """A receiver that answers 422 to one alert must not hold back the alerts after it: the refused
    alert is tried a few times, given up with an error and a metric, and the next one arrives."""
    from conftest import free_port, http_get, parse_metrics, value, with_server

    hook = Hook()
    hook.set_mode("picky")
    feed_server.set("/a.json", ninjs([]), {"Content-Type": "application/json"})
    port = free_port()
    cfg = with_server(base_config(brokers, topics,
                                  [{"id": "wire-a", "url": feed_server.url("/a.json")}],
                                  desks_yaml(hook.url(), "hooks-" + uuid.uuid4().hex[:8])), port)
    daemon = run_daemon(cfg)
    alerts = reader(topics["alerts"])
    try:
        first = fixture("talks-a", "a-1")
        feed_server.set("/a.json", ninjs([first]), {"Content-Type": "application/json"})
        wait_for(lambda: hook.rejections >= 3, 60, "three refused POSTs of the first alert")
        second = fixture("escalation", "a-2", headline="China threatens Japan over islands",
                         body_text="China threatened Japan with countermeasures over a dispute "
                                   "about islands in the East China Sea, its defence ministry said.",
                         entities=[{"type": "GPE", "name": "China", "ids": {"iso3166": "CHN"},
                                    "kind": "country"},
                                   {"type": "GPE", "name": "Japan", "ids": {"iso3166": "JPN"},
                                    "kind": "country"}],
                         events=[{"type": "THREATEN", "cameo": "13", "source": [{"code": "CHN"}],
                                  "target": [{"code": "JPN"}], "intensity": -6.0,
                                  "confidence": 0.9}])
        feed_server.set("/a.json", ninjs([first, second]), {"Content-Type": "application/json"})

        def asia():
            return [doc for doc in (json.loads(m.value()) for m in alerts.poll(0.2))
                    if doc["desk"] == "asia-pacific"]
        wait_for(lambda: len(asia()) >= 2, 60, "two asia-pacific alerts")
        refused, later = asia()[0]["id"], asia()[1]["id"]
        assert hook.unwanted == refused, "the first alert was the refused one"
        wait_for(lambda: later in hook.alert_ids("/asia"), 60, "the next alert, past the refused one")
        assert refused not in hook.alert_ids("/asia")
        assert hook.rejections == 3, "a refused alert is tried three times, then given up"
        assert any(l.get("level") == "error" and "giving it up" in l.get("msg", "")
                   for l in daemon.log_lines())

        status, text = http_get(port, "/metrics")
        assert status == 200, text
        types, samples = parse_metrics(text)
        assert types["newsd_alerts_total"] == "counter"
        assert value(samples, "newsd_alerts_total", desk="asia-pacific") == 2
        assert value(samples, "newsd_webhook_posts_total", result="rejected") == 3
        assert value(samples, "newsd_webhook_posts_total", result="delivered") >= 1
        assert value(samples, "newsd_webhook_dropped_total") == 1
        assert value(samples, "newsd_alert_stage_total", event="stories") == 2
        assert value(samples, "newsd_alert_stage_total", event="developments") == 2
        assert daemon.stop() == 0
    finally:
        hook.close()
