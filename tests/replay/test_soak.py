"""A bounded soak of `day2 replay serve`: for DAY2_SOAK_SECONDS (default 20) recorded requests replay
on keep-alive connections while other clients send hostile HTTP (garbage, huge headers, absurd
lengths, invalid UTF-8, bad chunks, unknown methods, compressed bodies, the number that crashed
RapidJSON's strtod), unmatched requests with 2 MB bodies, and bodies that stall half-way (40
connections held open throughout). Checked all along: every recorded request gets its recorded answer,
the health endpoint answers within 5 s, once a second, /__day2/report is strict JSON; at the end the
server's RSS has grown by less than 200 MB over its warmed-up size and it answers the next request.
Run: pytest tests/replay/test_soak.py --day2 PATH (ctest replay_soak). The server binds 127.0.0.1 and
every thread stops by itself at the deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "scenarios" / "dagster-fixture" / "bundle"
SECONDS = float(os.environ.get("DAY2_SOAK_SECONDS", "20"))
STALLED = 40
RSS_GROWTH_LIMIT = 200 * 1024 * 1024

NUMBER_BODY = b'{"query": "query Q { q }", "variables": {"x": 0.' + b"0" * 50 + b'27E-326}}'
HOSTILE = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
    b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n",
    b"GET /\xff\xfe/\xc3 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnot a chunk\r\n\r\n",
    b"BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
    b"GET /__day2/nothing HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
    % (len(NUMBER_BODY), NUMBER_BODY),
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS ClientHello to a plain port
]


REPLAY_FLAGS = ["--repeat"]  # the server fixture (conftest.py): recorded requests may repeat


def recorded_graphql() -> list[tuple[bytes, object]]:
    """Every recorded GraphQL request of the bundle with its recorded answer."""
    out = []
    for path in sorted((BUNDLE / "exchanges").glob("*.json")):
        exchange = json.loads(path.read_text())
        graphql = exchange["request"].get("graphql")
        if graphql and exchange["response"]["status"] == 200:
            out.append((json.dumps(graphql).encode(), exchange["response"].get("body")))
    return out


class Soak:
    def __init__(self, port: int) -> None:
        self.port = port
        self.deadline = time.monotonic() + SECONDS
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.counts = {"recorded": 0, "hostile": 0, "large misses": 0, "health": 0, "reports": 0}

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 20:
                self.problems.append(text)

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def recorded(self) -> None:
        requests = recorded_graphql()
        conn = self.connection()
        i = 0
        while self.running():
            body, expected = requests[i % len(requests)]
            i += 1
            try:
                conn.request("POST", "/graphql", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.problem(f"a recorded request failed: {error!r}")
                conn.close()
                conn = self.connection()
                continue
            if response.status != 200 or json.loads(answer) != expected:
                self.problem(f"a recorded request got {response.status} {answer[:200]!r}")
            else:
                self.count("recorded")
        conn.close()

    def hostile(self) -> None:
        i = 0
        while self.running():
            payload = HOSTILE[i % len(HOSTILE)]
            i += 1
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    head = s.recv(64)
                if head and not re.match(rb"HTTP/1\.[01] [2-5]\d\d ", head):
                    self.problem(f"hostile payload {i % len(HOSTILE)} got {head!r}")
            except OSError:
                pass  # a refused or reset connection is an answer too; the health checks see a dead server
            self.count("hostile")

    def large_misses(self) -> None:
        n = 0
        while self.running():
            n += 1
            body = b'{"query": "query Miss { miss }", "variables": {"n": %d, "pad": "%s"}}' % (n, b"x" * (2 << 20))
            conn = self.connection(timeout=30)
            try:
                conn.request("POST", "/graphql", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
                if response.status not in (200, 400) or len(answer) > 64 * 1024:
                    self.problem(f"a large miss got {response.status} with {len(answer)} bytes")
                self.count("large misses")
            except (OSError, http.client.HTTPException) as error:
                self.problem(f"a large miss failed: {error!r}")
            finally:
                conn.close()
            time.sleep(0.2)

    def monitor(self, proc: subprocess.Popen, samples: list[int], rss) -> None:
        while self.running():
            started = time.monotonic()
            try:
                conn = self.connection(timeout=5)
                conn.request("GET", "/__day2/health")
                status = conn.getresponse().status
                conn.close()
                if status != 200:
                    self.problem(f"health answered {status}")
                else:
                    self.count("health")
                conn = self.connection(timeout=10)
                conn.request("GET", "/__day2/report")
                text = conn.getresponse().read()
                conn.close()
                json.loads(text.decode("utf-8"))  # strict: invalid UTF-8 or JSON raises
                self.count("reports")
            except (OSError, http.client.HTTPException, ValueError) as error:
                self.problem(f"health or report failed: {error!r}")
            samples.append(rss(proc.pid))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def stall(port: int) -> list[socket.socket]:
    """Connections that send their headers and 10 bytes of a 100000-byte body, then nothing."""
    held = []
    for _ in range(STALLED):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n{\"query\":")
        held.append(s)
    return held


def test_the_server_keeps_answering_under_hostile_load(server, rss):
    proc, port = server
    warm = Soak(port)
    warm.deadline = time.monotonic() + 1.0
    warm.recorded()  # a second of normal load first: the baseline is a warmed-up server
    baseline = rss(proc.pid)

    held = stall(port)
    soak = Soak(port)
    samples: list[int] = []
    threads = [threading.Thread(target=soak.recorded), threading.Thread(target=soak.recorded),
               threading.Thread(target=soak.hostile), threading.Thread(target=soak.large_misses),
               threading.Thread(target=soak.monitor, args=(proc, samples, rss))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 60)
    for s in held:
        s.close()
    assert not any(t.is_alive() for t in threads), "a soak thread did not stop"
    assert proc.poll() is None, f"the server exited ({proc.returncode})"

    peak = max(samples) if samples else rss(proc.pid)
    print(f"soak {SECONDS:.0f} s: {soak.counts}; RSS {baseline / 2**20:.0f} MB warmed up, "
          f"{peak / 2**20:.0f} MB peak")
    assert soak.problems == []
    assert soak.counts["recorded"] >= 50 and soak.counts["hostile"] >= 20 and soak.counts["large misses"] >= 5
    assert soak.counts["health"] >= SECONDS // 2 and soak.counts["reports"] == soak.counts["health"]
    assert peak - baseline < RSS_GROWTH_LIMIT, f"RSS grew by {(peak - baseline) / 2**20:.0f} MB"

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body, expected = recorded_graphql()[0]
    conn.request("POST", "/graphql", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read()) == expected, "the next request is answered"
    conn.close()
