"""Numerics: money from 0.001 to 100,000 in one pipeline solves to the enumerated optimum;
ill-scaled money gets a warning (Summary sheet, standard error, ``--json`` ``warnings``), and
amounts the solver cannot hold are refused with a located error."""

from __future__ import annotations

import json
import random
import re

import pytest
from enumerate import reference, run_case
from helpers import make_workbook, project, sheet_rows
from typer.testing import CliRunner

from optimizer.cli import app

SCALES = (0.001, 0.01, 0.1, 1, 10, 100, 1_000, 10_000, 100_000)


def wide_case(seed: int) -> dict:
    """10 projects whose capex and NPV are drawn at scales from 0.001 to 100,000 (kept within
    that range), tight equity and a first-year budget: small and large projects compete."""
    rng = random.Random(seed)
    projects = []
    for j in range(10):
        s = rng.choice(SCALES)
        capex = min(100_000, max(0.001, round(s * rng.uniform(1, 9), 3)))
        npv = min(100_000, max(0.001, round(s * rng.uniform(0.05, 2), 3)))
        projects.append(project(f"P{j:02d}", capex, npv, sector=rng.choice(("A", "B"))))
    # every scale appears: the smallest and the largest amounts are in the pipeline
    projects[0].update(capex=0.002, npv=0.001)
    projects[1].update(capex=100_000, npv=30_000)
    sums = [sum(p["capex"] for k, p in enumerate(projects) if mask >> k & 1) for mask in range(1 << len(projects))]

    def limit(low: float, high: float) -> float:
        """A limit no portfolio's total comes within 1e-6 of: the solver's tolerance and the
        enumeration's never decide which side of it a portfolio falls (that is not numerics)."""
        while True:
            x = round(min(sums[-1] * rng.uniform(low, high), rng.uniform(90_000, 100_000)), 3)
            if all(abs(t - x) > 1e-6 * x for t in sums):
                return x

    fund = {"mip_gap": 0, "equity_capital": limit(0.3, 0.7), "alternatives": 1, "explain_limit": 0}
    budget = [{"year": 2027, "capital_limit": limit(0.4, 0.8)}]
    return dict(projects=projects, fund=fund, budget=budget)


@pytest.mark.parametrize("seed", range(12))
def test_money_from_a_thousandth_to_a_hundred_thousand_solves_to_the_enumerated_optimum(tmp_path, seed):
    case = wide_case(seed)
    ref = reference(case["projects"], fund=case["fund"], budget=case["budget"])
    solved = run_case(tmp_path, f"wide{seed}", **case)
    assert solved.status == "optimal"
    # exact to 1e-9 of the objective: the 0.001 projects are not lost in the 100,000 ones
    assert solved.objective == pytest.approx(ref.objective, rel=1e-9, abs=1e-9)
    if ref.unique is not None:
        assert solved.selected == ref.unique


def test_the_wide_but_sound_range_gets_no_warning(tmp_path):
    path = make_workbook(tmp_path / "wide.xlsx", **wide_case(0))
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "out.xlsx"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == []
    assert "Warning" not in result.stderr


def ill_scaled(path):
    return make_workbook(path, [project("P1", 0.000_5, 0.000_2), project("P2", 90_000, 20_000),
                                project("P3", 40, 10)], fund={"equity_capital": 100_000, "explain_limit": 1})


def test_ill_scaled_money_is_solved_and_warned_about_everywhere(tmp_path):
    path = ill_scaled(tmp_path / "ill.xlsx")
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.stdout
    payload = json.loads(result.stdout)
    assert payload["status"] == "optimal" and set(payload["selected"]) == {"P1", "P2", "P3"}
    (w,) = payload["warnings"]
    assert (w["sheet"], w["row"], w["column"], w["value"]) == ("Projects", 2, "npv", 0.0002)
    assert w["message"].startswith("money spans 0.0002 to 1e+05 USD bn (the largest on Fund, equity_capital), "
                                   "a ratio of 5.0e+08, more than 1e+08")
    assert "Warning: Projects row 2, column npv: money spans" in " ".join(result.stderr.split())
    summary = [r["value"] for r in sheet_rows(out, "Summary") if r["item"] == "warning"]
    assert len(summary) == 1 and "a ratio of 5.0e+08" in summary[0]


def test_validate_warns_too(tmp_path):
    path = ill_scaled(tmp_path / "ill.xlsx")
    result = CliRunner().invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["status"] == "valid" and len(payload["warnings"]) == 1


def test_amounts_below_the_solver_tolerance_are_warned_about(tmp_path):
    path = make_workbook(tmp_path / "tiny.xlsx", [project("P1", 2, 1), project("P2", 3, 1e-8)],
                         fund={"equity_capital": 10, "explain_limit": 1})
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "out.xlsx"), "--json"])
    assert result.exit_code == 0
    msgs = [(w["row"], w["column"], w["message"]) for w in json.loads(result.stdout)["warnings"]]
    assert (3, "npv", "npv is 1e-08 USD bn, below the solver's tolerance of 1e-06: it may count as 0; "
                      "use a smaller currency unit") in msgs


@pytest.mark.parametrize("sheet, where, value", [
    ("Projects", "capex", 1e15), ("Projects", "npv", -3e18), ("Projects", "npv", 1e308),
    ("Fund", "equity_capital", 1e300), ("Budget", "capital_limit", 5e15), ("Sectors", "min_projects", 1e16),
])
def test_amounts_the_solver_cannot_hold_are_located_errors(tmp_path, sheet, where, value):
    projects = [project("P1", 10, 3), project("P2", 12, 4)]
    kw = {"fund": {"equity_capital": 15}}
    if sheet == "Projects":
        projects[1][where] = value
    elif sheet == "Fund":
        kw["fund"][where] = value
    elif sheet == "Budget":
        kw["budget"] = [{"year": 2027, where: value}]
    else:
        kw["sectors"] = [{"sector": "Energy", where: value}]
    path = make_workbook(tmp_path / "big.xlsx", projects, **kw)
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "out.xlsx"), "--json"])
    assert result.exit_code == 2
    (e,) = json.loads(result.stdout)["errors"]
    assert e["sheet"] == sheet and e["row"] in (2, 3) and e["value"] == value
    assert e["message"] == (f"{where} is too large: amounts of 1e15 or more are not read (the solver cannot "
                            "handle them exactly); check the currency unit")
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("where", ["capex", "schedule"])
def test_an_amount_ten_billion_times_the_typical_one_is_a_located_error(tmp_path, where):
    # HiGHS fails on such a model (or, further out, funds an excluded project): refused, not solved
    projects = [project("P1", 10, 3), project("P2", 12, 4), project("P3", 8, 2, decision="exclude")]
    kw: dict = {"fund": {"equity_capital": 20}}
    if where == "capex":
        projects[2]["capex"] = 3e14
    else:
        kw["schedule"] = {"P3": [2, 3e14, 2]}
    path = make_workbook(tmp_path / "far.xlsx", projects, **kw)
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "out.xlsx"), "--json"])
    assert result.exit_code == 2
    (e,) = json.loads(result.stdout)["errors"]
    column = "capex" if where == "capex" else "Y2"
    want = ("Projects", 4, "capex", 3e14) if where == "capex" else ("CapexSchedule", 2, "Y2", 3e14)
    assert (e["sheet"], e["row"], e["column"], e["value"]) == want
    assert re.fullmatch(rf"{column} is 3e\+14 USD bn, \d\.\de\+13 times the pipeline's typical amount \(\d+\): money "
                        r"more than 1e\+10 apart cannot be solved reliably; check the amount and the currency unit",
                        e["message"]), e["message"]
    assert not (tmp_path / "out.xlsx").exists()
