"""The day2 test fixture: a Dagster code location whose definitions fail in known ways.

Loaded by `fixture.py` as code location "day2_fixture". Every failure is deterministic:
see README.md in this directory for what each definition is for and what day2 must report.
"""

import socket
import time
from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetOut,
    AssetCheckSeverity,
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    FreshnessPolicy,
    LegacyFreshnessPolicy,
    OpExecutionContext,
    Output,
    RunRequest,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    define_asset_job,
    job,
    multi_asset,
    op,
    resource,
    schedule,
    sensor,
)

# Tag values of the run-level policies the fixture relies on.
MAX_RUNTIME_SECONDS = 5  # `slow_job` is killed by run monitoring after this
HOLD_TAG = "day2/hold"  # dagster.yaml limits runs with this tag to 0 concurrent: they stay QUEUED


# --- assets -------------------------------------------------------------------------------------


@asset(key=["warehouse", "orders"], group_name="warehouse")
def orders() -> int:
    """Materializes fine; its two checks fail (ERROR and WARN severity) without failing the run."""
    return 3


@asset_check(asset=orders, name="orders_not_empty", description="orders must have rows")
def orders_not_empty() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description="orders has 0 rows for today",
        metadata={"row_count": 0},
    )


@asset_check(
    asset=orders,
    name="avro_schema_valid",
    description="vendor schema drift: extra fields in the feed",
)
def orders_avro_schema_valid() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.WARN,
        description="schema drift: 2 unexpected fields",
        metadata={"extras": "a,b"},
    )


@asset(key=["warehouse", "customers"], group_name="warehouse")
def customers() -> int:
    """Materializes fine, but its check raises: the check is EXECUTION_FAILED and the run fails."""
    return 7


@asset_check(asset=customers, name="customers_check_crashes", description="a check that raises")
def customers_check_crashes() -> AssetCheckResult:
    raise RuntimeError("day2 fixture: check backend unreachable while validating customers")


@asset(key=["day2", "broken_asset"], group_name="day2")
def broken_asset() -> int:
    """A plain code error: the run fails, the asset is degraded (latest run failed, no materialization)."""
    raise ValueError("day2 fixture: invalid value in column 'amount': 'abc'")


@asset(
    key=["day2", "fresh_report"],
    group_name="day2",
    freshness_policy=FreshnessPolicy.time_window(fail_window=timedelta(minutes=1)),
)
def fresh_report() -> int:
    """New-style freshness policy: materialized once at fixture start, overdue a minute later."""
    return 1


@asset(
    key=["day2", "legacy_report"],
    group_name="day2",
    legacy_freshness_policy=LegacyFreshnessPolicy(maximum_lag_minutes=1),
)
def legacy_report() -> int:
    """Legacy freshness policy (AssetNode.freshnessPolicy / freshnessInfo)."""
    return 1


@asset(
    key=["day2", "partitioned_events"],
    group_name="day2",
    partitions_def=StaticPartitionsDefinition(["p1", "p2", "p3"]),
)
def partitioned_events(context) -> int:
    """Backfilled over p1..p3: p2 fails, so the backfill ends failed."""
    if context.partition_key == "p2":
        raise ValueError("day2 fixture: partition p2 has a corrupt source file")
    return 1


@multi_asset(
    outs={
        "ledger_balances": AssetOut(key=["day2", "ledger_balances"]),
        "ledger_totals": AssetOut(key=["day2", "ledger_totals"]),
    },
    group_name="day2",
)
def ledger():
    """A multi-asset step that materializes one of its two assets and then raises: only
    `day2/ledger_totals` failed; `day2/ledger_balances` was materialized by the same run."""
    yield Output(1, output_name="ledger_balances")
    raise ValueError("day2 fixture: ledger totals do not balance (off by 3 cents)")


# --- ops / jobs ---------------------------------------------------------------------------------


def _closed_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@op
def call_warehouse_api() -> None:
    """Connection refused: connect to a closed local port (raises ConnectionRefusedError)."""
    port = _closed_local_port()
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


@job(description="Fails with ConnectionRefusedError (expected category: Connection failure)")
def connection_job():
    call_warehouse_api()


@op
def read_slow_api() -> None:
    """A socket timeout: connect to a local listener that never answers and read with a 1 s
    timeout (raises TimeoutError: timed out, Python's socket.timeout)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1) as conn:
            conn.recv(1)


@job(
    tags={"dagster/max_retries": "0"},
    description="Fails with a socket timeout (expected category: Connection failure)",
)
def socket_timeout_job():
    read_slow_api()


@resource
def warehouse_credentials(_init_context):
    """A resource whose initialization fails (RESOURCE_INIT_FAILURE, step error FRAMEWORK_ERROR)."""
    raise PermissionError("day2 fixture: cannot read /var/secrets/warehouse.json")


@op(required_resource_keys={"warehouse"})
def load_with_credentials() -> None:
    pass  # never runs: its resource fails first


@job(
    resource_defs={"warehouse": warehouse_credentials},
    tags={"dagster/max_retries": "0"},
    description="Its resource fails to initialize (expected category: Code error)",
)
def resource_init_job():
    load_with_credentials()


@op
def long_sync() -> None:
    """Sleeps far longer than the job's max runtime; run monitoring fails the run."""
    time.sleep(300)


@job(
    tags={"dagster/max_runtime": str(MAX_RUNTIME_SECONDS), "dagster/max_retries": "0"},
    description="Killed by run monitoring: exceeds dagster/max_runtime (expected: Infra timeout)",
)
def slow_job():
    long_sync()


@op
def flaky_load(context: OpExecutionContext) -> None:
    """Fails on the first attempt, succeeds when re-executed (the automatic run retry)."""
    if context.run.parent_run_id is None:
        raise ValueError("day2 fixture: first attempt of flaky_load fails on purpose")
    context.log.info("retry attempt: succeeding")


@job(
    tags={"dagster/max_retries": "1"},
    description="Fails once, then the run-retry daemon re-executes it and it succeeds",
)
def flaky_job():
    flaky_load()


@op
def wait_for_cancel() -> None:
    time.sleep(300)


@job(tags={"dagster/max_retries": "0"}, description="Started, then terminated through GraphQL")
def cancel_job():
    wait_for_cancel()


@op
def noop() -> int:
    return 1


@job(description="Always succeeds")
def ok_job():
    noop()


@job(tags={HOLD_TAG: "true"}, description="Held in the run queue by a tag concurrency limit of 0")
def held_job():
    noop()


code_error_job = define_asset_job(
    "code_error_job",
    selection=[AssetKey(["day2", "broken_asset"])],
    tags={"dagster/max_retries": "0"},
    description="An asset raising ValueError (expected category: Code error)",
)
checks_job = define_asset_job(
    "checks_job",
    selection=[AssetKey(["warehouse", "orders"])],
    description="orders + its checks (ERROR and WARN failures, run succeeds)",
)
crashing_check_job = define_asset_job(
    "crashing_check_job",
    selection=[AssetKey(["warehouse", "customers"])],
    tags={"dagster/max_retries": "0"},
    description="customers + a check that raises (EXECUTION_FAILED, run fails: Code error)",
)
ledger_job = define_asset_job(
    "ledger_job",
    selection=[AssetKey(["day2", "ledger_balances"]), AssetKey(["day2", "ledger_totals"])],
    tags={"dagster/max_retries": "0"},
    description="The multi-asset that materializes one asset and then raises (Code error)",
)
freshness_job = define_asset_job(
    "freshness_job",
    selection=[AssetKey(["day2", "fresh_report"]), AssetKey(["day2", "legacy_report"])],
    description="Materializes the two assets with freshness policies once",
)


# --- failing sensor and schedule ----------------------------------------------------------------


@sensor(job=ok_job, minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def failing_sensor(context):
    raise RuntimeError("day2 fixture: sensor could not list the landing bucket")
    yield RunRequest()  # pragma: no cover  (makes this a generator like real sensors)


@schedule(
    job=ok_job,
    cron_schedule="* * * * *",
    default_status=DefaultScheduleStatus.RUNNING,
)
def failing_schedule(context):
    raise RuntimeError("day2 fixture: schedule could not compute its run config")


defs = Definitions(
    assets=[orders, customers, broken_asset, fresh_report, legacy_report, partitioned_events, ledger],
    asset_checks=[orders_not_empty, orders_avro_schema_valid, customers_check_crashes],
    jobs=[
        connection_job,
        slow_job,
        flaky_job,
        cancel_job,
        ok_job,
        held_job,
        code_error_job,
        checks_job,
        crashing_check_job,
        freshness_job,
        ledger_job,
        socket_timeout_job,
        resource_init_job,
    ],
    sensors=[failing_sensor],
    schedules=[failing_schedule],
)
