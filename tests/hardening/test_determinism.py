"""Determinism: the same input gives the same portfolio and identical output tables on every run,
in fresh processes with different hash seeds (so no set or dict order can leak into a result).
Every cell of every sheet is compared, except the cells that time the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
from helpers import make_workbook, project

import fuzz


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every sheet as rows of (type name, repr) cells, without the run's timings."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows(values_only=True):
                label = str(row[0]) if row and row[0] is not None else ""
                if ws.title in ("Summary", "Run") and (label.startswith("time") or label.startswith("run time")):
                    continue
                rows.append(tuple((type(v).__name__, repr(v)) for v in row))
            out[ws.title] = rows
        return out
    finally:
        wb.close()


def ties(path: Path) -> Path:
    """24 projects in three groups of identical capex and NPV, room for nine: many optimal
    portfolios, so only a deterministic solver and report pick the same one every time."""
    projects = [project(f"T{i:02d}", 10 + 5 * (i % 3), 3 + (i % 3), sector=("AI", "Grid", "Ports")[i % 3],
                        risk=1 + i % 3, min_stake=0.5 if i % 7 == 0 else None, max_stake=1 if i % 7 == 0 else None)
                for i in range(24)]
    return make_workbook(path, projects, fund={"equity_capital": 130, "alternatives": 3, "explain_limit": 5,
                                               "max_avg_risk": 2.5},
                         sectors=[{"sector": "AI", "max_share": 0.5}, {"sector": "Grid"}, {"sector": "Ports"}],
                         rules=[{"rule": "at_most", "projects": "T01, T04, T07, T10", "k": 2}])


def run(src: Path, out: Path, seed: int) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    done = subprocess.run([sys.executable, "-m", "optimizer", "run", str(src), "-o", str(out), "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_three_runs_give_the_same_portfolio_and_identical_tables(tmp_path):
    cases = [ties(tmp_path / "ties.xlsx")]
    for base in (fuzz.base_rich, fuzz.base_sample):
        path = tmp_path / f"{base.__name__}.xlsx"
        fuzz.write_book(base(), path)
        cases.append(path)
    for src in cases:
        runs = [run(src, tmp_path / f"{src.stem}-{k}.xlsx", seed) for k, seed in enumerate((0, 1, 4242))]
        first = {k: v for k, v in runs[0].items() if k != "output"}
        for other in runs[1:]:
            assert {k: v for k, v in other.items() if k != "output"} == first
        want = tables(tmp_path / f"{src.stem}-0.xlsx")
        assert set(want) >= {"Summary", "Portfolio", "Alternatives", "Rejected", "Run", "Projects"}
        assert len(want["Portfolio"]) > 1
        for k in (1, 2):
            got = tables(tmp_path / f"{src.stem}-{k}.xlsx")
            assert list(got) == list(want)
            for title in want:
                assert got[title] == want[title], f"{src.name}: sheet {title} differs between runs"
