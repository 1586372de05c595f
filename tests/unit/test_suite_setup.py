"""The suite's own set-up: `./dev test` runs two workers with `--dist loadgroup` so that the
Spark modules (`xdist_group("spark")`) share one worker, one JVM and their session fixtures.
pytest 9.2 silently dropped the group suffix pytest-xdist relies on (pytest-dev/pytest-xdist#1386):
the suite still passed, two minutes slower. This catches the next such change."""

from __future__ import annotations

import subprocess
import sys

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("spark")


def test_one():
    pass


def test_two():
    pass
"""


def test_loadgroup_keeps_a_group_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
                          str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    workers = {line.split()[0] for line in run.stdout.splitlines() if "test_grouped.py::" in line and "PASSED" in line}
    assert "test_grouped.py::test_one@spark" in run.stdout, "the installed pytest drops pytest-xdist's group suffix"
    assert len(workers) == 1, run.stdout
