"""Exactly once through crashes, SIGTERM and a broker that goes away (issue 7).

A read_committed consumer must see every story exactly once, whatever happens to the daemon or the
broker in between: stories, events and the feed state are written in one Kafka transaction, and
newsd resumes from the committed state."""
import json
import random
import signal
import subprocess
import time

from conftest import (BROKER_SH, SANITIZED, SLOW, TopicReader, base_config, load_config, rss, start_broker,
                      stop_broker, topic_names, wait_for)
from loadgen import FeedLoad, RssSampler


def make_feeds(server, nfeeds, per_feed, prefix="f"):
    feeds = []
    for f in range(nfeeds):
        items = [{"guid": f"{prefix}{f}-{i}", "title": f"Story {i} of feed {f}",
                  "link": f"http://example.org/{prefix}{f}/{i}",
                  "pubDate": "Sat, 28 Nov 2026 09:12:00 GMT",
                  "description": f"GENEVA (Test Wire) - Ministers met for the {i}th time. " * 5}
                 for i in range(per_feed)]
        path = f"/{prefix}{f}.xml"
        server.set(path, rss(items))
        feeds.append({"id": f"{prefix}{f}", "url": server.url(path), "interval_s": 1})
    return feeds


def keys_seen(reader):
    reader.poll(0.5)
    return [m.key().decode() for m in reader.records]


def assert_exactly_once(reader, expected, timeout):
    wait_for(lambda: len(set(keys_seen(reader))) >= expected, timeout,
             f"{expected} distinct stories")
    reader.poll(3)  # duplicates, if any, would arrive now
    keys = keys_seen(reader)
    dupes = len(keys) - len(set(keys))
    assert len(set(keys)) == expected, f"{len(set(keys))} distinct stories, expected {expected}"
    assert dupes == 0, f"{dupes} duplicate records"


def test_sigkill_at_random_points(brokers, topics, feed_server, run_daemon, reader):
    nfeeds, per_feed = 20, 500
    feeds = make_feeds(feed_server, nfeeds, per_feed)
    cfg = base_config(brokers, topics, feeds).replace("log_level: debug", "log_level: info")
    cfg += "pipeline:\n  queue_capacity: 256\n"
    r = reader(topics["stories"])
    rng = random.Random(7)
    kills = 0
    for _ in range(6):
        d = run_daemon(cfg)
        time.sleep(rng.uniform(0.5, 3.0) * SLOW)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        kills += 1
        if len(set(keys_seen(r))) >= nfeeds * per_feed:
            break
    final = run_daemon(cfg)
    assert_exactly_once(r, nfeeds * per_feed, 180)
    assert final.stop() == 0
    # also: every record carries its own id as key and a version 1
    for m in r.records[:50]:
        doc = json.loads(m.value())
        assert doc["id"] == m.key().decode() and doc["version"] == 1
    assert kills >= 1


def test_sigterm_in_flight_then_resume(brokers, topics, feed_server, run_daemon, reader):
    feeds = make_feeds(feed_server, 10, 400, prefix="t")
    cfg = base_config(brokers, topics, feeds).replace("log_level: debug", "log_level: info")
    r = reader(topics["stories"])
    d = run_daemon(cfg)
    wait_for(lambda: len(keys_seen(r)) >= 200, 60, "the first stories")
    assert d.stop(signal.SIGTERM) == 0, "SIGTERM exits 0"
    logs = d.log_lines()
    assert any("stopping" in l.get("msg", "") for l in logs)
    # nothing half-written: what is visible now is whole feeds' worth of committed units
    d2 = run_daemon(cfg)
    assert_exactly_once(r, 4000, 120)
    assert d2.stop() == 0


def test_broker_away_for_30_seconds(tmp_path, feed_server, run_daemon):
    """Its own broker, so taking it away does not disturb the tests running beside it."""
    bdir = str(tmp_path / "kafka")
    own = start_broker(bdir)
    try:
        _broker_away(own, bdir, feed_server, run_daemon)
    finally:
        stop_broker(bdir)


def _broker_away(brokers, bdir, feed_server, run_daemon):
    """Realistic items (20 feeds, 5 items of a few KB every 4 s): the memory budget, not the size of
    the items, is what bounds the growth while the broker is away."""
    topics = topic_names("away")
    limit_mb = 32
    load = FeedLoad(feed_server, nfeeds=20, per_tick=5, tick_s=4.0, keep=100, prefix="b")
    cfg = load_config(brokers, topics, load.feeds(), extra=f"memory:\n  limit_mb: {limit_mb}\n")
    load.start()
    d = run_daemon(cfg)
    r = TopicReader(brokers, topics["stories"], wait_topic=60)
    rss = RssSampler(d.proc.pid)
    try:
        wait_for(lambda: len(set(keys_seen(r))) >= 400, 90, "the first 400 stories")
        time.sleep(3)
        steady_kib = max(kb for t, kb in rss.samples[-12:])
        t_away = time.monotonic()
        subprocess.run([BROKER_SH, "pause", bdir], check=True)
        try:
            # new items keep arriving while the broker is away
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                assert d.proc.poll() is None, "newsd must keep running while the broker is away"
                time.sleep(1)
        finally:
            subprocess.run([BROKER_SH, "resume", bdir], check=True)
        load.stop()
        served = load.served_count()
        r2 = TopicReader(brokers, topics["stories"], wait_topic=60)
        try:
            assert_exactly_once(r2, served, 240)
        finally:
            r2.close()
        # memory stayed bounded: the growth over the steady state, through the outage and the
        # catch-up, is less than memory.limit_mb. (Under ASan the allocator's quarantine makes RSS
        # meaningless; LeakSanitizer checks memory there.)
        peak_kib = rss.peak_kib(t_away)
        if not SANITIZED:
            assert peak_kib - steady_kib < limit_mb * 1024, f"RSS grew from {steady_kib} to {peak_kib} kB"
        assert d.stop() == 0
    finally:
        load.stop()
        rss.stop()
        r.close()


def test_fenced_producer_is_recreated(brokers, topics, feed_server, run_daemon, reader):
    """A fatal producer error (here: another producer takes our transactional id and fences us) does
    not end the daemon and loses nothing: the producer is recreated, the open batch redone."""
    from confluent_kafka import Producer
    feeds = make_feeds(feed_server, 4, 250, prefix="z")
    cfg = base_config(brokers, topics, feeds).replace("log_level: debug", "log_level: info")
    txn_id = f"newsd-{topics['stories'].split('.')[0]}"
    r = reader(topics["stories"])
    d = run_daemon(cfg)
    wait_for(lambda: len(set(keys_seen(r))) >= 100, 90, "the first stories")
    # the intruder: same transactional id, so the broker bumps the epoch and fences the daemon
    intruder = Producer({"bootstrap.servers": brokers, "transactional.id": txn_id})
    intruder.init_transactions(30)
    make_feeds(feed_server, 4, 300, prefix="z")  # 50 more items per feed keep the daemon producing
    assert_exactly_once(r, 1200, 180)
    assert d.proc.poll() is None, "the daemon survived the fatal error"
    logs = d.log_lines()
    assert any("fatal producer error" in l.get("msg", "") or "fenced" in l.get("msg", "") for l in logs)
    assert d.stop() == 0


def test_sigterm_with_the_broker_gone(tmp_path, feed_server, run_daemon):
    """SIGTERM while the broker is gone for good: the open transaction is given up at
    kafka.flush_timeout_ms and the daemon exits 0, instead of retrying the commit forever."""
    bdir = str(tmp_path / "kafka")
    own = start_broker(bdir)
    try:
        topics = topic_names("gone")
        feeds = make_feeds(feed_server, 2, 50, prefix="g")
        cfg = load_config(own, topics, feeds)
        cfg = cfg.replace("kafka:\n", "kafka:\n  flush_timeout_ms: 3000\n", 1)
        d = run_daemon(cfg)
        r = TopicReader(own, topics["stories"], wait_topic=60)
        try:
            wait_for(lambda: len(keys_seen(r)) >= 100, 90, "the first stories")
        finally:
            r.close()
        subprocess.run([BROKER_SH, "stop", bdir], check=True, stdout=subprocess.DEVNULL)
        make_feeds(feed_server, 2, 80, prefix="g")  # new items that can only wait for the broker
        time.sleep(3 * SLOW)  # let them reach the open transaction (waits on nothing observable)
        start = time.monotonic()
        assert d.stop(signal.SIGTERM, timeout=60) == 0
        assert time.monotonic() - start < 40 * SLOW, "shutdown is bounded by the flush timeout"
    finally:
        stop_broker(bdir)
