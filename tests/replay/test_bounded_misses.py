"""`day2 replay serve` keeps what it learns of misses bounded: 30 unmatched requests of 5 MB each
(bodies holding bytes that are not UTF-8) grow its RSS by less than 50 MB, every one is answered in
the API's shape, /__day2/report stays valid JSON that counts them all, and the server answers a
recorded request afterwards. Run: pytest tests/replay/test_bounded_misses.py --day2 PATH (ctest
replay_bounded_misses, about 10 s). The server binds 127.0.0.1 and is killed at the end.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "scenarios" / "dagster-fixture" / "bundle"
MISSES = 30
BODY_BYTES = 5 * 1024 * 1024


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_misses_of_large_bodies_stay_bounded(server, rss):
    proc, port = server
    status, _ = request(port, "GET", "/__day2/health")
    assert status == 200
    before = rss(proc.pid)
    for i in range(MISSES):
        filler = (b"\xff\xfe not utf-8 \xc3" * (BODY_BYTES // 16))[:BODY_BYTES]
        body = b'{"operationName": "Version", "query": "query Version { version }", "variables": {"n": %d}, "x": "' % i
        body += filler.replace(b'"', b" ").replace(b"\\", b" ") + b'"}'
        status, answer = request(port, "POST", "/graphql", body)
        assert status in (200, 400), answer[:300]
        assert len(answer) < 64 * 1024, f"the answer echoes {len(answer)} bytes"
    grown = rss(proc.pid) - before
    assert grown < 50 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MB"

    status, text = request(port, "GET", "/__day2/report")
    assert status == 200
    report = json.loads(text.decode("utf-8"))  # strict: invalid UTF-8 would raise
    assert report["missCount"] == MISSES
    assert len(report["misses"]) == MISSES
    assert all(len(m.encode()) < 2048 for m in report["misses"])
    assert len(text) < 256 * 1024

    exchange = json.loads((BUNDLE / "exchanges" / "0001.json").read_text())
    status, answer = request(port, "POST", "/graphql", json.dumps(exchange["request"]["graphql"]).encode())
    assert status == 200 and json.loads(answer) == exchange["response"]["body"], "the next request is answered as recorded"
