"""What a run file records of the code it ran from (bench/common.py)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from bench.common import git_state


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=repo, check=True, capture_output=True)


def test_the_bench_outputs_do_not_make_the_code_dirty_but_code_changes_do(tmp_path: Path) -> None:
    (tmp_path / "bench" / "results").mkdir(parents=True)
    code, report = tmp_path / "bench" / "quality.py", tmp_path / "bench" / "results" / "REPORT.md"
    code.write_text("x = 1\n")
    report.write_text("# report\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "start")
    assert git_state(tmp_path)["dirty"] is False

    report.write_text("# report, rebuilt by the previous run\n")
    (tmp_path / "bench" / "results" / "20261207T000000Z.json").write_text("{}\n")
    assert git_state(tmp_path)["dirty"] is False

    code.write_text("x = 2\n")
    assert git_state(tmp_path)["dirty"] is True
