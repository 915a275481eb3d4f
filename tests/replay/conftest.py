"""pytest options and the server of the replay server's tests (test_bounded_misses.py, test_soak.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

BUNDLE = Path(__file__).resolve().parents[2] / "scenarios" / "dagster-fixture" / "bundle"


def pytest_addoption(parser):
    parser.addoption("--day2", action="store", default=None, help="path to the day2 binary under test")


@pytest.fixture(scope="module")
def server(request):
    """`day2 replay serve` of the fixture's recorded night on 127.0.0.1 (plus the test module's
    REPLAY_FLAGS): (process, port); SIGTERMed at the end of the module."""
    day2 = request.config.getoption("--day2")
    if not day2:
        pytest.fail("--day2 PATH is required")
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        # Under AddressSanitizer (the asan build) freed memory waits in ASan's quarantine, 256 MB by
        # default, by design: the bound is of day2's own memory, so the quarantine is turned off.
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    flags = list(getattr(request.module, "REPLAY_FLAGS", []))
    proc = subprocess.Popen([day2, "replay", "serve", str(BUNDLE), "--host", "127.0.0.1", "--port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, stdin=subprocess.DEVNULL,
                            env=env)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, f"no address in {line!r}"
        yield proc, int(match.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def rss():
    """rss(pid): the process's resident set size in bytes (/proc/PID/status VmRSS)."""
    def rss_bytes(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")
    return rss_bytes
