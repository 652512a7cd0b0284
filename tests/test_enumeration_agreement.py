"""The two-nation agreement against exhaustive enumeration (tests/enumerate_fund.py).

Each seed draws a pipeline of 3–12 all-or-nothing projects rated 0–10 by each government
(us_score / jp_score, the two ratings drawn apart so that the nations disagree), with US / JP
approvals under each approval_rule, min_nation_satisfaction in [0.5, 0.95], and at random tight
equity, yearly capital limits, start windows, sector shares and counts, Rules, locks and the ESG
screen. Written as a real workbook with mip_gap 0 and run through
``run_workbook(..., verify=True)``:

- the optimum equals the enumerated one (abs 1e-6), and InfeasibleError is raised exactly when
  enumeration finds no portfolio;
- each nation's ideal V*[n] on Report.nations and on the output's Nations sheet equals the
  enumerated ideal (the best V[n] of any portfolio obeying every rule but the satisfaction one);
- each nation's reported satisfaction is ≥ min_nation_satisfaction − 1e-9 and equals
  V[n] / V*[n] of the reported portfolio;
- the invariant checker finds nothing wrong.
"""

from __future__ import annotations

import functools
import random
from collections import Counter

import openpyxl
import pytest

from enumerate_fund import reference_fund
from helpers import make_workbook, random_rules
from optimizer.errors import InfeasibleError
from optimizer.runner import run_workbook

SEEDS = range(130)
SECTOR_NAMES = ("Energy", "Chips", "Ports", "Water")
YEAR0 = 2027


def random_case(seed: int) -> dict:
    """make_workbook arguments for one random pipeline (also what reference_fund() takes)."""
    rng = random.Random(10_000 + seed)
    n = rng.randint(3, 12)
    sector_names = SECTOR_NAMES[:rng.randint(1, len(SECTOR_NAMES))]
    on = {family: rng.random() < p for family, p in (
        ("us", 0.5), ("jp", 0.5), ("esg", 0.2), ("locks", 0.25), ("windows", 0.4), ("duration", 0.4),
        ("budget", 0.4), ("sectors", 0.4), ("rules", 0.4), ("blank scores", 0.2))}
    theta = round(rng.uniform(0.5, 0.95), 3)
    fund: dict = {"mip_gap": 0, "min_nation_satisfaction": theta}
    if on["us"] or on["jp"]:
        rule = rng.choice(("both", "either", "none", None))
        if rule:
            fund["approval_rule"] = rule
    if on["esg"]:
        fund["min_esg_score"] = rng.randint(20, 50)
    approvals = ("yes", "yes", "yes", "yes", "Yes", "no", "pending", None)
    projects = []
    windows = 0
    for j in range(n):
        capex = rng.randint(5, 60)
        us = rng.randint(0, 10)
        # Japan's rating leans against the US one, so that the two ideals differ
        jp = max(0, min(10, 10 - us + rng.randint(-3, 3))) if rng.random() < 0.7 else rng.randint(0, 10)
        p = {"project_id": f"P{j + 1:02d}", "name": f"Project {j + 1}", "sector": rng.choice(sector_names),
             "capex": capex, "npv": round(capex * rng.uniform(-0.2, 0.8), 2), "us_score": us, "jp_score": jp}
        if on["blank scores"] and rng.random() < 0.2:
            p[rng.choice(("us_score", "jp_score"))] = None  # blank = 0
        if on["windows"] and windows < 2 and rng.random() < 0.3:
            windows += 1
            p["earliest_start"] = rng.randint(YEAR0, YEAR0 + 2)
            p["latest_start"] = p["earliest_start"] + rng.randint(1, 2)
        if on["duration"]:
            p["duration"] = rng.choice((1, 2, 3))
        if on["us"]:
            p["us_approval"] = rng.choice(approvals)
        if on["jp"]:
            p["jp_approval"] = rng.choice(approvals)
        if on["esg"]:
            p["esg_score"] = rng.randint(0, 100)
        if on["locks"]:
            p["decision"] = rng.choices(("auto", None, "must fund", "exclude"), (6, 3, 1, 1))[0]
        projects.append(p)

    spend: Counter = Counter()
    total = 0.0
    for p in projects:
        d = p.get("duration") or 1
        total += p["capex"]
        for k in range(d):
            spend[(p.get("earliest_start") or YEAR0) + k] += p["capex"] / d
    fund["equity_capital"] = round(total * rng.uniform(0.25, 0.9), 1)
    budget = None
    if on["budget"]:
        budget = [{"year": y, "capital_limit": round(spend[y] * rng.uniform(0.3, 0.9), 1)}
                  for y in range(YEAR0, YEAR0 + rng.randint(1, 4)) if spend[y]] or None
    sectors = None
    if on["sectors"]:
        sectors = []
        for s in sector_names:
            row: dict = {"sector": s}
            if len(sector_names) > 1 and rng.random() < 0.3:
                row["max_share"] = rng.choice((0.4, 0.5, 0.7))
            if rng.random() < 0.15:
                row["min_share"] = rng.choice((0.05, 0.1))
            if rng.random() < 0.25:
                row["max_projects"] = rng.randint(1, 3)
            if rng.random() < 0.1:
                row["min_projects"] = 1
            sectors.append(row)
    rules = None
    if on["rules"]:
        rules = random_rules(rng, [p["project_id"] for p in projects], rounds=2, max_members=3, at_most_low=1,
                             at_least_k=1)
    return {"projects": projects, "fund": fund, "budget": budget, "sectors": sectors, "rules": rules}


@functools.lru_cache(maxsize=None)
def reference_for(seed: int):
    return reference_fund(**random_case(seed))


def nations_sheet(path) -> dict[str, dict]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb["Nations"].iter_rows(values_only=True))
    finally:
        wb.close()
    header = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(header, r)) for r in rows[1:] if r and r[0] is not None}


@pytest.mark.parametrize("seed", SEEDS)
def test_agreement_matches_enumeration(tmp_path, seed):
    case = random_case(seed)
    theta = case["fund"]["min_nation_satisfaction"]
    best = reference_for(seed)
    path = make_workbook(tmp_path / f"seed{seed}.xlsx", **case)
    out = tmp_path / f"seed{seed}-out.xlsx"
    if best is None:
        with pytest.raises(InfeasibleError):
            run_workbook(path, out, verify=True)
        return
    result = run_workbook(path, out, verify=True)
    assert result.outcome.status == "optimal"
    assert result.report.objective == pytest.approx(best.objective, abs=1e-6), (
        f"seed {seed}: solver {result.report.objective} {sorted(result.outcome.selected)}; "
        f"enumeration {best.objective} {sorted(best.choices)}; ideals {best.ideals}")
    assert result.verify_problems == [], result.verify_problems

    by_id = {p["project_id"]: p for p in case["projects"]}
    sheet = nations_sheet(out)
    for row in result.report.nations:
        n = row["nation"]
        ideal = best.ideals[n]
        for reported in (row["ideal_score_value"], sheet[n]["ideal_score_value"]):
            assert reported == pytest.approx(ideal, abs=1e-6 * max(1.0, ideal)), (n, reported, best.ideals)
        # V[n] of the reported portfolio, recomputed here
        value = sum(c.stake * by_id[p]["capex"] * (by_id[p][f"{n.lower()}_score"] or 0)
                    for p, c in result.outcome.choices.items())
        if ideal <= 1e-9:  # nothing this nation values can be funded: no satisfaction to report
            assert row["satisfaction"] is None
            continue
        for sat in (row["satisfaction"], sheet[n]["satisfaction"]):
            assert sat >= theta - 1e-9, (n, sat, theta)
            assert sat == pytest.approx(value / ideal, abs=1e-9), (n, sat, value, ideal)


def test_the_agreement_cases_cover_what_they_should():
    """Both outcomes occur, the satisfaction rule changes the optimum often, and each nation's
    floor cuts off the best portfolio without the rule in many cases."""
    outcome: Counter = Counter()
    for seed in SEEDS:
        case = random_case(seed)
        best = reference_for(seed)
        free = reference_fund(**{**case, "fund": {k: v for k, v in case["fund"].items()
                                                  if k != "min_nation_satisfaction"}})
        if best is None:
            outcome["infeasible"] += 1
            outcome["infeasible only by agreement"] += free is not None
            continue
        outcome["funded" if best.choices else "empty"] += 1
        outcome["agreement changes the optimum"] += abs(free.objective - best.objective) > 1e-6
        theta = case["fund"]["min_nation_satisfaction"]
        for n in ("US", "JP"):  # the best portfolio without the agreement falls short for n
            value = sum(c.stake * p["capex"] * (p[f"{n.lower()}_score"] or 0)
                        for p in case["projects"] for pid, c in free.choices.items() if p["project_id"] == pid)
            outcome[f"{n} short without the rule"] += value < theta * best.ideals[n] - 1e-6
        outcome["12 projects"] += len(case["projects"]) == 12
        outcome["start windows"] += any(p.get("latest_start") for p in case["projects"])
    assert outcome["infeasible"] >= 10, outcome
    assert outcome["infeasible only by agreement"] >= 5, outcome
    assert outcome["funded"] >= 0.5 * len(SEEDS), outcome
    assert outcome["agreement changes the optimum"] >= 25, outcome
    assert outcome["US short without the rule"] >= 10 and outcome["JP short without the rule"] >= 10, outcome
    assert outcome["12 projects"] >= 5 and outcome["start windows"] >= 20, outcome
