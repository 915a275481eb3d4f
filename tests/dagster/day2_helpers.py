"""Helpers shared by the real-Dagster tests (test_collect.py, test_replay.py)."""

from __future__ import annotations

import socket
import subprocess

import pytest

DAY2_TIMEOUT = 300  # seconds, per day2 command


def run_day2(args: list[str], timeout: float = DAY2_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs a day2 command with captured output; a command that hangs fails the test."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(args)} did not finish within {timeout}s\nstderr:\n{e.stderr}")


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
