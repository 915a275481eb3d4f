"""Helpers shared by the real-Dagster tests (test_collect.py, test_replay.py, mini_instance.py)."""

from __future__ import annotations

import os
import signal
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


def stop_process_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group we started (pgid == proc.pid), bounded wait, then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # stragglers of the group (code server children)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
