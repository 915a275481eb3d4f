"""A real Dagster of any supported release line, for tests/dagster/test_releases.py. Run with that
release's own Python (a virtual environment holding only its pinned dagster and dagster-webserver):

    <venv>/bin/python tests/dagster/release_instance.py populate DAGSTER_HOME

writes DAGSTER_HOME/dagster.yaml (no telemetry, no run monitoring, nothing moves runs) and executes
these runs in process with Dagster's own APIs, then prints a JSON object describing them:

* `retried_load` with `fail: true`: the op `load` has a RetryPolicy with a fractional, jittered delay
  (Dagster's documented jitter example: delay 0.2 s, exponential backoff, Jitter.PLUS_MINUS), fails,
  is retried once (an ExecutionStepUpForRetryEvent whose secondsToWait is fractional) and fails again:
  the run fails. Dagster <= 1.11 types secondsToWait as Int and answers HTTP 500 to any event-log
  query selecting it.
* `retried_load` with `fail: false`: the same job succeeds (for `day2 compare`).
* `chatty`: one op logging CHATTY_LINES lines, so the run's event log is longer than the 1000 events
  Dagster serves per page (for `day2 logs --page-size 5000`).

The printed object: {"version", "failed", "succeeded", "chatty", "events": {run id: event count}}.
The test then serves DAGSTER_HOME with that release's dagster-webserver (--empty-workspace).
Only APIs present from 1.8 to 1.13 are used.
"""

import json
import sys
from pathlib import Path

from dagster import (
    Backoff,
    DagsterInstance,
    Jitter,
    RetryPolicy,
    __version__,
    execute_job,
    in_process_executor,
    job,
    op,
    reconstructable,
)

CHATTY_LINES = 1100

DAGSTER_YAML = """\
# Written by tests/dagster/release_instance.py: no daemon, no run monitoring, nothing moves runs.
telemetry:
  enabled: false
run_monitoring:
  enabled: false
"""


@op
def extract() -> list:
    return list(range(10))


@op(config_schema={"fail": bool},
    retry_policy=RetryPolicy(max_retries=1, delay=0.2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS))
def load(context, rows: list) -> int:
    if context.op_config["fail"]:
        raise ValueError(f"warehouse rejected {len(rows)} rows (attempt {context.retry_number + 1})")
    return len(rows)


@job(executor_def=in_process_executor)
def retried_load():
    load(extract())


@op
def talk(context) -> None:
    for i in range(CHATTY_LINES):
        context.log.info(f"line {i}")


@job(executor_def=in_process_executor)
def chatty():
    talk()


def run(instance: DagsterInstance, target, config: dict, expect_success: bool) -> str:
    with execute_job(reconstructable(target), instance=instance, run_config=config, raise_on_error=False) as result:
        if result.success != expect_success:
            raise RuntimeError(f"{target.name}: success={result.success}, expected {expect_success}")
        return result.run_id


def populate(home: Path) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    with DagsterInstance.from_config(str(home)) as instance:
        def config(fail: bool) -> dict:
            return {"ops": {"load": {"config": {"fail": fail}}}}

        ids = {
            "failed": run(instance, retried_load, config(True), False),
            "succeeded": run(instance, retried_load, config(False), True),
            "chatty": run(instance, chatty, {}, True),
        }
        events = {run_id: len(instance.all_logs(run_id)) for run_id in ids.values()}
        retries = [e for e in instance.all_logs(ids["failed"])
                   if e.dagster_event and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"]
        if not retries:
            raise RuntimeError("the failed run has no STEP_UP_FOR_RETRY event")
        wait = retries[0].dagster_event.event_specific_data.seconds_to_wait
        if wait is None or float(wait).is_integer():
            raise RuntimeError(f"the retry delay is not fractional: {wait!r}")
    return {"version": __version__, **ids, "events": events, "secondsToWait": wait}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] != "populate":
        print("usage: release_instance.py populate DAGSTER_HOME", file=sys.stderr)
        return 2
    print(json.dumps(populate(Path(sys.argv[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
