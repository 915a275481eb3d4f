#!/usr/bin/env python3
"""Re-records tests/data/bundles/investigate/ from the running Dagster fixture.

  .venv/bin/python tests/data/bundles/investigate/record.py --day2 build/dev/day2

Puts `day2 record` (the recording proxy) in front of the fixture (start it first:
`.venv/bin/python tests/dagster/fixture.py start`), runs every investigation command the unit tests
replay (tests/unit/analyzer/investigate_test.cpp) through it, and writes
  bundle/     the scenario bundle (every exchange, redacted)
  runs.json   purpose -> run id of the fixture's runs, the recorded now and the commands run
The commands run with --now set to the bundle's now, so replaying them asks exactly what was asked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("DAY2_FIXTURE_DIR", "/tmp/day2-dagster-fixture"))
MISSING = "00000000-0000-4000-8000-000000000000"


def commands(ids: dict[str, str]) -> list[list[str]]:
    """The investigation commands the unit tests replay (JSON and text forms read the same data)."""
    code, slow, first, retry = ids["code_error"], ids["max_runtime"], ids["retried_first_attempt"], ids["retry_success"]
    return [
        ["run", code], ["run", slow], ["run", first], ["run", retry], ["run", ids["canceled"]], ["run", MISSING],
        ["logs", code], ["logs", code, "--page-size", "5"], ["logs", MISSING],
        ["logs", code, "--limit", "3", "--page-size", "5"],
        ["logs", slow], ["logs", first],
        ["steps", slow], ["steps", code], ["steps", first],
        ["runs", "--limit", "50"], ["runs", "--job", "flaky_job"], ["runs", "--status", "FAILURE", "--limit", "50"],
        ["hung"],
        ["compare", first, retry], ["compare", code, ids["success"]],
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--day2", required=True, help="the day2 binary")
    args = ap.parse_args()
    exp = json.loads((STATE_DIR / "expected.json").read_text())
    ids = {}
    for run in exp["runs"]:
        ids.setdefault(run["purpose"], run["runId"])
    upstream = exp["url"].rsplit("/graphql", 1)[0]
    now = datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = HERE / "bundle"
    proxy = subprocess.Popen([args.day2, "record", "--upstream", upstream, "--out", str(out), "--overwrite",
                              "--listen", "127.0.0.1:0", "--now", now, "--tz", "America/New_York"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proxy.stdout.readline()
        if "listening on" not in line:
            print(f"record did not start: {line}{proxy.stderr.read()}", file=sys.stderr)
            return 1
        base = line.split("listening on ")[1].split()[0]
        url = base.rstrip("/") + "/graphql"
        ran = []
        for command in commands(ids):
            for form in (["--json"],):
                argv = [args.day2, *command, "--url", url, "--now", now, *form]
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
                print(f"{proc.returncode}  day2 {' '.join(command + form)}")
                ran.append({"args": command + form, "exit": proc.returncode})
                if command[0] == "logs" and "--limit" in command:  # continue where --limit stopped
                    cursor = json.loads(proc.stdout)["cursor"]
                    more = ["logs", command[1], "--cursor", cursor, "--page-size", "5"]
                    proc = subprocess.run([args.day2, *more, "--url", url, "--now", now, *form],
                                          capture_output=True, text=True, timeout=300)
                    print(f"{proc.returncode}  day2 {' '.join(more + form)}")
                    ran.append({"args": more + form, "exit": proc.returncode})
    finally:
        proxy.send_signal(signal.SIGINT)
        written, errors = proxy.communicate(timeout=60)
    if proxy.returncode != 0:
        print(f"record exited {proxy.returncode}: {errors}", file=sys.stderr)
        return 1
    # Stack traces carry the recording checkout's path: rewrite it to /srv/day2/ as the
    # dagster-fixture scenario does, so no machine path reaches the repository.
    root = str(HERE.parents[3]) + "/"
    for exchange in (out / "exchanges").glob("*.json"):
        text = exchange.read_text()
        if root in text:
            exchange.write_text(text.replace(root, "/srv/day2/"))
    index = {"now": now, "runs": ids, "missing": MISSING, "commands": ran}
    (HERE / "runs.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    print(written.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
