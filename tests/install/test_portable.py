"""The portable day2 (tools/release) and its container image (tools/image), tested the honest way:
the binary's ldd lists only glibc and OpenSSL; a minimal Debian root filesystem built from the
package mirror (debootstrap minbase + libssl3 + tzdata, no build dependency) runs `day2 --version`
and the example night as the image's non-root user (chroot); the OCI image's config (user,
entrypoint, layers) is read back with skopeo, and day2 runs from the image's own unpacked layer.

Needs root (debootstrap, chroot) and the Debian mirror. Run by ctest (portable_release_and_image),
in the ci build only. DAY2_RELEASE_BUILD names the portable build whose day2 is packaged (tools/test's
ci build); without it, tools/release builds one in build/release (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import shutil

import pytest

ROOT = Path(__file__).resolve().parents[2]
RELEASE_BUILD = Path(os.environ.get("DAY2_RELEASE_BUILD") or ROOT / "build" / "release")
ALLOWED = re.compile(r"^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|"
                     r"/lib64/ld-linux-x86-64\.so\.2|libssl\.so\.3|libcrypto\.so\.3)$")
USER = "65532:65532"
CHROOT = shutil.which("chroot", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or "chroot"


def run(args: list[str], timeout: int = 900, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def image() -> str:
    if os.geteuid() != 0:
        pytest.fail("tools/image needs root (debootstrap, chroot): run the tests as root")
    return run([str(ROOT / "tools" / "image")], timeout=1800).stdout.strip().splitlines()[-1]


def test_the_portable_binary_needs_only_glibc_and_openssl(image):
    binary = RELEASE_BUILD / "dist" / "day2"
    libraries = [line.split()[0] for line in run(["ldd", str(binary)]).stdout.splitlines() if line.strip()]
    assert libraries and all(ALLOWED.match(lib) for lib in libraries), libraries
    assert any(lib.startswith("libssl") for lib in libraries)


def test_a_minimal_debian_runs_the_version_and_the_demo_as_a_non_root_user(image):
    rootfs = ROOT / "build" / "image" / "rootfs"
    installed = run([CHROOT, str(rootfs), "dpkg-query", "-W", "-f", "${Package}\n"]).stdout.split()
    build_deps = [p for p in installed if re.fullmatch(r"(g\+\+|gcc|cpp)(-\d+)?|cmake|ninja-build|make|"
                                                       r"lib(fmt|re2|boost|cpp-httplib|date-tz|howardhinnant|ssl-dev).*|"
                                                       r"libstdc\+\+-\d+-dev", p)]
    assert build_deps == [], build_deps
    assert "libssl3" in installed and "tzdata" in installed
    resolved = run([CHROOT, str(rootfs), "ldd", "/usr/local/bin/day2"]).stdout
    assert "not found" not in resolved, resolved
    version = run([CHROOT, f"--userspec={USER}", str(rootfs), "/usr/local/bin/day2", "--version"]).stdout
    assert re.fullmatch(r"day2 \S+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n", version), version
    example = "/usr/local/share/day2/examples/dagster-fixture"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/var/lib/day2"}
    run([CHROOT, f"--userspec={USER}", str(rootfs), "day2", "collect", "--replay", f"{example}/bundle",
         "--out", "/var/lib/day2/day2.json", "--quiet"], env=env)
    artifact = json.loads((rootfs / "var" / "lib" / "day2" / "day2.json").read_text())
    assert artifact == json.loads((ROOT / "scenarios" / "dagster-fixture" / "day2.json").read_text())
    report = run([CHROOT, f"--userspec={USER}", str(rootfs), "day2", "report", "/var/lib/day2/day2.json", "--out", "-"],
                 env=env).stdout
    assert report.startswith("## Day-2 Operations Report — 2026-12-06 12:31 EST"), report[:200]


def test_the_image_is_day2_as_a_non_root_user(image, tmp_path):
    layout, tag = image.rsplit(":", 1)
    config = json.loads(run(["skopeo", "inspect", "--config", f"oci:{layout}:{tag}"]).stdout)
    assert config["config"]["User"] == USER
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/day2"]
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    assert len(config["rootfs"]["diff_ids"]) == 1
    bundle = tmp_path / "bundle"
    run(["umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle)])
    version = run([CHROOT, f"--userspec={USER}", str(bundle / "rootfs"), "/usr/local/bin/day2", "--version"]).stdout
    assert version.startswith("day2 ")
    assert (bundle / "rootfs" / "usr" / "local" / "share" / "day2" / "rules" / "default.rules.json").is_file()
