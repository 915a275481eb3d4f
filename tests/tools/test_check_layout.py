"""tools/check-layout: the library layout CI keeps (ARCHITECTURE.md, "Libraries"). The repository
itself passes; small trees with one problem each show that every rule can fail."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "tools", "check-layout")


def run(root):
    return subprocess.run([sys.executable, SCRIPT, str(root)], capture_output=True, text=True, timeout=60)


def write(root, path, text):
    full = root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)


@pytest.fixture
def tree(tmp_path):
    """recorder <- analyzer/a <- analyzer/b, each with a public and a private header."""
    write(tmp_path, "recorder/include/recorder/json.hpp", "#pragma once\n")
    write(tmp_path, "recorder/src/json.cpp", '#include "recorder/json.hpp"\n')
    write(tmp_path, "replay/include/replay/server.hpp", '#include "recorder/json.hpp"\n')
    write(tmp_path, "replay/src/server.cpp", '#include "replay/server.hpp"\n')
    write(tmp_path, "analyzer/a/include/analyzer/a/a.hpp", '#include "recorder/json.hpp"\n')
    write(tmp_path, "analyzer/a/src/a_private.hpp", "#pragma once\n")
    write(tmp_path, "analyzer/a/src/a.cpp", '#include "analyzer/a/a.hpp"\n#include "a_private.hpp"\n')
    write(tmp_path, "analyzer/b/include/analyzer/b/b.hpp", '#include "analyzer/a/a.hpp"\n')
    write(tmp_path, "analyzer/b/src/b.cpp", '#include "analyzer/b/b.hpp"\n')
    return tmp_path


def test_the_repository_keeps_its_layout():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    graph = dict(line.split(" -> ") for line in result.stdout.splitlines())
    assert graph["recorder/base"] == "(nothing)"
    assert graph["recorder"] == "recorder/base"
    assert "replay" not in graph["recorder/server"]
    assert "analyzer/artifact" in graph["analyzer/report"]
    assert "analyzer/report" not in graph["analyzer/artifact"]


def test_a_tree_with_one_way_arrows_passes(tree):
    result = run(tree)
    assert result.returncode == 0, result.stdout
    assert "analyzer/b -> analyzer/a\n" in result.stdout


def test_a_private_header_of_another_library_is_refused(tree):
    write(tree, "analyzer/b/src/b2.cpp", '#include "a_private.hpp"\n')
    result = run(tree)
    assert result.returncode == 1
    assert "analyzer/b/src/b2.cpp:1: includes a_private.hpp, private to analyzer/a (its src/)" in result.stdout


def test_a_path_into_another_library_is_refused(tree):
    write(tree, "analyzer/b/src/b3.cpp", '\n#include "../../a/src/a_private.hpp"\n')
    result = run(tree)
    assert result.returncode == 1
    assert "analyzer/b/src/b3.cpp:2: includes ../../a/src/a_private.hpp, a file of analyzer/a by path" in result.stdout


def test_a_cycle_between_libraries_is_refused(tree):
    write(tree, "analyzer/a/src/a2.cpp", '#include "analyzer/b/b.hpp"\n')
    result = run(tree)
    assert result.returncode == 1
    assert "library graph: cycle analyzer/a -> analyzer/b -> analyzer/a" in result.stdout


def test_the_base_library_including_a_higher_one_is_a_cycle(tree):
    write(tree, "recorder/src/bad.cpp", '#include "replay/server.hpp"\n')
    result = run(tree)
    assert result.returncode == 1
    assert "cycle recorder -> replay -> recorder" in result.stdout


def test_a_crowded_folder_and_a_long_file_are_refused(tree):
    for i in range(26):
        write(tree, f"analyzer/a/src/f{i:02}.cpp", "int x;\n")
    write(tree, "analyzer/b/src/long.cpp", "\n" * 501)
    result = run(tree)
    assert result.returncode == 1
    assert "analyzer/a/src:0: 27 .cpp files, more than 25" in result.stdout
    assert "analyzer/b/src/long.cpp:1: 501 lines, more than 500" in result.stdout
