#!/usr/bin/env python3
"""Validate day2's GraphQL documents against the running fixture and capture real responses.

  capture.py [--out DIR] [--check-only] [--only OP,...]

Reads <fixture state>/expected.json (start the fixture first: fixture.py start), then
  1. validates every analyzer/queries/*.graphql with graphql-core against the schema of the
     installed dagster-graphql (and writes that schema to DIR/schemas/dagster-<version>.graphql),
  2. sends each document (with several variable sets) to the fixture's webserver, and
  3. writes DIR/<Operation>[.<variant>].json (pretty response body) and
     DIR/<Operation>[.<variant>].variables.json.
Machine-specific paths in responses are replaced by placeholders (<DAGSTER_HOME>, <FIXTURE_DIR>,
<FIXTURE_SRC>, <VENV>, <PYTHON_LIB>). Exit 1 if any document is invalid or a response carries
unexpected GraphQL errors (PlusAgents is expected to be rejected by OSS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
QUERIES = REPO / "analyzer" / "queries"
STATE_DIR = Path(os.environ.get("DAY2_FIXTURE_DIR", "/tmp/day2-dagster-fixture"))
EXPECTED_ERRORS = {"PlusAgents"}  # Dagster+ only: OSS rejects the document


def post(url: str, query: str, variables: dict, op: str) -> tuple[int, dict]:
    body = json.dumps({"query": query, "variables": variables, "operationName": op}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:  # GraphQL document errors come back as HTTP 400
        return e.code, json.loads(e.read())


def scrubber():
    repl = [
        (str(STATE_DIR / "home"), "<DAGSTER_HOME>"),
        (str(STATE_DIR), "<FIXTURE_DIR>"),
        (str(HERE), "<FIXTURE_SRC>"),
        (sysconfig.get_paths()["purelib"], "<VENV>/site-packages"),
        (sys.prefix, "<VENV>"),
        (sysconfig.get_paths()["stdlib"], "<PYTHON_LIB>"),
    ]
    repl.sort(key=lambda p: -len(p[0]))

    def scrub(text: str) -> str:
        for a, b in repl:
            text = text.replace(a, b)
        return text

    return scrub


def validate_documents(out: Path | None) -> list[str]:
    from dagster_graphql import __version__ as dg_version
    from dagster_graphql.schema import create_schema
    from graphql import build_schema, parse, print_schema, validate

    sdl = print_schema(create_schema().graphql_schema)
    if out is not None:
        (out / "schemas" / f"dagster-{dg_version}.graphql").write_text(sdl + "\n")
    schema = build_schema(sdl)
    problems = []
    for f in sorted(QUERIES.glob("*.graphql")):
        doc = parse(f.read_text())
        ops = [d for d in doc.definitions if d.kind == "operation_definition"]
        if len(ops) != 1 or ops[0].name is None or ops[0].name.value != f.stem:
            problems.append(f"{f.name}: must hold exactly one operation named {f.stem}")
            continue
        errs = validate(schema, doc)
        if errs and f.stem not in EXPECTED_ERRORS:
            problems.append(f"{f.name}: " + "; ".join(e.message for e in errs))
        print(f"validate {f.stem}: {'ok' if not errs else 'INVALID: ' + errs[0].message}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "tests" / "data" / "dagster"))
    ap.add_argument("--check-only", action="store_true", help="validate and send, write nothing")
    ap.add_argument("--only", default="", help="write the responses of these operations only (comma-separated)")
    args = ap.parse_args()
    out = Path(args.out)
    if not args.check_only:
        out.mkdir(parents=True, exist_ok=True)
    problems = validate_documents(None if args.check_only else out)
    try:
        exp = json.loads((STATE_DIR / "expected.json").read_text())
    except OSError:
        print(f"no {STATE_DIR}/expected.json: run fixture.py start first", file=sys.stderr)
        return 1
    url = exp["url"]
    scrub = scrubber()
    now = time.time()
    after = exp["started_at"] - 60
    by_purpose: dict[str, list[dict]] = {}
    for r in exp["runs"]:
        by_purpose.setdefault(r["purpose"], []).append(r)

    docs = {f.stem: f.read_text() for f in sorted(QUERIES.glob("*.graphql"))}
    only = {op for op in args.only.split(",") if op}
    captured: set[str] = set()

    def run(op: str, variables: dict, variant: str | None = None) -> dict:
        status, body = post(url, docs[op], variables, op)
        name = op + (f".{variant}" if variant else "")
        errs = body.get("errors")
        if errs and op not in EXPECTED_ERRORS:
            problems.append(f"{name}: HTTP {status}: {json.dumps(errs)[:500]}")
        if op in EXPECTED_ERRORS and not errs:
            problems.append(f"{name}: expected a document error from OSS, got data")
        print(f"send {name}: HTTP {status}{' errors: ' + errs[0]['message'][:100] if errs else ''}")
        if not args.check_only and (not only or op in only):
            (out / f"{name}.json").write_text(scrub(json.dumps(body, indent=2)) + "\n")
            (out / f"{name}.variables.json").write_text(json.dumps(variables, indent=2) + "\n")
        captured.add(op)
        return body

    run("Version", {})
    for t in ("RunsFilter", "Run", "AssetNode", "Instance", "Query"):
        run("TypeFields", {"name": t}, t)

    window = {"statuses": ["FAILURE", "SUCCESS", "CANCELED"], "updatedAfter": after, "createdBefore": now}
    run("RunsInWindow", {"filter": window, "cursor": None, "limit": 200})
    page1 = run("RunsInWindow", {"filter": window, "cursor": None, "limit": 5}, "page1")
    last = page1["data"]["runsOrError"]["results"][-1]["runId"]
    run("RunsInWindow", {"filter": window, "cursor": last, "limit": 5}, "page2")
    retry_parent = exp["retries"][0]["parentRunId"]
    run("RunsInWindow", {"filter": {"tags": [{"key": "dagster/parent_run_id", "value": retry_parent}]},
                         "cursor": None, "limit": 50}, "children")

    for purpose in ("code_error", "connection_refused", "max_runtime", "retried_first_attempt",
                    "crashing_check", "backfill_partition", "canceled", "retry_success"):
        rid = by_purpose[purpose][0]["runId"]
        events = run("RunEvents", {"runId": rid, "afterCursor": None, "limit": 1000}, purpose)
        # The failing step's captured output: the last LogsCapturedEvent naming the first failed step.
        body_events = events["data"]["logsForRun"].get("events", [])
        failed = [e["stepKey"] for e in body_events if e["__typename"] == "ExecutionStepFailureEvent"]
        files = [e["fileKey"] for e in body_events
                 if e["__typename"] == "LogsCapturedEvent" and failed and failed[0] in (e.get("stepKeys") or [])]
        if files:
            run("RunCapturedLogs", {"runId": rid, "fileKey": files[-1]}, purpose)
    rid = by_purpose["code_error"][0]["runId"]
    p1 = run("RunEvents", {"runId": rid, "afterCursor": None, "limit": 5}, "code_error.page1")
    run("RunEvents", {"runId": rid, "afterCursor": p1["data"]["logsForRun"]["cursor"], "limit": 5},
        "code_error.page2")
    missing = "00000000-0000-4000-8000-000000000000"
    run("RunEvents", {"runId": missing, "afterCursor": None, "limit": 10}, "not_found")

    run("RunDetail", {"runId": by_purpose["code_error"][0]["runId"]}, "code_error")
    run("RunDetail", {"runId": missing}, "not_found")
    run("RunGroup", {"runId": retry_parent}, "retried")
    run("RunGroup", {"runId": missing}, "not_found")

    run("AllInstigatorTicks", {"after": after, "before": time.time(), "limit": 1000})
    for variant, name in (("sensor", "failing_sensor"), ("schedule", "failing_schedule"), ("not_found", "no_such")):
        sel = {"repositoryLocationName": exp["locations"]["ok"], "repositoryName": "__repository__", "name": name}
        run("InstigatorTicks", {"selector": sel, "after": after, "before": time.time(), "limit": 1000}, variant)
    run("FreshnessLegacy", {})
    run("FreshnessNew", {})
    run("CodeLocations", {})
    run("PlusAgents", {}, "oss_error")
    run("DaemonHealth", {})
    run("InFlightRuns", {"filter": {"statuses": ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]},
                         "cursor": None, "limit": 200})
    run("Backfills", {"status": None, "cursor": None, "limit": 50})

    keys_body = run("AssetKeys", {})
    keys = [{"path": n["assetKey"]["path"]} for n in keys_body["data"]["assetNodes"]]
    with_checks = [{"path": n["assetKey"]["path"]} for n in keys_body["data"]["assetNodes"] if n["hasAssetChecks"]]
    run("AssetChecksLatest", {"assetKeys": None})
    run("AssetChecksLatest", {"assetKeys": with_checks}, "with_checks")
    for variant, path, check in (
        ("error", ["warehouse", "orders"], "orders_not_empty"),
        ("warn", ["warehouse", "orders"], "avro_schema_valid"),
        ("execution_failed", ["warehouse", "customers"], "customers_check_crashes"),
    ):
        run("AssetCheckHistory", {"assetKey": {"path": path}, "checkName": check, "limit": 50, "cursor": None},
            variant)
    run("AssetsLatestInfo", {"assetKeys": keys})

    not_sent = set(docs) - captured
    if not_sent:
        problems.append(f"documents never sent: {sorted(not_sent)}")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
