"""Real records, consumed from the real broker, validate against schemas/*.json."""
import json
import os

import jsonschema

from conftest import base_config, rss

SCHEMAS = os.path.join(os.environ.get("NEWSD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../..")), "schemas")


def schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def test_published_records_match_schemas(brokers, topics, feed_server, run_daemon, reader):
    items = [{"guid": f"s-{i}", "title": f"Talks {i}", "link": f"http://example.org/{i}",
              "pubDate": "Sat, 28 Nov 2026 09:12:00 GMT", "author": "Jane Roe",
              "description": "BRUSSELS (Test Wire) - EU foreign ministers agreed sanctions on Russia."}
             for i in range(5)] + [{"title": "No guid, no date", "link": "http://example.org/x?utm_source=a",
                                    "description": "Plain."}]
    feed_server.set("/s.xml", rss(items), {"Content-Type": "application/rss+xml", "ETag": '"e1"'})
    d = run_daemon(base_config(brokers, topics, [{"id": "sch", "url": feed_server.url("/s.xml")}]))
    stories = reader(topics["stories"]).wait_count(6, 60)
    states = reader(topics["state"]).wait_count(1, 30)
    story_v = schema("story.v1.json")
    for m in stories:
        story_v.validate(json.loads(m.value()))
    state_v = schema("feedstate.v1.json")
    for m in states:
        doc = json.loads(m.value())
        state_v.validate(doc)
        assert m.key().decode() == "sch" == doc["feed"]
        assert doc["state"]["etag"] == '"e1"'
        assert len(doc["state"]["ids"]) == 6
    ev = reader(topics["events"])
    ev.poll(1)
    event_v = schema("event.v1.json")
    for m in ev.records:
        event_v.validate(json.loads(m.value()))
    assert d.stop() == 0
