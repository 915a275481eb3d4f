"""day2 installed as a user installs it: `cmake --install` into a scratch prefix and the DEB package
from `cpack -G DEB` unpacked into a scratch root each give a working day2 (--version names the
commit, the demo night replays and reports), its manual page and its completions.

Run by ctest (install_and_package) with DAY2_BUILD_DIR, the configured and built build directory.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("DAY2_BUILD_DIR", ""))
SOURCE = Path(__file__).resolve().parents[2]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def git_head() -> str | None:
    proc = subprocess.run(["git", "-C", str(SOURCE), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def portable(build_dir: Path) -> bool:
    return "DAY2_PORTABLE:BOOL=ON" in (build_dir / "CMakeCache.txt").read_text().splitlines()


def check_day2(bin_path: Path, share: Path, tmp: Path) -> None:
    version = run([str(bin_path), "--version"]).stdout
    m = re.fullmatch(r"day2 (\S+) \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n", version)
    assert m, version
    if git_head():
        assert m.group(2).startswith(git_head()), (version, git_head())
    # The demo: the recorded example night, replayed offline from the installed copy.
    bundle = share / "day2" / "examples" / "dagster-fixture" / "bundle"
    assert (bundle / "manifest.json").is_file()
    artifact = tmp / "day2.json"
    run([str(bin_path), "collect", "--replay", str(bundle), "--out", str(artifact), "--quiet"])
    report = run([str(bin_path), "report", str(artifact), "--format", "md", "--out", "-"]).stdout
    assert report.startswith("## Day-2 Operations Report"), report[:300]
    assert "Code error (`user-code-error`)" in report
    # The installed rules are the built-in ones, ready to copy and extend.
    rules = share / "day2" / "rules" / "default.rules.json"
    listed = run([str(bin_path), "rules", "--rules", str(rules)]).stdout
    assert "user-code-error" in listed
    # Manual page and completions: what this day2 prints, installed where man and the shells look.
    man = (share / "man" / "man1" / "day2.1").read_text()
    assert man == run([str(bin_path), "--man"]).stdout
    assert man.startswith(".TH DAY2 1") and '.SS "day2 collect"' in man and "--hours" in man
    bash = share / "bash-completion" / "completions" / "day2"
    assert bash.read_text() == run([str(bin_path), "--completion", "bash"]).stdout
    zsh = share / "zsh" / "vendor-completions" / "_day2"
    assert zsh.read_text().startswith("#compdef day2")
    complete = run(["bash", "-c", f"""
        source {bash}
        COMP_WORDS=(day2 col); COMP_CWORD=1; _day2; echo "1:${{COMPREPLY[*]}}"
        COMP_WORDS=(day2 collect --hou); COMP_CWORD=2; _day2; echo "2:${{COMPREPLY[*]}}"
        COMP_WORDS=(day2 report --for); COMP_CWORD=2; _day2; echo "3:${{COMPREPLY[*]}}"
    """]).stdout.splitlines()
    assert complete == ["1:collect", "2:--hours", "3:--format"], complete


@pytest.fixture(scope="module")
def build_dir() -> Path:
    if not (BUILD / "CMakeCache.txt").is_file():
        pytest.fail(f"DAY2_BUILD_DIR={BUILD!s}: not a configured build directory")
    return BUILD


def test_cmake_install_into_a_scratch_prefix(build_dir, tmp_path):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", str(build_dir), "--prefix", str(prefix)])
    assert (prefix / "share" / "doc" / "day2" / "README.md").is_file()
    assert (prefix / "share" / "doc" / "day2" / "day2.example.json").is_file()
    check_day2(prefix / "bin" / "day2", prefix / "share", tmp_path)


def test_the_deb_package_unpacked_into_a_scratch_root(build_dir, tmp_path):
    out = tmp_path / "pkg"
    run(["cpack", "-G", "DEB", "-B", str(out), "--config", str(build_dir / "CPackConfig.cmake")])
    debs = sorted(out.glob("day2_*.deb"))
    assert len(debs) == 1, list(out.iterdir())
    fields = run(["dpkg-deb", "--field", str(debs[0]), "Package", "Version", "Architecture", "Depends"]).stdout
    assert "Package: day2" in fields and "Version: " in fields, fields
    depends = re.search(r"^Depends: (.*)$", fields, re.M)
    assert depends, fields
    if portable(build_dir):
        # The portable build links every library but glibc and OpenSSL statically (tools/release).
        names = sorted(re.sub(r"[ (].*", "", d.strip()) for d in depends.group(1).split(","))
        assert names == ["libc6", "libssl3"], depends.group(1)
    else:
        for library in ("libre2", "libfmt", "libboost-program-options", "libssl", "libc6"):
            assert library in depends.group(1), depends.group(1)
    root = tmp_path / "root"
    run(["dpkg-deb", "-x", str(debs[0]), str(root)])
    listing = run(["dpkg-deb", "-c", str(debs[0])]).stdout
    assert "./usr/bin/day2" in listing and "./usr/share/man/man1/day2.1" in listing, listing[:2000]
    check_day2(root / "usr" / "bin" / "day2", root / "usr" / "share", tmp_path)
