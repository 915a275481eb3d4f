"""`day2 report --notify slack` and `--upload gs://...` against local stand-ins that check each request
against the documented formats: Slack's incoming webhooks (POST of a JSON body with `text` and Block
Kit `blocks`: header, section, context; the limits of the Block Kit reference), and Cloud Storage's
JSON API simple upload (POST /upload/storage/v1/b/BUCKET/o?uploadType=media&name=OBJECT with the
object's Content-Type and a bearer token). A 500 from either is reported with exit 1 and the report
stays on disk; the webhook URL and the token are never printed.

Run by ctest (report_delivery) with DAY2 set to the day2 binary under test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "scenarios" / "dagster-fixture" / "day2.json"
DAY2 = os.environ.get("DAY2", "")
WEBHOOK_PATH = "/services/T0DAY2/B0DAY2/s3cr3tW3bh00kP4th"
TOKEN = "ya29.day2-stand-in-token-0123456789"


class StandIn:
    """An HTTP server on 127.0.0.1 that records every request and answers `status` with `body`."""

    def __init__(self, status: int = 200, body: bytes = b"ok", content_type: str = "text/plain"):
        self.requests: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                stand_in.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                          "body": self.rfile.read(length)})
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def day2(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    if not DAY2:
        pytest.fail("DAY2 (the day2 binary) is required")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([DAY2, *args], capture_output=True, text=True, timeout=120, env=full_env)


def json_report() -> dict:
    proc = day2(["report", str(ARTIFACT), "--format", "json", "--out", "-"])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_block_kit(message: dict) -> None:
    """Slack's incoming-webhook payload: a fallback `text` and at most 50 blocks of known types within
    the Block Kit reference's limits."""
    assert isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        assert block["type"] in {"header", "section", "context"}, block
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert block["text"]["type"] == "mrkdwn" and 0 < len(block["text"]["text"]) <= 3000
        else:
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                assert element["type"] == "mrkdwn" and len(element["text"]) <= 3000


def test_slack_gets_the_headline_and_every_action(tmp_path):
    slack = StandIn()
    try:
        proc = day2(["report", str(ARTIFACT), "--format", "html", "--out-dir", str(tmp_path), "--deployment", "prod",
                     "--notify", "slack", "--report-url", "https://reports.example.com/prod/latest.html"],
                    {"DAY2_SLACK_WEBHOOK_URL": slack.url + WEBHOOK_PATH})
    finally:
        slack.close()
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "day2-report-prod-2026-12-06.html"
    assert proc.stdout == f"{written}\n" and written.is_file()
    assert WEBHOOK_PATH not in proc.stdout + proc.stderr
    assert len(slack.requests) == 1
    request = slack.requests[0]
    assert request["path"] == WEBHOOK_PATH
    assert request["headers"]["Content-Type"] == "application/json"
    message = json.loads(request["body"])
    check_block_kit(message)
    expected = json_report()
    assert message["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "day2 \u00b7 prod \u00b7 2026-12-06"}}
    assert message["blocks"][1]["text"]["text"].startswith("*" + expected["headline"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    sections = [b["text"]["text"] for b in message["blocks"][2:] if b["type"] == "section"]
    assert len(sections) == len(expected["actions"]) > 0
    for text, row in zip(sections, expected["actions"]):
        assert text.startswith(f"*{row['action']}* "), (text, row)
    assert message["blocks"][-1]["elements"][0]["text"] == "<https://reports.example.com/prod/latest.html|Full report>"


def test_a_slack_failure_is_exit_1_and_the_report_stays(tmp_path):
    slack = StandIn(500, b"internal_error")
    try:
        proc = day2(["report", str(ARTIFACT), "--out-dir", str(tmp_path), "--notify", "slack"],
                    {"DAY2_SLACK_WEBHOOK_URL": slack.url + WEBHOOK_PATH})
    finally:
        slack.close()
    assert proc.returncode == 1
    assert "--notify slack: Slack webhook: HTTP 500: internal_error" in proc.stderr, proc.stderr
    assert (tmp_path / "day2-report-2026-12-06.md").is_file()
    assert WEBHOOK_PATH not in proc.stdout + proc.stderr


def test_no_webhook_url_is_exit_1_naming_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DAY2_SLACK_WEBHOOK_URL"}
    proc = subprocess.run([DAY2, "report", str(ARTIFACT), "--out-dir", str(tmp_path), "--notify", "slack"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 1 and "$DAY2_SLACK_WEBHOOK_URL is not set" in proc.stderr
    assert (tmp_path / "day2-report-2026-12-06.md").is_file()


def test_the_report_and_the_night_go_to_cloud_storage_then_slack_links_there(tmp_path):
    night = tmp_path / "2026-12-06"
    shutil.copytree(ROOT / "scenarios" / "dagster-fixture" / "bundle", night / "bundle")
    shutil.copy(ARTIFACT, night / "day2.json")
    storage = StandIn(200, b'{"kind": "storage#object"}', "application/json")
    slack = StandIn()
    try:
        proc = day2(["report", str(ARTIFACT), "--format", "html", "--out-dir", str(tmp_path / "reports"),
                     "--deployment", "prod", "--upload", "gs://day2-reports/nightly/prod/",
                     "--upload-bundle", str(night), "--gcp-api-root", storage.url,
                     "--gcp-access-token-env", "DAY2_TEST_TOKEN", "--notify", "slack"],
                    {"DAY2_TEST_TOKEN": TOKEN, "DAY2_SLACK_WEBHOOK_URL": slack.url + WEBHOOK_PATH})
    finally:
        storage.close()
        slack.close()
    assert proc.returncode == 0, proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    report = tmp_path / "reports" / "day2-report-prod-2026-12-06.html"
    link = "https://storage.cloud.google.com/day2-reports/nightly/prod/day2-report-prod-2026-12-06.html"
    assert proc.stdout.splitlines() == [str(report), link]
    files = sorted(p for p in night.rglob("*") if p.is_file())
    expected = [("nightly/prod/day2-report-prod-2026-12-06.html", report, "text/html; charset=utf-8")]
    for p in files:
        relative = p.relative_to(night).as_posix()
        expected.append((f"nightly/prod/2026-12-06/{relative}", p, "application/json"))
    assert len(storage.requests) == len(expected)
    for request, (name, path, content_type) in zip(storage.requests, expected):
        url = urlsplit(request["path"])
        assert url.path == "/upload/storage/v1/b/day2-reports/o"
        assert parse_qs(url.query, strict_parsing=True) == {"uploadType": ["media"], "name": [name]}
        assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert request["headers"]["Content-Type"] == content_type
        assert request["body"] == path.read_bytes(), name
    message = json.loads(slack.requests[0]["body"])
    assert message["blocks"][-1]["elements"][0]["text"] == f"<{link}|Full report>"


def test_a_storage_failure_is_exit_1_and_the_report_stays(tmp_path):
    storage = StandIn(500, b'{"error": {"code": 500, "message": "Backend Error"}}', "application/json")
    try:
        proc = day2(["report", str(ARTIFACT), "--out-dir", str(tmp_path), "--upload", "gs://day2-reports",
                     "--gcp-api-root", storage.url, "--gcp-access-token-env", "DAY2_TEST_TOKEN"],
                    {"DAY2_TEST_TOKEN": TOKEN})
    finally:
        storage.close()
    assert proc.returncode == 1
    assert "upload to gs://day2-reports/day2-report-2026-12-06.md: HTTP 500: Backend Error" in proc.stderr, proc.stderr
    assert (tmp_path / "day2-report-2026-12-06.md").is_file()
    assert TOKEN not in proc.stdout + proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--upload", "s3://bucket"], "--upload: \"s3://bucket\" is not gs://BUCKET[/PREFIX]"),
    (["--upload", "gs://Bad_Bucket"], "is not a Cloud Storage bucket name"),
    (["--notify", "teams"], "--notify: \"teams\" is not slack"),
    (["--upload-bundle", "."], "--upload-bundle needs --upload"),
    (["--notify", "slack", "--out", "-"], "not with --out -"),
])
def test_bad_delivery_options_are_usage_errors(tmp_path, args, message):
    proc = day2(["report", str(ARTIFACT), *args])
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
