"""Memory stays within memory.limit_mb through a broker that hangs (issue 18).

Realistic load (20 feeds, 5 items of a few KB each every 4 s: 25 items/s) and a broker frozen with
SIGSTOP for longer than the transaction timeout. The buffered bytes reach the budget, fetch pauses
(newsd_backpressure_seconds_total{stage="fetch"} grows), the open transaction outlives its timeout
and is redone after SIGCONT, and then fetch resumes. Resident memory grows by less than the budget
over the steady state before the freeze, and a read_committed consumer sees every item served
exactly once. Its own broker, so freezing it does not disturb the tests running beside it."""
import subprocess
import time

from conftest import (BROKER_SH, SANITIZED, TopicReader, free_port, http_get, load_config, metric,
                      start_broker, stop_broker, topic_names, wait_for)
from loadgen import FeedLoad, RssSampler

LIMIT_MB = 24
TXN_TIMEOUT_S = 10
STEADY_S = 8
FREEZE_S = 25  # past the transaction timeout and past /readyz's 10 s for a stalled commit
# The broker stays frozen until the budget has filled (fetch paused), at most this long: on a
# machine busy with other work the load generator and the daemon go slower, and a fixed 25 s
# freeze ended before the budget filled (three attempts of a whole `make test` beside helpers'
# builds). The assertions do not change; only the outage lasts as long as the fill takes.
FILL_MAX_S = 90
HOLD_S = 5  # frozen this long at least after the pause, so the paused stage is observed


def keys(reader):
    reader.poll(0.5)
    return [m.key().decode() for m in reader.records]


class Underloaded(AssertionError):
    """The budget did not fill within FILL_MAX_S of freezing: the load generator (this process, on a machine
    shared with other work) served too little. Says nothing about newsd."""


# Only an underloaded attempt is tried again (each attempt has its own broker, feeds and daemon,
# and is printed); any other failure (a commit that never resolves, a lost or duplicated item,
# resident memory over the budget) fails the test at once.
ATTEMPTS = 3


def test_broker_frozen_past_the_transaction_timeout(tmp_path, feed_server, run_daemon):
    failures = []
    for attempt in range(ATTEMPTS):
        where = tmp_path / f"attempt{attempt}"
        where.mkdir()
        try:
            frozen_scenario(where, feed_server, run_daemon, f"m{attempt}x")
            return
        except Underloaded as e:
            failures.append(f"attempt {attempt + 1}: {e}")
            print(f"test_memory attempt {attempt + 1} of {ATTEMPTS} underloaded: {e}")
    raise AssertionError("; ".join(failures))


def frozen_scenario(tmp_path, feed_server, run_daemon, prefix):
    bdir = str(tmp_path / "kafka")
    brokers = start_broker(bdir)
    d = None
    load = FeedLoad(feed_server, nfeeds=20, per_tick=5, tick_s=4.0, keep=100, prefix=prefix)
    try:
        topics = topic_names("mem")
        port = free_port()
        cfg = load_config(brokers, topics, load.feeds(), port, TXN_TIMEOUT_S,
                          f"memory:\n  limit_mb: {LIMIT_MB}\n")
        load.start()
        d = run_daemon(cfg)
        r = TopicReader(brokers, topics["stories"], wait_topic=60)
        rss = RssSampler(d.proc.pid)
        try:
            # steady state: the first backlog committed, then a few seconds of the ongoing load
            wait_for(lambda: len(set(keys(r))) >= 400, 120, "the first 400 stories")
            # its high point over 8 s, buffers in flight included: over 3 s the baseline could
            # land on a low (169.8 against 171.6 to 172.8 MB), and the growth read 27.8 MiB once
            t_steady = time.monotonic()
            time.sleep(STEADY_S)
            steady_kib = rss.peak_kib(t_steady)
            assert metric(port, "newsd_memory_limit_bytes") == LIMIT_MB << 20

            def paused_s():
                return metric(port, "newsd_backpressure_seconds_total", stage="fetch")
            paused_before = paused_s()  # the first polls of a start may already have waited a little

            subprocess.run([BROKER_SH, "freeze", bdir], check=True)
            t_freeze = time.monotonic()
            # the buffered bytes reach the budget and fetch pauses (nothing drains while frozen)
            try:
                wait_for(lambda: metric(port, "newsd_memory_paused") == 1, FILL_MAX_S,
                         "fetch paused by the memory budget")
            except AssertionError as e:
                raise Underloaded(f"{e} ({load.served_count()} items served)") from None
            # /readyz is honest: a commit that cannot finish means Kafka is failing
            wait_for(lambda: http_get(port, "/readyz")[0] == 503, 20, "/readyz 503 while the broker hangs")
            status, body = http_get(port, "/readyz")
            assert "kafka: failing" in body and "memory: paused" in body, body
            t_thaw = max(t_freeze + FREEZE_S, time.monotonic() + HOLD_S)
            while time.monotonic() < t_thaw:
                assert d.proc.poll() is None, "newsd must keep running while the broker hangs"
                time.sleep(0.5)
            subprocess.run([BROKER_SH, "thaw", bdir], check=True)

            # the expired transaction is redone (or, when the commit in flight had reached the
            # broker and then stalled, read back as committed), fetch resumes: new items keep
            # being committed
            def settled():
                return ((metric(port, "newsd_kafka_transactions_aborted_total", reason="timeout") or 0) +
                        (metric(port, "newsd_kafka_commit_stalls_total") or 0))
            wait_for(lambda: settled() >= 1, 60,
                     "the expired transaction counted as aborted (timeout), or a stalled commit settled")
            wait_for(lambda: metric(port, "newsd_memory_paused") == 0, 60, "the sources resumed")
            paused = paused_s() - paused_before
            load.stop()
            served = load.served_count()
            wait_for(lambda: len(set(keys(r))) >= served, 180, f"all {served} items committed")
            r.poll(3)  # duplicates, if any, would arrive now
            k = keys(r)
            assert len(set(k)) == served, f"{len(set(k))} distinct stories, {served} served"
            assert len(k) == len(set(k)), f"{len(k) - len(set(k))} duplicates"
            assert paused >= 3, f"fetch paused for {paused} s only"
            assert wait_for(lambda: http_get(port, "/readyz")[0] == 200, 30, "/readyz 200 again")

            # resident memory: the budget bounds the growth over the steady state (RSS means
            # nothing under ASan's quarantine; LeakSanitizer checks memory there)
            peak_kib = rss.peak_kib(t_freeze)
            print(f"steady {steady_kib} kB, peak through the freeze and catch-up {peak_kib} kB "
                  f"(+{(peak_kib - steady_kib) / 1024:.1f} MiB, limit {LIMIT_MB} MiB); fetch paused "
                  f"{paused:.1f} s; buffered peak {metric(port, 'newsd_memory_buffered_peak_bytes') / 2**20:.1f} MiB; "
                  f"{served} items exactly once")
            if not SANITIZED:
                assert peak_kib - steady_kib < LIMIT_MB * 1024, \
                    f"RSS grew from {steady_kib} to {peak_kib} kB, over memory.limit_mb ({LIMIT_MB} MiB)"
        finally:
            rss.stop()
            r.close()
        assert d.stop() == 0
        logs = d.log_lines()
        aborted = [l for l in logs if "the broker was away longer than the transaction timeout" in l.get("msg", "")]
        committed = [l for l in logs if "stalled in librdkafka" in l.get("msg", "")]
        assert aborted or committed, "neither an aborted transaction nor a stalled commit reported"
        assert all(l["level"] == "warn" for l in aborted + committed), aborted + committed
        if aborted:
            assert "records aborted" in aborted[0]["msg"] and "redone" in aborted[0]["msg"]
        else:
            assert "records stalled" in committed[0]["msg"] and "had committed" in committed[0]["msg"]
        noisy = [l for l in logs if "Purged in queue" in l.get("msg", "") and l.get("level") != "debug"]
        assert not noisy, f"{len(noisy)} purge lines, e.g. {noisy[0]}"
        errors = [l for l in logs if l.get("level") == "error"]
        assert not errors, f"error lines for a path that works as designed: {errors[:3]}"
    finally:
        load.stop()
        if d is not None and d.proc.poll() is None:
            d.proc.kill()  # a failed attempt's daemon; the next attempt starts its own
            d.proc.wait()
        stop_broker(bdir)
