"""Kafka as a source: raw stories (ninjs and plain JSON story objects) produced to a topic are consumed
by newsd as a consumer group and come out enriched on the stories topic, through a queue of one slot
(backpressure, no loss). A record that is not a story goes to the dead-letter topic with the error,
source and stage in headers, and the records after it still flow. Offsets are committed in the same
transaction as the stories, so a restart in the same group reads only what is new, exactly once."""
import json
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import fetch_config, rss_bytes, wait_for


def test_raw_stories_from_kafka(brokers, topics, script_server, run_daemon, reader):
    raw = f"t{uuid.uuid4().hex[:8]}.raw.stories"
    admin = AdminClient({"bootstrap.servers": brokers})
    for fut in admin.create_topics([NewTopic(raw, num_partitions=2, replication_factor=1)]).values():
        fut.result(30)
    p = Producer({"bootstrap.servers": brokers})
    for i in range(20):
        if i % 2:
            doc = {"uri": f"urn:wire:{i}", "headline": f"Wire story {i}", "version": 1,
                   "body_text": f"WASHINGTON (Wire) - The Secretary of State met counterparts, item {i}.",
                   "firstcreated": "2026-11-28T09:00:00Z", "language": "en"}
        else:
            doc = {"guid": f"plain-{i}", "headline": f"Plain story {i}",
                   "body_text": f"Plain JSON story number {i}.", "source": "partner-feed"}
        p.produce(raw, key=str(i), value=json.dumps(doc))
    p.produce(raw, key="bad", value=b"{not json")
    p.produce(raw, key="nobody", value=json.dumps({"headline": "no body"}))
    p.flush(30)

    srv = script_server()
    srv.static("/control.xml", rss_bytes(1, prefix="ctl"))
    cfg = fetch_config(brokers, topics, [{"id": "control", "url": srv.url("/control.xml"), "interval_s": 60}],
                       extra=f"consume:\n  topics: {raw}\n  group_id: g-{uuid.uuid4().hex[:8]}\n"
                             "pipeline:\n  queue_capacity: 1\n")
    daemon = run_daemon(cfg)
    r = reader(topics["stories"])
    r.wait_count(21, 90)
    r.poll(2)
    assert len(r.records) == 21
    docs = [json.loads(m.value()) for m in r.records]
    heads = sorted(d["headline"] for d in docs)
    assert heads == sorted([f"Wire story {i}" for i in range(1, 20, 2)] +
                           [f"Plain story {i}" for i in range(0, 20, 2)] + ["Item 0"])
    wire = next(d for d in docs if d["headline"] == "Wire story 1")
    assert wire["provenance"]["feed"] == f"kafka/{raw}"
    assert wire["firstcreated"] == "2026-11-28T09:00:00Z"
    plain = next(d for d in docs if d["headline"] == "Plain story 0")
    assert plain["provenance"]["feed"] == "partner-feed"
    assert len({d["id"] for d in docs}) == 21
    dl = reader(topics["deadletter"]).wait_count(2, 30)
    bad = {m.value(): {k: v.decode() for k, v in m.headers()} for m in dl}
    assert set(bad) == {b"{not json", json.dumps({"headline": "no body"}).encode()}
    for h in bad.values():
        assert h["newsd_stage"] == "consume" and h["newsd_source"] == raw
        assert h["ce_type"] == "io.newsd.deadletter.v1" and h["newsd_error"]
    assert "not JSON" in bad[b"{not json"]["newsd_error"]
    assert daemon.stop() == 0

    # Same group again: only the one new record is read. (The control feed's item comes again: feed
    # state is restored from Kafka by the publish stage, not here.)
    p.produce(raw, key="late", value=json.dumps({"guid": "late", "headline": "Late story",
                                                 "body_text": "Arrived after the restart."}))
    p.flush(30)
    daemon = run_daemon(cfg)
    def from_kafka():
        return [json.loads(m.value()) for m in r.poll(0.2) if json.loads(m.value())["provenance"]["feed"] != "control"]
    wait_for(lambda: len(from_kafka()) >= 21, 90, "the late story")
    r.poll(3)
    assert [d["headline"] for d in from_kafka()][20:] == ["Late story"]
    # exactly once across the restart: no story twice, no dead letter twice
    assert len({m.key() for m in r.records}) == len(r.records)
    d2 = reader(topics["deadletter"])
    d2.wait_count(2, 10)
    d2.poll(2)
    assert len(d2.records) == 2
    assert daemon.stop() == 0
