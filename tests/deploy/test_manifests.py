"""tools/deploy/day2.yaml: every object is valid against the Kubernetes API's own models (the official
`kubernetes` Python client: every member known to its type, every required member present), the
objects agree with each other (the CronJob's service account, Secret and ConfigMap keys, volumes),
and the CronJob's script, run exactly as the pod runs it, collects a recorded night from the replay
server and writes the nightly bundle and the reports.

Run by ctest (deploy_manifests) with DAY2 set to the day2 binary under test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import kubernetes.client as k8s
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "tools" / "deploy" / "day2.yaml"
DAY2 = os.environ.get("DAY2", "")
MODELS = {"ServiceAccount": "V1ServiceAccount", "Secret": "V1Secret", "ConfigMap": "V1ConfigMap",
          "PersistentVolumeClaim": "V1PersistentVolumeClaim", "CronJob": "V1CronJob"}


def unknown_members(value, type_name: str, path: str) -> list[str]:
    """Members of `value` the API type `type_name` does not have (recursively), as paths."""
    if type_name.startswith("list["):
        assert isinstance(value, list), f"{path}: not a list"
        return [p for i, item in enumerate(value) for p in unknown_members(item, type_name[5:-1], f"{path}[{i}]")]
    if type_name.startswith("dict("):
        assert isinstance(value, dict), f"{path}: not an object"
        inner = type_name[5:-1].split(", ", 1)[1]
        return [p for key, item in value.items() for p in unknown_members(item, inner, f"{path}.{key}")]
    if type_name in ("str", "int", "bool", "float", "object", "datetime", "date"):
        expected = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str, "date": str}
        if type_name in expected:
            assert isinstance(value, expected[type_name]) and not (type_name == "int" and isinstance(value, bool)), (
                f"{path}: {value!r} is not {type_name}")
        return []
    model = getattr(k8s, type_name)
    assert isinstance(value, dict), f"{path}: not an object"
    by_json = {json_name: name for name, json_name in model.attribute_map.items()}
    found = [f"{path}.{key}" for key in value if key not in by_json]
    for key, item in value.items():
        if key in by_json:
            found += unknown_members(item, model.openapi_types[by_json[key]], f"{path}.{key}")
    return found


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    docs = [doc for doc in yaml.safe_load_all(MANIFESTS.read_text()) if doc]
    by_kind = {}
    for doc in docs:
        assert doc["kind"] not in by_kind, f"two {doc['kind']}s"
        by_kind[doc["kind"]] = doc
    assert set(by_kind) == set(MODELS), sorted(by_kind)
    return by_kind


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_each_object_is_valid_against_the_api_models(objects, kind):
    doc = objects[kind]
    assert doc["apiVersion"] == ("batch/v1" if kind == "CronJob" else "v1")
    assert unknown_members(doc, MODELS[kind], kind) == []
    # The client's constructors refuse a missing required member (client-side validation).
    model = k8s.ApiClient()._ApiClient__deserialize(doc, MODELS[kind])
    assert model.metadata.namespace == "day2"


def test_the_unknown_member_check_can_fail(objects):
    cron = json.loads(json.dumps(objects["CronJob"]))
    cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert unknown_members(cron, "V1CronJob", "CronJob") == [
        "CronJob.spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicyy"]
    del cron["spec"]["schedule"]
    with pytest.raises(ValueError):
        k8s.ApiClient()._ApiClient__deserialize(cron, "V1CronJob")


def pod_of(objects) -> dict:
    return objects["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_a_weekday_morning_in_the_deployments_zone_with_workload_identity(objects):
    spec = objects["CronJob"]["spec"]
    minute, hour, _, _, weekdays = spec["schedule"].split()
    assert 5 <= int(hour) <= 9 and weekdays == "1-5", spec["schedule"]
    assert spec["timeZone"] == json.loads(objects["ConfigMap"]["data"]["day2.json"])["report"]["timezone"]
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = pod_of(objects)
    assert pod["serviceAccountName"] == objects["ServiceAccount"]["metadata"]["name"]
    account = objects["ServiceAccount"]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[A-Za-z0-9_-]+\.iam\.gserviceaccount\.com", account), account
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Every reference resolves: the Secret's key, the ConfigMap's file, the claim, the mounts.
    env = {e["name"]: e for e in container["env"]}
    for name in ("DAGSTER_CLOUD_API_TOKEN", "DAY2_SLACK_WEBHOOK_URL"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == objects["Secret"]["metadata"]["name"] and ref["key"] in objects["Secret"]["stringData"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
    assert volumes["nights"]["persistentVolumeClaim"]["claimName"] == objects["PersistentVolumeClaim"]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["DAY2_CONFIG"]["value"] == mounts["config"] + "/day2.json"
    assert env["DAY2_HOME"]["value"] == mounts["nights"]
    json.loads(objects["ConfigMap"]["data"]["day2.json"])  # the settings parse


def test_the_cronjobs_script_collects_a_night_from_the_replay_server(objects, tmp_path):
    """The container's command and args, run as they are (sh -c), with the pod's environment: the
    mounts are directories of the test, the ConfigMap's settings point Dagster at a replay server of
    a recorded night without Google Cloud, and DAY2_NOW is that night's morning."""
    if not DAY2:
        pytest.fail("DAY2 (the day2 binary) is required")
    from test_delivery import StandIn  # Slack's incoming webhook, stood in on 127.0.0.1

    slack = StandIn()
    scenario = ROOT / "scenarios" / "connection-refused"
    server = subprocess.Popen([DAY2, "replay", "serve", str(scenario / "bundle"), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert port, line
        url = f"http://127.0.0.1:{port.group(1)}"
        settings = json.loads(objects["ConfigMap"]["data"]["day2.json"])
        settings["dagster"] = {"url": url + "/graphql", "deployment": "prod"}  # open-source, like the night
        del settings["gcp"]
        config_dir, home = tmp_path / "etc-day2", tmp_path / "var-lib-day2"
        config_dir.mkdir()
        home.mkdir()
        (config_dir / "day2.json").write_text(json.dumps(settings))
        container = pod_of(objects)["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
        env.update(DAY2_HOME=str(home), DAY2_CONFIG=str(config_dir / "day2.json"), DAY2_NOW="2026-11-24T13:00:00Z",
                   PATH=f"{Path(DAY2).parent}:{os.environ['PATH']}", HOME=str(tmp_path),
                   DAY2_SLACK_WEBHOOK_URL=slack.url + "/services/T0/B0/cronjob")
        proc = subprocess.run(container["command"] + container["args"], env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        night = home / "nights" / "prod" / "2026-11-24"
        assert (night / "bundle" / "manifest.json").is_file() and (night / "day2.json").is_file()
        artifact = json.loads((home / "day2.json").read_text())
        assert artifact["window"]["utc_end"] == "2026-11-24T13:00:00Z"
        assert artifact["step_01_failed_runs"]["failureCount"] >= 1
        reports = sorted(p.name for p in (home / "reports").iterdir())
        assert reports == ["day2-report-prod-2026-11-24.html", "day2-report-prod-2026-11-24.md"], reports
        assert "Connection failure" in (home / "reports" / "day2-report-prod-2026-11-24.md").read_text()
        assert re.search(r"^day2_collect_success 1$", (home / "day2.prom").read_text(), re.M)
        with __import__("urllib.request").request.urlopen(url + "/__day2/report", timeout=10) as resp:
            report = json.loads(resp.read())
        # The night's collection requests were all recorded; only the investigations --record-dir adds
        # for a failed run (RunDetail, RunGroup) are not in this generated bundle.
        assert all(re.search(r"graphql:(RunDetail|RunGroup) ", miss) for miss in report["misses"]), report["misses"]
        # The HTML report's run posted the morning's headline to Slack, once.
        assert [r["path"] for r in slack.requests] == ["/services/T0/B0/cronjob"]
        assert json.loads(slack.requests[0]["body"])["blocks"][0]["text"]["text"] == "day2 \u00b7 prod \u00b7 2026-11-24"
    finally:
        slack.close()
        server.terminate()
        server.wait(timeout=20)
