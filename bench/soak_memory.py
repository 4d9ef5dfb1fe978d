#!/usr/bin/python3
"""Soak benchmark of newsd's resident memory under a realistic load, with an optional broker freeze.

    bench/soak_memory.py [--minutes 10] [--newsd build/newsd] [--feeds 20] [--limit-mb N]
                         [--freeze-after S --freeze-for S]

Starts a Kafka broker of its own (tests/kafka/broker.sh), a loopback HTTP server whose 20 RSS feeds
each gain 5 items every 4 s (25 items/s, bodies of a few KB: tests/integration/loadgen.py), and
`newsd run` against both; samples VmRSS every 0.25 s and prints, per minute, the median and peak
resident memory and the stories committed. With --freeze-after the broker is stopped with SIGSTOP
for --freeze-for seconds (longer than kafka.transaction_timeout_ms, 60 s by default, exercises the
abort-and-redo path) and the peak through the freeze and the catch-up is printed. Bounded: it ends
after --minutes whatever happens (the daemon is stopped with SIGTERM, then killed).

At the end: minute-over-minute flatness as the ratio of the last minute's median to the second
minute's (the first minute holds start-up and the first polls of every feed's backlog)."""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from conftest import (BROKER_SH, FeedServer, TopicReader, free_port, load_config, metric_sum,  # noqa: E402
                      start_broker, stop_broker, topic_names)
from loadgen import FeedLoad, RssSampler  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--newsd", default=os.path.join(ROOT, "build", "newsd"))
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--limit-mb", type=int, default=0, help="memory.limit_mb (0: the default)")
    ap.add_argument("--freeze-after", type=float, default=0, help="seconds; 0: no freeze")
    ap.add_argument("--freeze-for", type=float, default=75)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="newsd-soak-")
    bdir = os.path.join(tmp, "kafka")
    brokers = start_broker(bdir)
    server = FeedServer()
    # 120 items a feed: a 75 s freeze adds ~94, none scrolls off before it is polled
    load = FeedLoad(server, nfeeds=args.feeds, keep=120)
    proc = reader = sampler = None
    frozen = False
    try:
        topics = topic_names("soak")
        port = free_port()
        cfg = load_config(brokers, topics, load.feeds(), port,
                          extra=f"memory:\n  limit_mb: {args.limit_mb}\n" if args.limit_mb else "")
        path = os.path.join(tmp, "newsd.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        load.start()
        log = open(os.path.join(tmp, "newsd.log"), "w")
        proc = subprocess.Popen([args.newsd, "run", "-c", path], stdout=log, stderr=subprocess.STDOUT)
        sampler = RssSampler(proc.pid)
        reader = TopicReader(brokers, topics["stories"], wait_topic=60)
        start = time.monotonic()
        end = start + args.minutes * 60
        freeze_at = start + args.freeze_after if args.freeze_after else None
        thaw_at = freeze_at + args.freeze_for if freeze_at else None
        print(f"# newsd {args.newsd}, {args.feeds} feeds x 5 items / 4 s, {args.minutes:g} min, log {tmp}")
        print("minute  rss_median_MiB  rss_peak_MiB  stories_committed  items_served")
        minute = 1
        medians = []
        while time.monotonic() < end and proc.poll() is None:
            reader.poll(0.5)
            now = time.monotonic()
            if freeze_at and not frozen and now >= freeze_at and now < thaw_at:
                subprocess.run([BROKER_SH, "freeze", bdir], check=True)
                frozen = True
                print(f"# broker frozen at {now - start:.0f} s for {args.freeze_for:g} s")
            if frozen and now >= thaw_at:
                subprocess.run([BROKER_SH, "thaw", bdir], check=True)
                frozen = False
                print(f"# broker thawed at {now - start:.0f} s")
            if now - start >= minute * 60:
                t0 = start + (minute - 1) * 60
                kb = [k for t, k in sampler.samples if t0 <= t < t0 + 60]
                med = statistics.median(kb) / 1024 if kb else 0
                medians.append(med)
                print(f"{minute:6d}  {med:14.1f}  {max(kb, default=0) / 1024:12.1f}  "
                      f"{len(set(m.key() for m in reader.records)):17d}  {load.served_count():12d}",
                      flush=True)
                minute += 1
        print(f"# peak resident over the run: {sampler.peak_kib() / 1024:.1f} MiB")
        if freeze_at:
            print(f"# peak before the freeze: "
                  f"{max((k for t, k in sampler.samples if t < freeze_at), default=0) / 1024:.1f} MiB; "
                  f"through the freeze and catch-up: {sampler.peak_kib(freeze_at) / 1024:.1f} MiB")
        bp = metric_sum(port, "newsd_backpressure_seconds_total")
        ab = metric_sum(port, "newsd_kafka_transactions_aborted_total")
        peak = metric_sum(port, "newsd_memory_buffered_peak_bytes")
        print(f"# newsd_backpressure_seconds_total: {bp}, newsd_kafka_transactions_aborted_total: {ab}, "
              f"newsd_memory_buffered_peak_bytes: {peak}")
        if len(medians) >= 3:
            print(f"# flatness: last minute / second minute median = {medians[-1] / medians[1]:.3f}")
    finally:
        if frozen:  # before newsd stops, so that its last commit can go through
            subprocess.run([BROKER_SH, "thaw", bdir], check=False)
        load.stop()
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if sampler:
            sampler.stop()
        if reader:
            reader.close()
        server.close()
        stop_broker(bdir)


if __name__ == "__main__":
    main()
