"""pytest options and shared fixtures for the real-Dagster tests (test_collect.py)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

STATE_DIR = Path(os.environ.get("DAY2_FIXTURE_DIR", "/tmp/day2-dagster-fixture"))


def pytest_addoption(parser):
    parser.addoption("--day2", action="store", default=None, help="path to the day2 binary under test")
    parser.addoption("--dagster-venv", action="store", default=None,
                     help="test_releases.py: a virtual environment with the Dagster release to test against")


@pytest.fixture(scope="session")
def day2_bin(request) -> str:
    path = request.config.getoption("--day2")
    if not path:
        pytest.fail("--day2 PATH (the day2 binary) is required")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"--day2 {path}: not an executable file")
    return path


@pytest.fixture(scope="session")
def expected() -> dict:
    """The fixture's oracle, written by `fixture.py start` (the ctest fixture dagster_fixture_start)."""
    path = STATE_DIR / "expected.json"
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the Dagster fixture is not running. Start it with "
            f"`.venv/bin/python tests/dagster/fixture.py start` (ctest runs it as dagster_fixture_start)."
        )
    exp = json.loads(path.read_text())
    body = json.dumps({"query": "{ version }"}).encode()
    req = urllib.request.Request(exp["url"], data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            json.loads(resp.read())["data"]["version"]
    except Exception as e:  # noqa: BLE001 - any failure means the recorded fixture is gone
        pytest.fail(f"the fixture recorded in {path} does not answer at {exp['url']} ({e}); "
                    f"restart it with `fixture.py stop && fixture.py start`")
    return exp
