"""Realistic feed load for the memory tests and bench/soak_memory.py: N RSS feeds on a loopback HTTP
server, each gaining `per_tick` items every `tick_s` seconds, with bodies of a few KB (BBC news
articles from ../shared/data/bbc-news when present, else generated sentences of similar length).

A feed document keeps its newest `keep` items, as a real feed does, so a poll costs a bounded body.
Every item ever served is remembered (`served`), for exactly-once checks."""
import glob
import os
import random
import threading
import time
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
BBC = os.path.join(HERE, "..", "..", "..", "shared", "data", "bbc-news")

_WORDS = ("minister talks government said officials agreement border trade sanctions summit "
          "foreign security council president election parliament economy bank market prices "
          "energy oil gas talks visit capital week report").split()


def _bodies(n, rng):
    files = sorted(glob.glob(os.path.join(BBC, "*", "*.txt")))
    out = []
    for path in files[:n]:
        with open(path, encoding="latin-1") as f:
            text = " ".join(f.read().split())
        if len(text) > 1200:
            out.append(text)
    while len(out) < n:  # no corpus: ~370 words of sentences
        words = [rng.choice(_WORDS) for _ in range(370)]
        out.append(" ".join(" ".join(words[i:i + 12]).capitalize() + "." for i in range(0, 370, 12)))
    return out


class FeedLoad:
    def __init__(self, server, nfeeds=20, per_tick=5, tick_s=4.0, keep=40, prefix="m", seed=1):
        self.server, self.nfeeds, self.per_tick, self.tick_s, self.keep = server, nfeeds, per_tick, tick_s, keep
        self.prefix = prefix
        self.rng = random.Random(seed)
        self.bodies = _bodies(400, self.rng)
        self.items = {f: [] for f in range(nfeeds)}
        self.served = set()
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.thread = None
        self.n = 0

    def feeds(self):
        return [{"id": f"{self.prefix}{f}", "url": self.server.url(f"/{self.prefix}{f}.xml"), "interval_s": 1}
                for f in range(self.nfeeds)]

    def _doc(self, f):
        out = ['<?xml version="1.0" encoding="UTF-8"?>', '<rss version="2.0"><channel>',
               f"<title>Load feed {f}</title><link>http://example.org/</link><description>t</description>"]
        for guid, title, body in reversed(self.items[f]):
            out.append(f"<item><title>{escape(title)}</title><link>http://example.org/{guid}</link>"
                       f"<guid>{guid}</guid><pubDate>Sat, 28 Nov 2026 09:12:00 GMT</pubDate>"
                       f"<description><![CDATA[{body}]]></description></item>")
        out.append("</channel></rss>")
        return "\n".join(out)

    def tick(self):
        """Add per_tick items to every feed."""
        with self.lock:
            for f in range(self.nfeeds):
                for _ in range(self.per_tick):
                    self.n += 1
                    guid = f"{self.prefix}{f}-{self.n}"
                    body = self.bodies[self.n % len(self.bodies)]
                    self.items[f].append((guid, f"Story {self.n}: {body[:60]}", body))
                    self.served.add(guid)
                self.items[f] = self.items[f][-self.keep:]
                self.server.set(f"/{self.prefix}{f}.xml", self._doc(f))

    def start(self):
        self.tick()

        def run():
            while not self.stop_ev.wait(self.tick_s):
                self.tick()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_ev.set()
        if self.thread:
            self.thread.join()

    def served_count(self):
        with self.lock:
            return len(self.served)


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """VmRSS of pid every `every` seconds on a thread: samples as (monotonic time, kB)."""

    def __init__(self, pid, every=0.25):
        self.pid, self.every, self.samples = pid, every, []
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                self.samples.append((time.monotonic(), vmrss_kib(self.pid)))
            except OSError:
                return
            self.stop_ev.wait(self.every)

    def peak_kib(self, since=0.0):
        return max((kb for t, kb in self.samples if t >= since), default=0)

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
