"""A small, isolated real Dagster for the tests that need run states the shared fixture cannot hold
(test_hung_compare.py): its own DAGSTER_HOME with run monitoring OFF and no daemon, so nothing
changes a run's status behind the test's back, and a dagster-webserver on 127.0.0.1.

Every run is written with Dagster's own APIs (dagster 1.13.27 of the .venv):

* `nightly_load` executed in process (`execute_job`) twice, the same job with two run configs:
  `ops.load.config.limit: 10` succeeds, `limit: 0` makes `load` raise. `extract` succeeds in both,
  so the first step that differs is `load`, not the first step. `publish` is skipped in the failed
  run (its upstream failed).
* the failed run re-executed from failure (`ReexecutionOptions.from_failure`) with the good config:
  Dagster runs only `load` and `publish` (its stepKeysToExecute), not `extract`, so `extract` is no
  difference between the two and `load` still is.
* runs created with `instance.create_run_for_job` and moved through their states by reporting the
  run events Dagster itself reports (PIPELINE_STARTING when launching, PIPELINE_START,
  PIPELINE_CANCELING; PIPELINE_ENQUEUED for the queued run, which Dagster only creates QUEUED with a
  code location's origin), each with a timestamp in the past: the run storage takes the event's
  timestamp as the run's update time (start time for PIPELINE_START), and the stats take the
  PIPELINE_STARTING event as the launch time. Nothing else touches them: no daemon, no monitoring.

Times are relative to `t0` (whole seconds, a little before the test starts), so `day2 hung --now t0`
has exact answers, see HUNG below.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    In,
    ReexecutionOptions,
    execute_job,
    in_process_executor,
    job,
    op,
    reconstructable,
)
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from day2_helpers import stop_process_group
from fixture import gql

HERE = Path(__file__).resolve().parent
BIN_DIR = Path(sys.executable).parent
READY_TIMEOUT = 60  # seconds for the webserver to answer
STOP_GRACE = 10
LOCATION = "day2_mini"

DAGSTER_YAML = """\
# Written by tests/dagster/mini_instance.py: no daemon, no run monitoring, nothing moves runs.
telemetry:
  enabled: false
run_monitoring:
  enabled: false
"""

# Run configs of the two nightly_load runs: only ops.load.config.limit differs.
GOOD_CONFIG = {"ops": {"load": {"config": {"limit": 10, "source": "warehouse.orders"}}}}
BAD_CONFIG = {"ops": {"load": {"config": {"limit": 0, "source": "warehouse.orders"}}}}

# The runs moved by events: purpose -> (the status they end in, tags, the events as (type, seconds
# before t0)). HUNG is what `day2 hung` (default thresholds 180 s) must answer at t0, longest stuck
# first: purpose -> (kind, stuck seconds, limit seconds).
STATE_RUNS = {
    "starting_hung": ("STARTING", {}, [("PIPELINE_STARTING", 900)]),
    "canceling_hung": ("CANCELING", {}, [("PIPELINE_STARTING", 1210), ("PIPELINE_START", 1200),
                                         ("PIPELINE_CANCELING", 400)]),
    "max_runtime_hung": ("STARTED", {"dagster/max_runtime": "60"}, [("PIPELINE_STARTING", 1510),
                                                                    ("PIPELINE_START", 1500)]),
    # The alias Dagster's run monitoring reads when dagster/max_runtime is absent.
    "max_runtime_seconds_hung": ("STARTED", {"dagster/max_runtime_seconds": "120"},
                                 [("PIPELINE_STARTING", 1010), ("PIPELINE_START", 1000)]),
    # Close cases that are not hung.
    # (The recent ones stay under the 180 s timeouts for minutes after t0: at the real clock too.)
    "starting_recent": ("STARTING", {}, [("PIPELINE_STARTING", 30)]),
    "canceling_recent": ("CANCELING", {}, [("PIPELINE_STARTING", 700), ("PIPELINE_START", 690),
                                           ("PIPELINE_CANCELING", 10)]),
    "started_within_max_runtime": ("STARTED", {"dagster/max_runtime": "3600"},
                                   [("PIPELINE_STARTING", 1510), ("PIPELINE_START", 1500)]),
    "started_without_max_runtime": ("STARTED", {}, [("PIPELINE_STARTING", 7210), ("PIPELINE_START", 7200)]),
    "queued": ("QUEUED", {"dagster/max_runtime": "60"}, [("PIPELINE_ENQUEUED", 3000)]),
    "succeeded_long_ago": ("SUCCESS", {"dagster/max_runtime": "60"},
                           [("PIPELINE_STARTING", 7210), ("PIPELINE_START", 7200), ("PIPELINE_SUCCESS", 7100)]),
}
HUNG = {
    "max_runtime_hung": ("max_runtime", 1500, 60),
    "max_runtime_seconds_hung": ("max_runtime", 1000, 120),
    "starting_hung": ("starting", 900, 180),
    "canceling_hung": ("canceling", 400, 180),
}

# ---- the code location ---------------------------------------------------------------------------


@op
def extract() -> list[int]:
    return list(range(100))


@op(config_schema={"limit": int, "source": str}, ins={"rows": In(list)})
def load(context, rows: list) -> list:
    limit = context.op_config["limit"]
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit} for {context.op_config['source']}")
    return rows[:limit]


@op(ins={"rows": In(list)})
def publish(context, rows: list) -> None:
    context.log.info(f"published {len(rows)} rows")


@job(executor_def=in_process_executor)
def nightly_load():
    publish(load(extract()))


@op
def wait_for_partner() -> None:
    pass


@job(executor_def=in_process_executor)
def partner_sync():
    wait_for_partner()


# ---- writing the runs ----------------------------------------------------------------------------


def report(instance: DagsterInstance, run_id: str, job_name: str, event_type: str, at: float) -> None:
    """Stores one run event as Dagster does (report_dagster_event), stamped `at` (epoch seconds)."""
    event = DagsterEvent(event_type_value=DagsterEventType(event_type).value, job_name=job_name,
                         message=f"{event_type} reported by tests/dagster/mini_instance.py")
    instance.report_dagster_event(event, run_id=run_id, timestamp=at)


def populate(instance: DagsterInstance, t0: float) -> dict[str, str]:
    """Writes every run of the scenario; returns run ids by purpose."""
    ids: dict[str, str] = {}
    # What a launched run carries: the code location it came from (a workspace python_file entry).
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, python_file=__file__, working_directory=str(HERE)),
        LOCATION)
    origin = RemoteJobOrigin(repository_origin=RemoteRepositoryOrigin(location, "__repository__"),
                             job_name=partner_sync.name)
    for purpose, config in (("compare_succeeded", GOOD_CONFIG), ("compare_failed", BAD_CONFIG)):
        with execute_job(reconstructable(nightly_load), instance=instance, run_config=config,
                         raise_on_error=False) as result:
            expected = purpose == "compare_succeeded"
            if result.success != expected:
                raise RuntimeError(f"nightly_load ({purpose}) success={result.success}, expected {expected}")
            ids[purpose] = result.run_id
    with execute_job(reconstructable(nightly_load), instance=instance, run_config=GOOD_CONFIG, raise_on_error=False,
                     reexecution_options=ReexecutionOptions.from_failure(ids["compare_failed"], instance)) as result:
        if not result.success:
            raise RuntimeError("nightly_load re-executed from failure did not succeed")
        ids["compare_reexecuted"] = result.run_id
    for purpose, (status, tags, events) in STATE_RUNS.items():
        run = instance.create_run_for_job(partner_sync, status=DagsterRunStatus.NOT_STARTED,
                                          tags={"day2/purpose": purpose, **tags}, remote_job_origin=origin)
        for event_type, ago in events:
            report(instance, run.run_id, run.job_name, event_type, t0 - ago)
        stored = instance.get_run_by_id(run.run_id)
        if stored is None or stored.status.value != status:
            raise RuntimeError(f"run {run.run_id} ({purpose}) is {stored and stored.status}, expected {status}")
        ids[purpose] = run.run_id
    return ids


# ---- the webserver -------------------------------------------------------------------------------


class MiniDagster:
    """A temp DAGSTER_HOME holding the scenario's runs and a dagster-webserver serving it on a free
    127.0.0.1 port. Use as a context manager; the webserver's process group is always killed."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.t0 = float(int(time.time()))
        self.ids: dict[str, str] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="day2-mini-dagster-")
        self.home = Path(self._tmp.name) / "home"
        self.log = Path(self._tmp.name) / "webserver.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "MiniDagster":
        try:
            self.home.mkdir()
            (self.home / "dagster.yaml").write_text(DAGSTER_YAML)
            with DagsterInstance.from_config(str(self.home)) as instance:
                # The schema exists before the webserver opens the same SQLite files.
                self._start_webserver()
                self.ids = populate(instance, self.t0)
            self._wait_ready()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _start_webserver(self) -> None:
        env = dict(os.environ, DAGSTER_HOME=str(self.home), PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN_DIR / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.port), "--empty-workspace"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self._tmp.name,
                start_new_session=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited with {self.proc.returncode}\n{self.tail()}")
            try:
                if gql(self.url, "{ version }", timeout=5).get("version"):
                    return
            except OSError as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.5)
        raise RuntimeError(f"dagster-webserver not answering at {self.url} after {READY_TIMEOUT}s ({last})\n"
                           f"{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no webserver log)"

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, STOP_GRACE)
            self.proc = None
        self._tmp.cleanup()
