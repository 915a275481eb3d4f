"""Every GraphQL document day2 may send is valid on every Dagster release it supports (1.8 to 1.13),
or is sent only where day2's probe allows it. Run: pytest tests/dagster/test_schemas.py (ctest
dagster_schemas). Schemas: tests/data/dagster/schemas/ (README there says where they come from).

A document that a supported release rejects fails this test, unless it is in PROBED and the probe's
condition, evaluated on that release's own schema, says day2 would not send it there. The probes are
the ones the collector runs (analyzer/collect/src/step_04_freshness.cpp): FreshnessNew only when the TypeFields probe
of AssetNode lists internalFreshnessPolicy and freshnessStatusInfo; PlusAgents only on Dagster+ (where
it is validated against the Dagster+ schema instead).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema, TypeInfo, TypeInfoVisitor, Visitor, build_schema, get_named_type, parse, validate, visit

ROOT = Path(__file__).resolve().parents[2]
QUERIES = sorted((ROOT / "analyzer" / "queries").glob("*.graphql"))
SCHEMAS = ROOT / "tests" / "data" / "dagster" / "schemas"
SUPPORTED = ["1.8.13", "1.9.13", "1.10.21", "1.11.16", "1.12.22", "1.13.27"]


def fields_of(schema: GraphQLSchema, type_name: str) -> set[str]:
    found = schema.get_type(type_name)
    return set(getattr(found, "fields", {}) or {}) if found is not None else set()


def sends_freshness_new(schema: GraphQLSchema) -> bool:
    return {"internalFreshnessPolicy", "freshnessStatusInfo"} <= fields_of(schema, "AssetNode")


# Operation -> whether day2 sends it to an open-source server with this schema.
PROBED = {
    "FreshnessNew": sends_freshness_new,
    "PlusAgents": lambda schema: False,  # Dagster+ only: validated against dagster-plus.graphql below
}

_cache: dict[str, GraphQLSchema] = {}


def schema_of(name: str) -> GraphQLSchema:
    if name not in _cache:
        _cache[name] = build_schema((SCHEMAS / name).read_text())
    return _cache[name]


def errors_of(schema: GraphQLSchema, document: Path) -> list[str]:
    return [e.message for e in validate(schema, parse(document.read_text()))]


def test_the_documents_and_schemas_are_there():
    assert len(QUERIES) >= 19, QUERIES
    for version in SUPPORTED:
        assert (SCHEMAS / f"dagster-{version}.graphql").is_file(), version


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_document_day2_sends_is_valid_on_the_release(version):
    schema = schema_of(f"dagster-{version}.graphql")
    problems = []
    for document in QUERIES:
        operation = document.stem
        sent = PROBED.get(operation, lambda _: True)(schema)
        errors = errors_of(schema, document)
        if sent and errors:
            problems.append(f"{operation}: {errors}")
    assert not problems, f"Dagster {version} rejects documents day2 sends to it:\n" + "\n".join(problems)


@pytest.mark.parametrize("version", SUPPORTED)
def test_a_probed_document_is_skipped_only_where_the_release_rejects_it(version):
    # The probe must not hide a feature the release has: where FreshnessNew is valid, day2 sends it.
    schema = schema_of(f"dagster-{version}.graphql")
    valid = not errors_of(schema, ROOT / "analyzer" / "queries" / "FreshnessNew.graphql")
    assert sends_freshness_new(schema) == valid


def test_plus_agents_is_valid_on_dagster_plus():
    assert errors_of(schema_of("dagster-plus.graphql"), ROOT / "analyzer" / "queries" / "PlusAgents.graphql") == []


def test_the_differences_the_documents_avoid_are_real():
    # A field a release lacks is caught by validation: RunCanceledEvent.error is missing from 1.7
    # (not supported for that reason).
    old = schema_of("dagster-1.7.16.graphql")
    assert any("RunCanceledEvent" in e for e in errors_of(old, ROOT / "analyzer" / "queries" / "RunEvents.graphql"))
    # secondsToWait validates everywhere, but as Int up to 1.11 the server fails to serialise a
    # fractional delay: RunEvents does not select it.
    def seconds_to_wait(version: str) -> str:
        retry = schema_of(f"dagster-{version}.graphql").get_type("ExecutionStepUpForRetryEvent")
        return str(retry.fields["secondsToWait"].type).rstrip("!")
    assert [seconds_to_wait(v) for v in SUPPORTED] == ["Int", "Int", "Int", "Int", "Float", "Float"]
    assert "secondsToWait" not in (ROOT / "analyzer" / "queries" / "RunEvents.graphql").read_text()


# Every field a document selects has the same type on every supported release (nullability, list-ness
# and, for an enum, its values), so that an answer day2 parses on one release parses the same on the
# others. A document that validates everywhere can still break on one release when a selected field's
# type differs there: ExecutionStepUpForRetryEvent.secondsToWait (Int up to 1.11) lost every failed run
# of a night. These are the differences the documents keep, each with what day2 does about it; a new
# difference fails here until it is handled and listed, and a listed one that is gone fails too.
_RUN_STATUS = ("Run.status gains SUSPENDED in 1.13, which nothing in 1.13.27 writes yet (dagster/_core/storage/"
               "dagster_run.py: 'TODO: nothing writes this status yet'): not in day2's status filters; a status "
               "day2 does not know is kept as text")
ACKNOWLEDGED = {
    ("AssetChecksLatest", "AssetCheckEvaluationTargetMaterializationData.storageId"):
        "Int! on 1.8, ID! (a JSON string) from 1.9: selected for the record, never read by day2",
    ("AssetsLatestInfo", "Run.status"): _RUN_STATUS,
    ("InFlightRuns", "Run.status"): _RUN_STATUS,
    ("RunDetail", "Run.status"): _RUN_STATUS,
    ("RunGroup", "Run.status"): _RUN_STATUS,
    ("RunsInWindow", "Run.status"): _RUN_STATUS,
    ("Backfills", "PartitionStatusCounts.runStatus"): _RUN_STATUS,
    ("Backfills", "PartitionBackfill.status"):
        "BulkActionStatus gains FAILING in 1.11: step 15 counts FAILING as active and failed (step_15_backfills.cpp)",
    ("RunEvents", "MessageEvent.eventType"):
        "DagsterEventType gains values (1.10 ASSET_FAILED_TO_MATERIALIZE, FRESHNESS_*, 1.12 CODE_LOCATION_UPDATED, "
        "1.13 RUN_SUSPENDED/RUN_RESUMED): the classifier reads events by __typename; every value of 1.13 is in "
        "day2 logs' --type list (analyzer/collect/src/runs.cpp)",
}


def selected_field_types(schema: GraphQLSchema, document: Path) -> dict[str, str]:
    """'ParentType.field' -> the field's type as printed, with the values of an enum type."""
    info = TypeInfo(schema)
    found: dict[str, str] = {}

    class Fields(Visitor):
        def enter_field(self, node, *_):
            parent, field = info.get_parent_type(), info.get_field_def()
            if parent is None or field is None:
                return
            named = get_named_type(field.type)
            values = sorted(getattr(named, "values", {}) or {})
            found[f"{parent.name}.{node.name.value}"] = str(field.type) + (f" {values}" if values else "")

    visit(parse(document.read_text()), TypeInfoVisitor(info, Fields()))
    return found


def type_differences() -> dict[tuple[str, str], dict[str, str | None]]:
    differences = {}
    for document in QUERIES:
        operation = document.stem
        if operation == "PlusAgents":
            continue  # Dagster+ only: one schema
        sent_to = [v for v in SUPPORTED if PROBED.get(operation, lambda _: True)(schema_of(f"dagster-{v}.graphql"))]
        per_version = {v: selected_field_types(schema_of(f"dagster-{v}.graphql"), document) for v in sent_to}
        for field in sorted(set().union(*per_version.values())):
            types = {v: per_version[v].get(field) for v in sent_to}
            if len(set(types.values())) > 1:
                differences[(operation, field)] = types
    return differences


def test_every_selected_field_has_one_type_across_releases_or_is_acknowledged():
    differences = type_differences()
    new = {key: types for key, types in differences.items() if key not in ACKNOWLEDGED}
    assert not new, "selected fields whose type differs between supported releases (handle, then list in " \
        "ACKNOWLEDGED):\n" + "\n".join(f"{op} {field}: {types}" for (op, field), types in new.items())
    gone = sorted(set(ACKNOWLEDGED) - set(differences))
    assert not gone, f"acknowledged differences no longer found (remove them): {gone}"


def test_the_type_comparison_catches_the_difference_that_lost_a_night(tmp_path):
    # The comparison must see the secondsToWait change: a document selecting it would fail the test above.
    document = tmp_path / "Probe.graphql"
    document.write_text("query Probe($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection {"
                        " events { ... on ExecutionStepUpForRetryEvent { secondsToWait } } } } }\n")
    types = {v: selected_field_types(schema_of(f"dagster-{v}.graphql"), document) for v in SUPPORTED}
    assert {v: t["ExecutionStepUpForRetryEvent.secondsToWait"] for v, t in types.items()} == {
        "1.8.13": "Int", "1.9.13": "Int", "1.10.21": "Int", "1.11.16": "Int", "1.12.22": "Float", "1.13.27": "Float"}


def test_day2_logs_knows_every_event_type_of_every_supported_release():
    # What ACKNOWLEDGED says of DagsterEventType: `day2 logs --type` accepts every value a release has.
    source = (ROOT / "analyzer" / "collect" / "src" / "runs.cpp").read_text()
    listed = re.search(r"k_event_types = \{(.*?)\};", source, re.S)
    assert listed, "k_event_types not found in analyzer/collect/src/runs.cpp"
    known = set(re.findall(r'"([A-Z_]+)"', listed.group(1)))
    for version in SUPPORTED:
        values = set(schema_of(f"dagster-{version}.graphql").get_type("DagsterEventType").values)
        assert values <= known, f"{version}: day2 logs --type lacks {sorted(values - known)}"
