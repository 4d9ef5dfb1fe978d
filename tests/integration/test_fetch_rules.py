"""The fetch rules, each against a loopback server that records every request: conditional GET sent
and honoured, backoff and Retry-After and freshness hints obeyed (gaps measured from the server's own
request log), the per-host limit held, only new items emitted, gzip/deflate, redirects, proxies from
the environment, per-feed headers with secrets from the environment (never logged), full text."""
import gzip
import json
import time
import zlib

from conftest import (feed_errors, fetch_config, rss, rss_bytes, wait_for)

# Scheduling has +-10% jitter; the loop and the test server add some latency on top.
SLACK = 0.45


def gaps(log):
    return [b[0] - a[0] for a, b in zip(log, log[1:])]


def test_conditional_get_sent_only_when_given_and_honoured(brokers, topics, script_server,
                                                           run_daemon, reader):
    srv = script_server()
    body = rss_bytes(2, prefix="c")
    srv.static("/etag.xml", body, {"Content-Type": "application/rss+xml", "ETag": '"e1"'})

    def lm_route(h):
        if h.headers.get("If-Modified-Since") == "Sat, 28 Nov 2026 10:00:00 GMT":
            h.send_response(304)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        b = rss_bytes(2, prefix="l")
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Last-Modified", "Sat, 28 Nov 2026 10:00:00 GMT")
        h.send_header("Content-Length", str(len(b)))
        h.end_headers()
        h.wfile.write(b)
    srv.route("/lm.xml", lm_route)
    # A server that ignores conditional GET: same bytes every time, no validators.
    srv.static("/none.xml", rss_bytes(2, prefix="n"), {"Content-Type": "application/rss+xml"})

    daemon = run_daemon(fetch_config(brokers, topics, [
        {"id": "etag", "url": srv.url("/etag.xml")},
        {"id": "lm", "url": srv.url("/lm.xml")},
        {"id": "none", "url": srv.url("/none.xml")},
    ]))
    r = reader(topics["stories"])
    wait_for(lambda: all(len(srv.log(p)) >= 4 for p in ("/etag.xml", "/lm.xml", "/none.xml")), 30,
             "four polls of each feed")
    etag, lm, none = (srv.log(p) for p in ("/etag.xml", "/lm.xml", "/none.xml"))
    # The first request of each has no validator; each later one carries exactly what it was given.
    for log in (etag, lm, none):
        assert "If-None-Match" not in log[0][1] and "If-Modified-Since" not in log[0][1]
    assert all(h.get("If-None-Match") == '"e1"' and "If-Modified-Since" not in h for _, h in etag[1:])
    assert all(h.get("If-Modified-Since") == "Sat, 28 Nov 2026 10:00:00 GMT" and "If-None-Match" not in h
               for _, h in lm[1:])
    assert all("If-None-Match" not in h and "If-Modified-Since" not in h for _, h in none)
    # Six distinct items, each once, however many polls.
    r.wait_count(6, 60)
    r.poll(2)
    guids = sorted(json.loads(m.value())["provenance"]["guid"] for m in r.records)
    assert guids == ["c0", "c1", "l0", "l1", "n0", "n1"]
    assert daemon.stop() == 0


def test_backoff_doubles_to_cap_then_resets(brokers, topics, script_server, run_daemon):
    srv = script_server()
    state = {"fail": True}

    def route(h):
        if state["fail"]:
            h.send_response(500)
            h.send_header("Content-Length", "0")
            h.end_headers()
        else:
            b = rss_bytes(1)
            h.send_response(200)
            h.send_header("Content-Length", str(len(b)))
            h.end_headers()
            h.wfile.write(b)
    srv.route("/f.xml", route)
    daemon = run_daemon(fetch_config(brokers, topics, [{"id": "f", "url": srv.url("/f.xml")}],
                                     {"backoff_max_s": 4}))
    wait_for(lambda: len(srv.log("/f.xml")) >= 5, 40, "five failing polls")
    g = gaps(srv.log("/f.xml"))[:4]
    # interval 1 s: 2x, 4x, then the 4 s cap
    for got, want in zip(g, [2, 4, 4, 4]):
        assert want * 0.9 - 0.05 <= got <= want * 1.1 + SLACK, f"gaps {g}"
    assert len(feed_errors(daemon, "f", "http_5xx")) >= 4
    # success resets the backoff to the plain interval
    state["fail"] = False
    n = len(srv.log("/f.xml"))
    wait_for(lambda: len(srv.log("/f.xml")) >= n + 4, 30, "polls after recovery")
    g = gaps(srv.log("/f.xml")[n:])
    assert all(0.9 - 0.05 <= x <= 1.1 + SLACK for x in g), f"gaps after recovery {g}"
    assert daemon.stop() == 0


def test_retry_after_obeyed(brokers, topics, script_server, run_daemon):
    srv = script_server()

    def busy(h):
        h.send_response(503)
        h.send_header("Retry-After", "3")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def limited(h):
        # an HTTP date 3 s after the server's own Date
        now = time.time()
        fmt = "%a, %d %b %Y %H:%M:%S GMT"
        h.send_response(429)
        h.send_header("Date", time.strftime(fmt, time.gmtime(now)))
        h.send_header("Retry-After", time.strftime(fmt, time.gmtime(now + 3)))
        h.send_header("Content-Length", "0")
        h.end_headers()
    srv.route("/busy.xml", busy)
    srv.route("/limited.xml", limited)
    daemon = run_daemon(fetch_config(brokers, topics, [
        {"id": "busy", "url": srv.url("/busy.xml")},
        {"id": "limited", "url": srv.url("/limited.xml")},
    ], {"backoff_max_s": 60}))
    wait_for(lambda: len(srv.log("/busy.xml")) >= 3 and len(srv.log("/limited.xml")) >= 3, 40,
             "three polls of each")
    # Backoff alone would give 2 s then 4 s; Retry-After: 3 makes the first gap at least 3 s.
    gb = gaps(srv.log("/busy.xml"))
    assert 3.0 - 0.05 <= gb[0] <= 3.3 + SLACK, f"busy gaps {gb}"
    assert 4 * 0.9 - 0.05 <= gb[1] <= 4.4 + SLACK, f"busy gaps {gb}"
    gl = gaps(srv.log("/limited.xml"))
    # the date has one-second resolution, so 2..3 s after the request plus jitter
    assert 2.0 <= gl[0] <= 3.3 + SLACK, f"limited gaps {gl}"
    assert feed_errors(daemon, "limited", "rate_limited")
    assert feed_errors(daemon, "busy", "http_5xx")
    assert daemon.stop() == 0


def test_freshness_hints_within_bounds(brokers, topics, script_server, run_daemon):
    srv = script_server()
    srv.static("/maxage.xml", rss_bytes(1, prefix="m"),
               {"Content-Type": "application/rss+xml", "Cache-Control": "public, max-age=3"})
    srv.static("/huge.xml", rss_bytes(1, prefix="h"),
               {"Content-Type": "application/rss+xml", "Cache-Control": "max-age=86400"})
    srv.static("/ttl.xml", rss([{"guid": "t", "title": "T", "description": "x"}], ttl=1).encode())
    daemon = run_daemon(fetch_config(brokers, topics, [
        {"id": "maxage", "url": srv.url("/maxage.xml")},
        {"id": "huge", "url": srv.url("/huge.xml")},
        {"id": "ttl", "url": srv.url("/ttl.xml")},
    ], {"max_interval_s": 2}))
    wait_for(lambda: len(srv.log("/maxage.xml")) >= 3 and len(srv.log("/huge.xml")) >= 3
             and len(srv.log("/ttl.xml")) >= 2, 40, "polls of each")
    # max-age=3 lengthens the 1 s interval to 3 s, but fetch.max_interval_s=2 bounds it: 2 s
    for p in ("/maxage.xml", "/huge.xml"):
        g = gaps(srv.log(p))
        assert all(1.8 - 0.05 <= x <= 2.2 + SLACK for x in g), f"{p} gaps {g}"
    # <ttl>1</ttl> is one minute: bounded to 2 s as well
    g = gaps(srv.log("/ttl.xml"))
    assert all(1.8 - 0.05 <= x <= 2.2 + SLACK for x in g), f"ttl gaps {g}"
    assert daemon.stop() == 0


def test_per_host_limit_held(brokers, topics, script_server, run_daemon):
    srv = script_server()

    def slow(h):
        time.sleep(0.4)  # the server is slow; the daemon must not pile on
        b = rss_bytes(1, prefix=h.path.strip("/").replace(".", ""))
        h.send_response(200)
        h.send_header("Content-Length", str(len(b)))
        h.end_headers()
        h.wfile.write(b)
    feeds = []
    for i in range(8):
        srv.route(f"/s{i}.xml", slow)
        feeds.append({"id": f"s{i}", "url": srv.url(f"/s{i}.xml")})
    daemon = run_daemon(fetch_config(brokers, topics, feeds, {"per_host": 2, "max_parallel": 64}))
    wait_for(lambda: all(len(srv.log(f"/s{i}.xml")) >= 3 for i in range(8)), 60,
             "three polls of each of the eight feeds")
    assert srv.max_active == 2, f"at most 2 at once on one host, saw {srv.max_active}"
    assert daemon.stop() == 0


def test_gzip_deflate_and_one_redirect(brokers, topics, script_server, run_daemon, reader):
    srv = script_server()

    def encoded(enc, prefix):
        def fn(h):
            assert enc in h.headers.get("Accept-Encoding", "")
            raw = rss_bytes(1, prefix=prefix)
            b = gzip.compress(raw) if enc == "gzip" else zlib.compress(raw)
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Encoding", enc)
            h.send_header("Content-Length", str(len(b)))
            h.end_headers()
            h.wfile.write(b)
        return fn
    srv.route("/gz.xml", encoded("gzip", "gz"))
    srv.route("/df.xml", encoded("deflate", "df"))

    def moved(h):
        h.send_response(301)
        h.send_header("Location", "/target.xml")
        h.send_header("Content-Length", "0")
        h.end_headers()
    srv.route("/moved.xml", moved)
    srv.static("/target.xml", rss_bytes(1, prefix="rd"))
    daemon = run_daemon(fetch_config(brokers, topics, [
        {"id": "gz", "url": srv.url("/gz.xml")},
        {"id": "df", "url": srv.url("/df.xml")},
        {"id": "moved", "url": srv.url("/moved.xml")},
    ]))
    r = reader(topics["stories"])
    r.wait_count(3, 60)
    guids = sorted(json.loads(m.value())["provenance"]["guid"] for m in r.records)
    assert guids == ["df0", "gz0", "rd0"]
    assert not feed_errors(daemon, "gz") and not feed_errors(daemon, "df")
    assert daemon.stop() == 0


def test_proxy_from_environment(brokers, topics, script_server, run_daemon, reader):
    proxy = script_server()
    seen = []

    def via_proxy(h):
        seen.append((h.path, h.headers.get("Host")))
        b = rss_bytes(1, prefix="px")
        h.send_response(200)
        h.send_header("Content-Length", str(len(b)))
        h.end_headers()
        h.wfile.write(b)
    # A proxy sees the absolute URI; the host exists only behind it.
    target = "http://feeds.proxied.test/feed.xml"
    proxy.route(target, via_proxy)
    daemon = run_daemon(fetch_config(brokers, topics, [{"id": "px", "url": target}]),
                        env={"http_proxy": f"http://127.0.0.1:{proxy.port}", "no_proxy": ""})
    r = reader(topics["stories"])
    r.wait_count(1, 60)
    assert seen[0] == (target, "feeds.proxied.test")
    assert json.loads(r.records[0].value())["provenance"]["guid"] == "px0"
    assert daemon.stop() == 0


def test_feed_headers_secret_from_environment_never_logged(brokers, topics, script_server, run_daemon):
    srv = script_server()
    secret = "sk-test-4f9a8c7e1d2b"
    srv.static("/api.xml", rss_bytes(1, prefix="api"))
    srv.static("/q.xml", rss_bytes(1, prefix="q"))
    srv.static("/long.xml", rss_bytes(1, prefix="long"))
    # a name past the 127 bytes newsd takes must not be cut to another variable that is set
    prefix = "NEWSD_TEST_" + "P" * 116
    daemon = run_daemon(fetch_config(brokers, topics, [
        {"id": "api", "url": srv.url("/api.xml"),
         "headers": {"Authorization": "Bearer ${NEWSD_TEST_API_KEY}", "X-Desk": "foreign"}},
        {"id": "missing", "url": srv.url("/q.xml"), "headers": {"X-Key": "${NEWSD_TEST_UNSET_VAR}"}},
        {"id": "longname", "url": srv.url("/long.xml"), "headers": {"X-Key": "${" + prefix + "XYZ}"}},
    ]), env={"NEWSD_TEST_API_KEY": secret, prefix: "another-variable"})
    wait_for(lambda: len(srv.log("/api.xml")) >= 2, 30, "two polls of the API feed")
    wait_for(lambda: feed_errors(daemon, "missing", "config"), 30, "the unset variable reported")
    wait_for(lambda: feed_errors(daemon, "longname", "config"), 30, "the long variable name reported")
    assert not srv.log("/long.xml")
    assert "is too long" in feed_errors(daemon, "longname", "config")[0]["msg"]
    h = srv.log("/api.xml")[0][1]
    assert h["Authorization"] == f"Bearer {secret}" and h["X-Desk"] == "foreign"
    # a feed whose variable is unset is not polled at all, and says which variable
    assert not srv.log("/q.xml")
    assert "NEWSD_TEST_UNSET_VAR" in feed_errors(daemon, "missing", "config")[0]["msg"]
    assert daemon.stop() == 0
    with open(daemon.log_path) as f:
        assert secret not in f.read()


def test_fulltext_fetches_article_page(brokers, topics, script_server, run_daemon, reader):
    srv = script_server()
    article = ("<html><head><title>x</title></head><body><nav>Home | World</nav>"
               "<article><p>GENEVA (Wire) - The full article text about the ministers is here.</p>"
               "<p>Second paragraph of the article.</p></article></body></html>")
    srv.static("/a1.html", article, {"Content-Type": "text/html"})
    feed = rss([{"guid": "ft1", "title": "Ministers meet", "link": srv.url("/a1.html"),
                 "description": "Short summary."},
                {"guid": "ft2", "title": "Gone", "link": srv.url("/missing.html"),
                 "description": "Only a summary survives."}])
    srv.static("/ft.xml", feed)
    daemon = run_daemon(fetch_config(brokers, topics, [
        {"id": "ft", "url": srv.url("/ft.xml"), "fulltext": True, "interval_s": 60}]))
    r = reader(topics["stories"])
    r.wait_count(2, 60)
    docs = {json.loads(m.value())["provenance"]["guid"]: json.loads(m.value()) for m in r.records}
    assert "Second paragraph of the article." in docs["ft1"]["body_text"]
    # the article page that failed still lets the item through with its summary
    assert "Only a summary survives." in docs["ft2"]["body_text"]
    assert feed_errors(daemon, "ft", "article")
    assert len(srv.log("/a1.html")) == 1
    assert daemon.stop() == 0
