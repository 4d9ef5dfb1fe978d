"""Commits that never finish after the broker is back (issue 18).

test_freeze_during_commits: a broker frozen (SIGSTOP) while a transaction commit is in flight, again
and again.

newsd commits every 100 ms under a steady load, so a freeze almost always catches a commit on its
way: EndTxn sent, or the records of the transaction still in flight. Each freeze lasts longer than
the transaction timeout, so the broker aborts what it had not committed when it wakes up. librdkafka
2.0.2 sometimes never resolves such a commit after SIGCONT (it returns a retriable timeout each
time); newsd must notice, replace the producer, read back whether the transaction committed and
redo it only if it did not. After each thaw the daemon must be committing again within a bound, and
at the end a read_committed consumer sees every item served exactly once. Its own broker, so
freezing it does not disturb the tests running beside it.

test_end_txn_lost: the same stall on demand. A proxy in front of the broker (which tells clients to
come to the proxy) loses the EndTxn of the commit under way while everything else passes: first its
answer (the broker commits, newsd never hears), then the request itself (the broker aborts the
transaction on timeout). newsd must settle each stall by reading the transaction back: the
committed one is not redone (a blind redo would duplicate its stories), the aborted one is."""
import os
import socket
import struct
import subprocess
import threading
import time

from conftest import (BROKER_SH, TopicReader, free_port, load_config, metric, start_broker, stop_broker,
                      topic_names, wait_for)
from loadgen import FeedLoad

TXN_TIMEOUT_S = 6
FREEZES = 4
FREEZE_S = 10  # past the transaction timeout
# after a thaw: the broker's own recovery, then at worst one 30 s commit call that times out
# before the stall is noticed, a new producer and a read-back
RESUME_S = 75


def distinct(reader):
    reader.poll(0.3)
    return len({m.key() for m in reader.records})


class Running:
    """newsd on `brokers` polling 10 feeds that gain 20 items/s (it commits every 100 ms), its
    transactions timing out after TXN_TIMEOUT_S, with a read_committed reader of its stories."""

    def __init__(self, feed_server, run_daemon, brokers, name):
        self.load = FeedLoad(feed_server, nfeeds=10, per_tick=2, tick_s=1.0, keep=300, prefix=name[0])
        self.port = free_port()
        self.load.start()
        self.daemon = run_daemon(load_config(brokers, topic_names(name), self.load.feeds(), self.port,
                                             TXN_TIMEOUT_S))
        self.reader = TopicReader(brokers, topic_names(name)["stories"], wait_topic=60)
        wait_for(lambda: distinct(self.reader) >= 100, 120, "the first 100 stories")

    def flowing(self, what):
        """Wait until a commit lands (so that the next one is on its way); returns the count."""
        before = distinct(self.reader)
        wait_for(lambda: distinct(self.reader) > before, 30, f"stories flowing before {what}")
        return before

    def committing_again(self, what, timeout):
        """Wait until 20 more stories are committed; returns how long that took."""
        t0, at = time.monotonic(), distinct(self.reader)
        wait_for(lambda: distinct(self.reader) > at + 20, timeout, f"stories committed again after {what} (had {at})")
        return time.monotonic() - t0

    def metric(self, name, **labels):
        return metric(self.port, name, **labels)

    def finish(self):
        """Stop the load and the daemon: every item served is committed exactly once, and the log
        has no error line and nothing outside newsd's logger. Returns the log lines."""
        self.load.stop()
        served = self.load.served_count()
        try:
            wait_for(lambda: distinct(self.reader) >= served, 120, f"all {served} items committed")
            self.reader.poll(3)  # duplicates, if any, would arrive now
            keys = [m.key() for m in self.reader.records]
            assert len(set(keys)) == served, f"{len(set(keys))} distinct stories, {served} served"
            assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} duplicates"
        finally:
            self.reader.close()
        assert self.daemon.stop() == 0
        logs = self.daemon.log_lines()
        errors = [l for l in logs if l.get("level") == "error"]
        assert not errors, f"error lines for a path that works as designed: {errors[:3]}"
        raw = [l["raw"] for l in logs if "raw" in l]
        assert not raw, f"lines outside newsd's logger: {raw[:3]}"
        return logs

    def close(self):
        self.load.stop()


def test_freeze_during_commits(tmp_path, feed_server, run_daemon):
    bdir = str(tmp_path / "kafka")
    run = None
    try:
        run = Running(feed_server, run_daemon, start_broker(bdir), "stall")
        resumed = []
        for i in range(FREEZES):
            run.flowing(f"freeze {i + 1}")
            subprocess.run([BROKER_SH, "freeze", bdir], check=True)
            time.sleep(FREEZE_S)
            assert run.daemon.proc.poll() is None, "newsd must keep running while the broker hangs"
            subprocess.run([BROKER_SH, "thaw", bdir], check=True)
            resumed.append(run.committing_again(f"thaw {i + 1}", RESUME_S))
        print(f"{FREEZES} freezes of {FREEZE_S} s: committing again "
              f"{', '.join(f'{s:.1f}' for s in resumed)} s after each thaw; "
              f"{run.load.served_count()} items; aborted (timeout) "
              f"{run.metric('newsd_kafka_transactions_aborted_total', reason='timeout')}, stalled commits "
              f"{run.metric('newsd_kafka_commit_stalls_total')}, producers recreated "
              f"{run.metric('newsd_kafka_producer_recreates_total')}")
        run.finish()
    finally:
        if run:
            run.close()
        stop_broker(bdir)


END_TXN = 26  # Kafka's API key of EndTxn


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def frames(sock):
    """Kafka's size-delimited frames read from sock until it closes: (size bytes, body)."""
    while True:
        head = recv_exact(sock, 4)
        body = recv_exact(sock, struct.unpack(">i", head)[0]) if head else None
        if body is None:
            return
        yield head, body


def end_txn_epoch(body):
    """(producer id, epoch) of an EndTxn request (header v1, or v2 from version 3 on)."""
    version = struct.unpack(">h", body[2:4])[0]
    at = 8
    n = struct.unpack(">h", body[at:at + 2])[0]  # client id, a nullable string in every header
    at += 2 + max(n, 0)
    if version >= 3:
        at += 1  # the header's tagged fields: none
        n, shift = 0, 0  # transactional id: a compact string (unsigned varint length + 1)
        while True:
            b = body[at]
            at += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        at += n - 1
    else:
        n = struct.unpack(">h", body[at:at + 2])[0]
        at += 2 + n
    return struct.unpack(">qh", body[at:at + 10])


class EndTxnGate:
    """A TCP proxy on 127.0.0.1:port to the broker of `bdir` that can lose EndTxn. arm(mode): the
    producer (id and epoch) of the next EndTxn loses every EndTxn it sends until disarm(): with
    "answer" the request reaches the broker and its answer is dropped, with "request" the request
    is dropped (no answer either). The connection stays open, as to a broker that hangs. A producer
    that replaces it has a new epoch, and passes."""

    def __init__(self, port, bdir):
        self.bdir, self.mode, self.target, self.lost = bdir, None, None, 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, mode):
        with self.lock:
            self.mode, self.target, self.lost = mode, None, 0

    def disarm(self):
        with self.lock:
            self.mode = self.target = None

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                with open(os.path.join(self.bdir, "bootstrap")) as f:
                    host, port = f.read().strip().rsplit(":", 1)
                broker = socket.create_connection((host, int(port)))
            except OSError:
                client.close()
                continue
            held = set()  # correlation ids of EndTxn requests whose answers are dropped
            threading.Thread(target=self._requests, args=(client, broker, held), daemon=True).start()
            threading.Thread(target=self._answers, args=(broker, client, held), daemon=True).start()

    def _lose(self, body):
        """The mode in which this request is lost, or None."""
        if struct.unpack(">h", body[:2])[0] != END_TXN:
            return None
        who = end_txn_epoch(body)
        with self.lock:
            if self.mode and self.target is None:
                self.target = who
            if not self.mode or who != self.target:
                return None
            self.lost += 1
            return self.mode

    def _requests(self, client, broker, held):
        def keep(body):
            mode = self._lose(body)
            if mode == "answer":
                held.add(struct.unpack(">i", body[4:8])[0])
            return mode != "request"
        self._relay(client, broker, keep)

    def _answers(self, broker, client, held):
        def keep(body):
            corr = struct.unpack(">i", body[:4])[0]
            if corr in held:
                held.discard(corr)
                return False
            return True
        self._relay(broker, client, keep)

    @staticmethod
    def _relay(src, dst, keep):
        """Frames from src to dst, but those keep(body) refuses, until either side closes."""
        try:
            for head, body in frames(src):
                if keep(body):
                    dst.sendall(head + body)
        except OSError:
            pass
        finally:
            src.close()
            dst.close()

    def close(self):
        self.listener.close()


def lose_end_txn(gate, mode, run, stalls_before):
    """Lose EndTxn (mode) until newsd has settled a stall, then let it pass: stories flow again."""
    run.flowing(f"losing EndTxn ({mode})")
    gate.arm(mode)
    try:
        # a commit call times out after 30 s; it is then past the transaction timeout
        wait_for(lambda: (run.metric("newsd_kafka_commit_stalls_total") or 0) > stalls_before, 90,
                 f"a stalled commit settled (EndTxn {mode} lost {gate.lost} times)")
    finally:
        gate.disarm()
    run.committing_again(f"losing EndTxn ({mode})", 60)


def test_end_txn_lost(tmp_path, feed_server, run_daemon):
    bdir = str(tmp_path / "kafka")
    gate_port = free_port()
    gate = EndTxnGate(gate_port, bdir)
    run = None
    try:
        start_broker(bdir, env=dict(os.environ, BROKER_ADVERTISED_PORT=str(gate_port)))
        # the broker tells every client to come through the gate
        run = Running(feed_server, run_daemon, f"127.0.0.1:{gate_port}", "endtxn")
        lose_end_txn(gate, "answer", run, 0)
        lose_end_txn(gate, "request", run, 1)
        assert run.metric("newsd_kafka_commit_stalls_total") == 2
        logs = run.finish()
        msgs = [l.get("msg", "") for l in logs if l.get("level") == "warn" and l.get("module") == "publish"]
        print("\n".join(m for m in msgs if "stalled" in m or "aborted" in m))
        committed = [m for m in msgs if "stalled in librdkafka" in m and "had committed" in m]
        redone = [m for m in msgs if "aborted" in m and "will be redone" in m]
        assert len(committed) == 1, msgs
        assert len(redone) >= 1, msgs
    finally:
        if run:
            run.close()
        gate.close()
        stop_broker(bdir)
