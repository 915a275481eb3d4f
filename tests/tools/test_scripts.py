"""The scripts under tools/ say why they fail (issue: a newcomer's clone stands alone).

1. tools/demo with a compile error in a scratch copy of the repository prints the compiler's message
   (ninja writes it on stdout, which tools/demo used to throw away) and exits non-zero.
2. tools/setup, run by a user who is not root and has no sudo, with a Debian package missing, prints
   the exact apt-get line that installs it and exits non-zero.
3. tools/bench-scale on a small night collects every signal of it (its Google Cloud steps too: a
   collection that leaves recorded exchanges unused fails the benchmark) and prints its figures.

Run: pytest tests/tools/test_scripts.py (ctest tools_scripts). About a minute: the demo configures a
build of the scratch copy and stops at the first object that fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MISSING = "day2-no-such-package"


def scratch_copy(dest: Path) -> Path:
    """The tracked files of the repository, copied (not the build or the virtual environments)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if not name or not (ROOT / name).exists():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return dest


def test_demo_prints_the_compilers_message(tmp_path):
    repo = scratch_copy(tmp_path / "day2")
    # The virtual environments are up to date in the checkout: tools/setup finds them so.
    for venv in ROOT.glob(".venv*"):
        (repo / venv.name).symlink_to(venv)
    source = repo / "recorder" / "src" / "bundle.cpp"
    source.write_text('#error "day2 injected compile error"\n' + source.read_text())
    proc = subprocess.run([str(repo / "tools" / "demo")], capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "day2 injected compile error" in proc.stderr, proc.stderr
    assert "bundle.cpp" in proc.stderr
    assert "demo: failed (exit" in proc.stderr


def test_bench_scale_reads_the_whole_night(tmp_path):
    day2 = os.environ.get("DAY2_BINARY", str(ROOT / "build" / "ci" / "day2"))
    parse = os.environ.get("DAY2_BENCH_PARSE", str(ROOT / "build" / "ci" / "day2_bench_parse"))
    proc = subprocess.run([str(ROOT / "tools" / "bench-scale"), "--day2", day2, "--parse", parse, "--sizes", "40",
                           "--repeat", "1", "--keep", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[:1] == ["40"]]
    assert len(rows) == 1, proc.stdout
    artifact = json.loads((tmp_path / "night-40" / "day2.bench.json").read_text())
    # The night's Google Cloud signals were collected, not skipped for want of a project.
    assert artifact["step_10_gke_events"].get("skipped") is not True, artifact["step_10_gke_events"]
    assert artifact["step_10_gke_events"]["podEvents"], artifact["step_10_gke_events"]
    assert (tmp_path / "night-40" / "report.md").read_text().startswith("## Day-2 Operations Report")


def test_setup_without_root_or_sudo_prints_the_apt_line():
    # Not pytest's tmp_path: its parent is private to this user, and the script runs as another.
    with tempfile.TemporaryDirectory(prefix="day2-setup-") as tmp:
        check_setup_without_root(Path(tmp))


def check_setup_without_root(tmp_path: Path) -> None:
    tools = tmp_path / "day2" / "tools"
    tools.mkdir(parents=True)
    for name in ("setup", "lib.sh"):
        shutil.copy2(ROOT / "tools" / name, tools / name)
    setup = tools / "setup"
    text = setup.read_text()
    end_of_packages = "\n)\nmissing=()"  # the packages=( ... ) list ends here
    assert end_of_packages in text
    setup.write_text(text.replace(end_of_packages, f" {MISSING}{end_of_packages}", 1))
    for path in (tmp_path, tmp_path / "day2", tools):
        path.chmod(0o755)
    command = [str(setup)]
    if os.geteuid() == 0:  # become a user without root (nobody); such a user has no sudo
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--reset-env", *command]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert f"apt-get install -y --no-install-recommends {MISSING}" in proc.stderr, proc.stderr
    assert "needs root" in proc.stderr
