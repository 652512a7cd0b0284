"""Small pipelines with Scenarios rows whose optimum the brute force of tests/enumerate.py gives.

``SCENARIOS`` covers each kind of scenario column: Fund parameters (``equity_capital``,
``approval_rule``, ``min_esg_score``), Sectors values (``sector:<name>:<column>``) and NPV
scales (``npv_scale:<sector>``). :func:`expected` applies a scenario to the raw rows the way
SPEC §1 says and asks the enumeration for the optimum; it shares no code with fundopt.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

from enumerate import reference
from helpers import make_workbook, project

ROOT = Path(__file__).resolve().parents[2]

PROJECTS = [
    project("AI-1", 90, 14, "AI", esg_score=70, us_approval="yes", jp_approval="yes"),
    project("AI-2", 60, 8, "AI", esg_score=35, us_approval="yes", jp_approval="yes"),
    project("AI-3", 40, 5, "AI", esg_score=80, us_approval="yes", jp_approval="pending"),
    project("EN-1", 110, 12, "Energy", esg_score=60, us_approval="yes", jp_approval="yes"),
    project("EN-2", 70, 7.5, "Energy", esg_score=90, us_approval="yes", jp_approval="yes"),
    project("SP-1", 50, 6, "Space", esg_score=55, us_approval="no", jp_approval="yes"),
    project("SP-2", 30, 2.5, "Space", esg_score=65, us_approval="yes", jp_approval="yes"),
]
FUND = {"equity_capital": 250, "mip_gap": 0, "alternatives": 1, "explain_limit": 2}
SECTORS = [{"sector": "AI", "max_share": 0.6}, {"sector": "Energy", "min_projects": 1}, {"sector": "Space"}]

SCENARIOS = [
    {"scenario": "more equity", "equity_capital": 400},
    {"scenario": "less equity", "equity_capital": 150},
    {"scenario": "either approves", "approval_rule": "either"},
    {"scenario": "esg 50", "min_esg_score": 50},
    {"scenario": "ai capped", "sector:AI:max_share": 0.25},
    {"scenario": "ai at most 1", "sector:AI:max_projects": 1},
    {"scenario": "space needed", "sector:Space:min_projects": 2},
    {"scenario": "ai halves", "npv_scale:AI": 0.5},
    {"scenario": "energy booms", "npv_scale:Energy": 1.8, "equity_capital": 300},
]


def workbook(path: Path, scenarios=None, projects=None, **extra) -> Path:
    return make_workbook(path, projects or PROJECTS, fund={**FUND, **extra.pop("fund", {})},
                         sectors=extra.pop("sectors", SECTORS),
                         scenarios=SCENARIOS if scenarios is None else scenarios, **extra)


def expected(scenario: dict | None, projects=None, fund=None, sectors=None):
    """The enumeration's optimum of the base rows with the scenario applied."""
    projects = copy.deepcopy(projects or PROJECTS)
    fund = dict(fund or FUND)
    sectors = copy.deepcopy(sectors if sectors is not None else SECTORS)
    for key, value in (scenario or {}).items():
        if key == "scenario":
            continue
        parts = key.split(":")
        if parts[0] == "npv_scale":
            for p in projects:
                if p["sector"] == parts[1]:
                    p["npv"] = p["npv"] * value
        elif parts[0] == "sector":
            row = next((s for s in sectors if s["sector"] == parts[1]), None)
            if row is None:
                row = {"sector": parts[1]}
                sectors.append(row)
            row[parts[2]] = value
        else:
            fund[key] = value
    return reference(projects, fund=fund, sectors=sectors)


def fundopt(*args, timeout=120, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def batch_json(*args, **kw) -> tuple[int, dict]:
    proc = fundopt("batch", *args, "--json", **kw)
    assert proc.stdout.count("\n") == 1, (proc.stdout, proc.stderr)
    return proc.returncode, json.loads(proc.stdout)


def selections(records) -> dict[str, frozenset]:
    return {r["scenario"]: frozenset(s[0] for s in r["selected"]) for r in records}
