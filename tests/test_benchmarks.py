"""The speed benchmarks' one command, small: it runs every part end to end and its verdicts are right.

The benchmarks measure and assert no speed; what is checked here is that the one documented
command still runs (real ``fundopt run`` processes, real HiGHS references) and that its summary
says met / NOT met exactly where the figures are on either side of the issue's targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_speed  # noqa: E402


def test_the_one_command_runs_small_and_every_objective_agrees(tmp_path, capsys):
    rc = bench_speed.main(["--core-sizes", "300", "--no-50k", "--core-runs", "1", "--hard-runs", "1",
                           "--hard-projects", "30", "--hard-per-tightness", "1", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    summary = out[out.rindex("# summary"):]
    lines = {line.split("  ")[0]: line for line in summary.splitlines()}
    assert lines["fundopt --help"].rstrip().endswith("met")  # "met" or "NOT met": timed, so no speed asserted
    core = lines["core path, 300 projects"]
    assert "median of 1" in core and core.rstrip().endswith("—")  # no target at this size
    hard = lines["hard 5 × 30, 3 instances (0.25/0.5/0.75)"]
    assert hard.rstrip().endswith("NOT met")  # three instances, not the ten the target asks for
    assert "objectives agree with the reference on every instance (within the gap): yes" in summary
    assert (tmp_path / "core" / "core-300.xlsx").exists() and len(list((tmp_path / "hard").glob("*.xlsx"))) >= 3


def _core(ref, fo, rss=None, pairs=(1.0,)):
    return dict(reference_s=ref, fundopt_s=fo, ratio=fo / ref, runs=len(pairs), pair_ratios=list(pairs),
                agree=True, peak_rss_mb=rss, failure=None)


@pytest.mark.parametrize("ten_k, hard_ratio, instances, rss, verdicts", [
    ((2.00, 2.30), 0.70, 12, 2048, ["met", "met", "met", "met"]),            # each exactly on its target
    ((2.00, 2.32), 0.71, 12, 2049, ["met", "NOT met", "NOT met", "NOT met"]),  # each just over
    ((2.00, 1.00), 0.30, 9, 100, ["met", "met", "met", "NOT met"]),           # nine instances are too few
])
def test_the_verdicts_sit_on_the_issue_targets(ten_k, hard_ratio, instances, rss, verdicts):
    rows = bench_speed.summary_rows(
        dict(wall_s=0.5, runs=5, ok=True),
        {10000: _core(*ten_k, pairs=(1.1, 1.2)), 50000: _core(10.0, 30.0, rss=rss)},
        dict(projects=100, instances=instances, reference_s=4.0, fundopt_s=4.0 * hard_ratio, ratio=hard_ratio,
             cpu_ratio=hard_ratio, levels=[0.25, 0.5, 0.75]))
    assert [r[0] for r in rows] == ["fundopt --help", "core path, 10,000 projects", "core path, 50,000 projects",
                                    f"hard 5 × 100, {instances} instances (0.25/0.5/0.75)"]
    assert [r[-1] for r in rows] == verdicts
    assert rows[1][3] == f"{ten_k[1] / ten_k[0]:.2f}×" and "pairs 1.10–1.20×" in rows[1][1]
    assert f"peak RSS {rss:,} MB" in rows[2][1] and rows[2][3] == "3.00×"


def test_a_run_that_did_not_finish_is_reported_failed():
    r = dict(reference_s=1.5, fundopt_s=None, ratio=None, runs=0, pair_ratios=[], agree=False,
             peak_rss_mb=300.0, failure="fundopt failed (exit 3)")
    (row,) = bench_speed.summary_rows({}, {10000: r}, {})
    assert row[1] == "did not finish" and row[-1] == "FAILED: fundopt failed (exit 3)"
