"""Scale-out through Kafka (issue 9): several instances share the feeds of cluster.feeds_topic as one
consumer group. Each feed is polled by exactly one live instance; a killed instance's feeds move to
the others; a stalled one (a zombie) is fenced by its transactions; no story is lost or duplicated.

Which instance polled a feed comes from the feed server's request log: every instance sends its own
User-Agent."""
import json
import random
import signal
import subprocess
import threading
import time

from conftest import NEWSD_BIN, SLOW, base_config, rss, wait_for

SESSION_MS = 6000        # the broker's group.min.session.timeout.ms is 6 s
TXN_TIMEOUT_MS = 5000
NFEEDS = 300
PARTITIONS = 6


class Feeds:
    """NFEEDS feeds on the loopback server; items are added over time by a thread. Keeps every
    (feed, guid) ever served: the stories the topic must hold, each once."""

    def __init__(self, server, nfeeds, prefix):
        self.server, self.prefix = server, prefix
        self.items = {f"{prefix}{f}": [] for f in range(nfeeds)}
        self.version = {fid: 0 for fid in self.items}
        self.lock = threading.Lock()
        self.rng = random.Random(9)
        for fid in self.items:
            for _ in range(2):
                self._add(fid)
        self.stop_adding = threading.Event()
        self.thread = None

    def path(self, fid):
        return f"/{fid}.xml"

    def _add(self, fid):
        n = len(self.items[fid])
        self.items[fid].append({"guid": f"{fid}-{n}", "title": f"Story {n} of {fid}",
                                "link": f"http://example.org/{fid}/{n}",
                                "pubDate": "Sat, 28 Nov 2026 09:12:00 GMT",
                                "description": f"GENEVA (Test Wire) - Talks on item {n} of {fid} resumed."})
        self.version[fid] += 1
        self.server.set(self.path(fid), rss(self.items[fid][-20:]),
                        {"Content-Type": "application/rss+xml", "ETag": f'"{fid}-{self.version[fid]}"'})

    def expected(self):
        with self.lock:
            return {(fid, it["guid"]) for fid, items in self.items.items() for it in items}

    def start(self, per_second=20):
        def run():
            while not self.stop_adding.wait(1.0 / per_second):
                with self.lock:
                    self._add(self.rng.choice(list(self.items)))
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_adding.set()
        if self.thread:
            self.thread.join()

    def conf_list(self):
        return [{"id": fid, "url": self.server.url(self.path(fid)), "interval_s": 2} for fid in self.items]


def cluster_config(brokers, topics, feeds_topic, feeds):
    cfg = base_config(brokers, topics, feeds).replace("log_level: debug", "log_level: info")
    return cfg + "\n".join([
        "cluster:",
        f"  feeds_topic: {feeds_topic}",
        f"  group_id: g-{feeds_topic}",
        f"  session_timeout_ms: {SESSION_MS}",
        f"  transaction_timeout_ms: {TXN_TIMEOUT_MS}",
    ]) + "\n"


def publish_feeds(tmp_path, cfg):
    publish_feeds_n(tmp_path, cfg, NFEEDS)


def start_instances(run_daemon, cfg, n, tag):
    daemons = []
    for i in range(n):
        daemons.append(run_daemon(cfg, env={"NEWSD_KAFKA_TRANSACTIONAL_ID": f"newsd-{tag}-{i}",
                                            "NEWSD_FETCH_USER_AGENT": f"newsd-test/{i}"}))
    return daemons


def polled_feeds(d):
    """Feeds the daemon's last `polling N feeds` line reported, or None before any."""
    n = None
    for line in d.log_lines():
        msg = line.get("msg") or line.get("message") or ""
        if line.get("module") == "cluster" and msg.startswith("polling "):
            n = int(msg.split()[1])
    return n


def pollers_since(server, t0, prefix):
    """feed id -> set of instances (User-Agent) that requested it after t0."""
    out = {}
    with server.lock:
        for t, path, hdrs in server.timed:
            if t >= t0 and path.startswith(f"/{prefix}"):
                out.setdefault(path[1:-4], set()).add(hdrs.get("User-Agent"))
    return out


def first_poll_after(server, t0, fid, agents):
    with server.lock:
        for t, path, hdrs in server.timed:
            if t >= t0 and path == f"/{fid}.xml" and hdrs.get("User-Agent") in agents:
                return t
    return None


def stories_seen(r):
    r.poll(0.3)
    seen = []
    for m in r.records:
        doc = json.loads(m.value())
        seen.append((doc["provenance"]["feed"], doc["provenance"]["guid"]))
    return seen


def assert_exactly_once(r, feeds, timeout):
    expected = feeds.expected()
    wait_for(lambda: expected <= set(stories_seen(r)), timeout,
             f"all {len(expected)} stories in the topic")
    r.poll(3)  # duplicates, if any, would arrive now
    seen = stories_seen(r)
    dupes = len(seen) - len(set(seen))
    assert set(seen) == expected, f"{len(set(seen) - expected)} unexpected stories"
    assert dupes == 0, f"{dupes} duplicate stories"


def wait_stable(daemons, server, prefix, t_from):
    """All feeds assigned and each polled by exactly one instance since t_from. Returns feed -> UA."""
    def settled():
        counts = [polled_feeds(d) for d in daemons]
        # cooperative rebalancing moves partitions in two steps (revoke, then assign): the
        # assignment has settled when every instance has a share and the shares add up
        return all(counts) and sum(counts) == NFEEDS
    wait_for(settled, 60, f"the instances to poll {NFEEDS} feeds between them, each a share")
    t0 = time.monotonic()
    wait_for(lambda: len(pollers_since(server, t0, prefix)) == NFEEDS, 30,
             "every feed to be polled after the assignment settled")
    owners = pollers_since(server, t0, prefix)
    shared = {fid: ua for fid, ua in owners.items() if len(ua) != 1}
    assert not shared, f"{len(shared)} feeds polled by several instances, e.g. {list(shared.items())[:3]}"
    return {fid: next(iter(ua)) for fid, ua in owners.items()}


def test_three_instances_kill_one(brokers, topics, feed_server, run_daemon, reader, tmp_path):
    t_start = time.monotonic()
    feeds_topic = topics["stories"].split(".")[0] + ".feeds"
    feeds = Feeds(feed_server, NFEEDS, "c")
    cfg = cluster_config(brokers, topics, feeds_topic, feeds.conf_list())
    publish_feeds(tmp_path, cfg)
    r = reader(topics["stories"])
    daemons = start_instances(run_daemon, cfg, 3, feeds_topic)
    owners = wait_stable(daemons, feed_server, "c", t_start)
    per_instance = {ua: sum(1 for o in owners.values() if o == ua) for ua in set(owners.values())}
    assert len(per_instance) == 3, f"feeds per instance: {per_instance}"
    feeds.start()

    victim = daemons[1]
    victim_ua = "newsd-test/1"
    victim_feeds = [fid for fid, ua in owners.items() if ua == victim_ua]
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait()
    t_kill = time.monotonic()
    survivors = {"newsd-test/0", "newsd-test/2"}
    bound = (SESSION_MS + TXN_TIMEOUT_MS) / 1000 + 15
    wait_for(lambda: all(first_poll_after(feed_server, t_kill, fid, survivors) for fid in victim_feeds),
             bound, f"the {len(victim_feeds)} feeds of the killed instance to be polled by the others")
    takeover = max(first_poll_after(feed_server, t_kill, fid, survivors) for fid in victim_feeds) - t_kill
    print(f"takeover of {len(victim_feeds)} feeds: {takeover:.1f} s after SIGKILL "
          f"(session {SESSION_MS} ms + transaction timeout {TXN_TIMEOUT_MS} ms)")

    # every feed keeps being polled, now by exactly one of the two survivors
    owners2 = wait_stable([daemons[0], daemons[2]], feed_server, "c", t_kill)
    assert set(owners2.values()) <= survivors
    for fid in victim_feeds:
        assert owners2[fid] in survivors
    feeds.stop()
    assert_exactly_once(r, feeds, 60)
    for d in (daemons[0], daemons[2]):
        assert d.stop() == 0
    print(f"test took {time.monotonic() - t_start:.1f} s")


def test_zombie_is_fenced(brokers, topics, feed_server, run_daemon, reader, tmp_path):
    """SIGSTOP one instance past the session timeout: the others take its feeds; after SIGCONT its
    open transaction must not commit and it must not redo it: no story twice."""
    t_start = time.monotonic()
    feeds_topic = topics["stories"].split(".")[0] + ".feeds"
    feeds = Feeds(feed_server, NFEEDS, "z")
    cfg = cluster_config(brokers, topics, feeds_topic, feeds.conf_list())
    publish_feeds(tmp_path, cfg)
    r = reader(topics["stories"])
    daemons = start_instances(run_daemon, cfg, 3, feeds_topic)
    owners = wait_stable(daemons, feed_server, "z", t_start)
    feeds.start(per_second=50)

    zombie = daemons[2]
    zombie_feeds = [fid for fid, ua in owners.items() if ua == "newsd-test/2"]
    # let it take in new items so it has work of its own in flight when it stops
    t_items = time.monotonic()
    wait_for(lambda: sum(1 for t, p, h in list(feed_server.timed)
                         if t >= t_items and h.get("User-Agent") == "newsd-test/2") >= 50, 20,
             "the zombie-to-be to poll")
    zombie.proc.send_signal(signal.SIGSTOP)
    t_stop = time.monotonic()
    others = {"newsd-test/0", "newsd-test/1"}
    wait_for(lambda: all(first_poll_after(feed_server, t_stop, fid, others) for fid in zombie_feeds),
             (SESSION_MS + TXN_TIMEOUT_MS) / 1000 + 15, "the others to take the stalled instance's feeds")
    zombie.proc.send_signal(signal.SIGCONT)
    t_cont = time.monotonic()
    # it rejoins the group and gets a share again: each feed still has one poller at a time
    owners2 = wait_stable(daemons, feed_server, "z", t_cont)
    assert len(owners2) == NFEEDS
    feeds.stop()
    assert_exactly_once(r, feeds, 60)
    lines = zombie.log_lines()
    assert any("dropping the batch" in (l.get("msg") or "") or "discarded" in (l.get("msg") or "")
               for l in lines), "the resumed instance did not discard its uncommitted work"
    for d in daemons:
        assert d.stop() == 0
    print(f"test took {time.monotonic() - t_start:.1f} s")


def test_sigterm_hands_feeds_over_at_once(brokers, topics, feed_server, run_daemon, reader, tmp_path):
    """A rolling update: SIGTERM commits, then leaves the group, so the feeds move without waiting for
    the session timeout, and the restarted instance takes a share back; no story lost or doubled."""
    t_start = time.monotonic()
    feeds_topic = topics["stories"].split(".")[0] + ".feeds"
    feeds = Feeds(feed_server, NFEEDS, "s")
    cfg = cluster_config(brokers, topics, feeds_topic, feeds.conf_list())
    # a session timeout the handover must not wait for
    cfg = cfg.replace(f"session_timeout_ms: {SESSION_MS}", "session_timeout_ms: 30000")
    publish_feeds(tmp_path, cfg)
    r = reader(topics["stories"])
    daemons = start_instances(run_daemon, cfg, 2, feeds_topic)
    owners = wait_stable(daemons, feed_server, "s", t_start)
    feeds.start(per_second=50)

    leaving = [fid for fid, ua in owners.items() if ua == "newsd-test/1"]
    t_term = time.monotonic()
    assert daemons[1].stop() == 0
    wait_for(lambda: all(first_poll_after(feed_server, t_term, fid, {"newsd-test/0"}) for fid in leaving),
             15, f"the {len(leaving)} feeds of the stopped instance to move")
    handover = max(first_poll_after(feed_server, t_term, fid, {"newsd-test/0"}) for fid in leaving) - t_term
    print(f"handover of {len(leaving)} feeds after SIGTERM: {handover:.1f} s (session timeout 30 s)")
    assert handover < 15 * SLOW

    again = run_daemon(cfg, env={"NEWSD_KAFKA_TRANSACTIONAL_ID": f"newsd-{feeds_topic}-1",
                                 "NEWSD_FETCH_USER_AGENT": "newsd-test/1"})
    t_back = time.monotonic()
    owners2 = wait_stable([daemons[0], again], feed_server, "s", t_back)
    assert set(owners2.values()) == {"newsd-test/0", "newsd-test/1"}
    feeds.stop()
    assert_exactly_once(r, feeds, 60)
    for d in (daemons[0], again):
        assert d.stop() == 0
    print(f"test took {time.monotonic() - t_start:.1f} s")


def test_feed_records_added_and_deleted_while_running(brokers, topics, feed_server, run_daemon, tmp_path):
    """The topic is the feed list: a feed published later is polled, a tombstone stops a feed, and a
    record that is not a valid feed is rejected with a log line while the others go on."""
    feeds_topic = topics["stories"].split(".")[0] + ".feeds"
    for f in range(4):
        feed_server.set(f"/u{f}.xml", rss([{"guid": f"u{f}-0", "title": "t", "link": "http://e.org/"}]))
    conf = [{"id": f"u{f}", "url": feed_server.url(f"/u{f}.xml"), "interval_s": 1} for f in range(4)]
    cfg = cluster_config(brokers, topics, feeds_topic, conf[:3])
    publish_feeds_n(tmp_path, cfg, 3)
    d = run_daemon(cfg, env={"NEWSD_FETCH_USER_AGENT": "newsd-test/0"})
    wait_for(lambda: polled_feeds(d) == 3, 30, "the instance to poll the 3 published feeds")

    cfg4 = cluster_config(brokers, topics, feeds_topic, conf)
    publish_feeds_n(tmp_path, cfg4, 4)
    t_add = time.monotonic()
    wait_for(lambda: "u3" in pollers_since(feed_server, t_add, "u"), 30, "the added feed to be polled")

    out = subprocess.run([NEWSD_BIN, "feeds", "delete", "-c", str(tmp_path / "feeds.yaml"), "u1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "1 record written" in out.stdout, out.stdout + out.stderr
    wait_for(lambda: polled_feeds(d) == 3, 30, "the deleted feed to leave the instance's list")
    t_del = time.monotonic()
    # the others are polled twice more (interval 1 s); the deleted one not once
    wait_for(lambda: all(sum(1 for t, p, h in list(feed_server.timed) if t >= t_del and p == f"/{fid}.xml") >= 2
                         for fid in ("u0", "u2", "u3")), 30, "two more polls of the remaining feeds")
    assert "u1" not in pollers_since(feed_server, t_del, "u")

    # a broken definition (here a bad URL scheme) is rejected and logged; nothing else changes
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": brokers})
    p.produce(feeds_topic, key=b"u9", value=json.dumps({"url": "gopher://x/"}).encode())
    p.flush(30)
    wait_for(lambda: any("u9" in (l.get("msg") or "") and "record ignored" in (l.get("msg") or "")
                         for l in d.log_lines()), 30, "the bad record to be reported")
    assert polled_feeds(d) == 3
    assert d.stop() == 0


def publish_feeds_n(tmp_path, cfg, n):
    path = tmp_path / "feeds.yaml"
    path.write_text(cfg)
    out = subprocess.run([NEWSD_BIN, "feeds", "publish", "-c", str(path), "--partitions", str(PARTITIONS)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"{n} records written" in out.stdout, out.stdout
