"""Every GraphQL document day2 may send is valid on every Dagster release it supports (1.8 to 1.13),
or is sent only where day2's probe allows it. Run: pytest tests/dagster/test_schemas.py (ctest
dagster_schemas). Schemas: tests/data/dagster/schemas/ (README there says where they come from).

A document that a supported release rejects fails this test, unless it is in PROBED and the probe's
condition, evaluated on that release's own schema, says day2 would not send it there. The probes are
the ones the collector runs (analyzer/src/step_health.cpp): FreshnessNew only when the TypeFields probe
of AssetNode lists internalFreshnessPolicy and freshnessStatusInfo; PlusAgents only on Dagster+ (where
it is validated against the Dagster+ schema instead).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

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
