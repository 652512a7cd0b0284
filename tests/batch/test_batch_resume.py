"""Kill -9 part-way through a batch, then --resume: every scenario exactly once, no broken workbook,
and the scenarios the journal recorded are not solved again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import openpyxl
import pytest

from batch_cases import ROOT, batch_json, expected, workbook
from helpers import sheet_rows

N = 20
SCENARIOS = [{"scenario": f"equity {150 + 5 * k}", "equity_capital": 150 + 5 * k} for k in range(N)]


def _journal(folder) -> list[dict]:
    path = folder / "journal.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass  # a torn last line
    return out


def _outputs_open(folder) -> None:
    for path in folder.glob("*.xlsx"):
        openpyxl.load_workbook(path, read_only=True).close()


def test_kill_9_then_resume_runs_only_what_is_missing(tmp_path):
    path = workbook(tmp_path / "pipeline.xlsx", scenarios=SCENARIOS)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "batch", str(path), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 120
        while len(_journal(out)) < 3:
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = _journal(out)
    total = N + 1  # and the base run
    assert 3 <= len(before) < total, len(before)
    assert not (out / "comparison.xlsx").exists()

    # what a kill inside a write leaves behind: a temporary workbook and a torn journal line
    (out / ".equity-999.xlsx.0123456789ab.tmp").write_bytes(b"PK\x03\x04 half a workbook")
    with open(out / "journal.jsonl", "a") as f:
        f.write('{"scenario": "equity 155", "hash": "')

    code, result = batch_json(path, "-o", out, "--resume")
    assert code == 0, result
    names = [s["scenario"] for s in result["scenarios"]]
    assert names == ["base"] + [s["scenario"] for s in SCENARIOS]  # each exactly once, in order
    assert result["reused"] == len(before) and result["ran"] == total - len(before)
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    _outputs_open(out)

    # the journal: the records from before the kill untouched, each scenario once
    after = _journal(out)
    assert after[:len(before)] == before
    assert sorted(r["scenario"] for r in after) == sorted(names)
    # the comparison has every scenario exactly once, and the right optimum for each
    rows = sheet_rows(out / "comparison.xlsx", "Comparison")
    assert [r["scenario"] for r in rows] == names
    for s, row in zip([None] + SCENARIOS, rows):
        ref = expected(s)
        assert row["objective"] == pytest.approx(ref.objective, abs=1e-6), row["scenario"]
        assert (out / row["output"]).is_file()

    # run again with --resume: nothing left to solve
    from optimizer.batch.run import run_batch

    again = run_batch(path, out, resume=True)
    assert again.ran == 0 and again.reused == total
    assert len(_journal(out)) == len(after)


def test_a_changed_workbook_or_solver_option_is_never_answered_from_the_journal(tmp_path):
    from optimizer.batch.run import run_batch

    scen = SCENARIOS[:3]
    out = tmp_path / "out"
    path = workbook(tmp_path / "pipeline.xlsx", scenarios=scen)
    assert run_batch(path, out).ran == 4
    # one scenario's value changed: the file's SHA-256 changes, so no stale result is reused
    changed = [dict(scen[0]), dict(scen[1], equity_capital=400), dict(scen[2])]
    workbook(tmp_path / "pipeline.xlsx", scenarios=changed)
    second = run_batch(path, out, resume=True)
    assert second.reused == 0 and second.ran == 4
    objective = {r["scenario"]: r["objective"] for r in second.records}
    assert objective[scen[1]["scenario"]] == pytest.approx(expected(changed[1]).objective)
    # other solver options are another result too
    assert run_batch(path, out, resume=True, overrides={"mip_gap": 0.001}).ran == 4
    # without --resume the journal starts afresh
    assert run_batch(path, out).ran == 4 and len(_journal(out)) == 4
    # a workbook deleted from the output folder is solved again on --resume
    (out / "base.xlsx").unlink()
    fifth = run_batch(path, out, resume=True)
    assert fifth.ran == 1 and fifth.reused == 3 and (out / "base.xlsx").is_file()
