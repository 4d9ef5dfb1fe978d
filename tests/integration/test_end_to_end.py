"""One story end to end: a loopback RSS feed, the daemon, a real Kafka broker, and a consumer that
checks every record: count, keys, fields, CloudEvents headers. Then one new item makes exactly one
new record."""
import json

from conftest import base_config, rss, wait_for

ITEMS = [
    {"guid": "g-1", "title": "Ministers meet in Geneva", "link": "http://example.org/1?utm_source=rss",
     "pubDate": "Sat, 28 Nov 2026 09:12:00 GMT", "author": "Jane Roe",
     "description": "<p>GENEVA (Test Wire) - Foreign ministers met on Saturday.</p>"
                    "<p>(Reporting by Jane Roe; Editing by Max Moe)</p>"},
    {"guid": "g-2", "title": "Talks on trade", "link": "http://example.org/2",
     "pubDate": "Sat, 28 Nov 2026 10:00:00 +0100",
     "description": "BEIJING - Trade officials held talks."},
    {"guid": "g-3", "title": "No date here", "link": "http://example.org/3",
     "description": "Plain text body."},
]


def headers_of(msg):
    return {k: v.decode() for k, v in (msg.headers() or [])}


def test_feed_to_kafka(brokers, topics, feed_server, run_daemon, reader):
    feed_server.set("/feed.xml", rss(ITEMS), {"Content-Type": "application/rss+xml", "ETag": '"v1"'})
    feed_server.set("/broken.xml", "this is not a feed", {"Content-Type": "text/html"})
    cfg = base_config(brokers, topics, [
        {"id": "wire", "url": feed_server.url("/feed.xml")},
        {"id": "broken", "url": feed_server.url("/broken.xml")},
        {"id": "down", "url": "http://127.0.0.1:9/feed.xml"},
    ])
    daemon = run_daemon(cfg)
    r = reader(topics["stories"])
    records = r.wait_count(3, 60)

    docs = {}
    for m in records:
        doc = json.loads(m.value())
        key = m.key().decode()
        assert key == doc["id"], "records are keyed by story id"
        h = headers_of(m)
        assert h["ce_specversion"] == "1.0"
        assert h["ce_type"] == "io.newsd.story.v1"
        assert h["ce_source"] == "/newsd/feeds/wire"
        assert h["ce_id"] == f"{doc['id']}-v1"
        assert h["content-type"] == "application/json"
        assert h["ce_time"].endswith("Z")
        docs[doc["provenance"]["guid"]] = doc
    assert sorted(docs) == ["g-1", "g-2", "g-3"]

    d1 = docs["g-1"]
    assert d1["headline"] == "Ministers meet in Geneva"
    assert d1["byline"] == "Jane Roe"
    assert d1["located"] == "GENEVA"
    assert d1["body_text"] == "Foreign ministers met on Saturday."
    assert d1["creditline"] == "(Reporting by Jane Roe; Editing by Max Moe)"
    assert d1["firstcreated"] == "2026-11-28T09:12:00Z"
    assert d1["uri"] == f"urn:newsd:story:{d1['id']}"
    assert d1["version"] == 1 and d1["pubstatus"] == "usable"
    assert d1["provenance"]["feed"] == "wire"
    assert d1["links"][0]["href"] == "http://example.org/1?utm_source=rss"
    assert docs["g-2"]["firstcreated"] == "2026-11-28T09:00:00Z"  # +0100 converted to UTC
    assert docs["g-2"]["located"] == "BEIJING"
    assert "firstcreated" in docs["g-3"]  # falls back to fetch time
    assert docs["g-3"]["provenance"]["published_at_missing"]

    # The second poll sends the ETag back and costs a 304.
    wait_for(lambda: any(h.get("If-None-Match") == '"v1"' for h in feed_server.requests_for("/feed.xml")),
             30, "a conditional GET with the ETag")

    # One new item: exactly one new record.
    feed_server.set("/feed.xml", rss([{"guid": "g-4", "title": "New development",
                                       "description": "LONDON (Test Wire) - Something new."}] + ITEMS),
                    {"Content-Type": "application/rss+xml", "ETag": '"v2"'})
    records = r.wait_count(4, 60)
    r.poll(3)  # anything extra would show up now
    assert len(r.records) == 4
    new = json.loads(r.records[3].value())
    assert new["provenance"]["guid"] == "g-4" and new["located"] == "LONDON"

    # The broken and unreachable feeds were reported, by name and reason, and did not stop the others.
    logs = daemon.log_lines()
    assert any(l.get("feed") == "broken" and l.get("reason") == "parse" for l in logs)
    assert any(l.get("feed") == "down" and l.get("reason") == "connect" for l in logs)
    assert daemon.stop() == 0
