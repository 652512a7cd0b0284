"""Random small pipelines with every family of the fund switched on at random, solved end to end
against the exhaustive reference of tests/enumerate_fund.py.

Each seed draws 4–8 projects and switches on, at random: varying and fixed-share stakes, start
windows (two years, on up to three projects; sometimes latest_start alone) with the delay
discount, leverage (max_leverage, max_ltv, debt_cost, leverage-eligible projects, sectors that
forbid leverage, yearly debt limits that make debt-within-the-year's-spending bite), up to two
investors (min / max commitment, required return, risk appetite; sometimes a min above the whole
pipeline with no max), the risk screens (max_avg_risk, max_project_share, speculative sectors,
Japanese content bounds), the two-nation agreement (approvals under each approval_rule,
min_nation_satisfaction), yearly capital limits, sector shares and counts, Rules, locks, the ESG
screen, CapexSchedule rows, durations and a short horizon that spending runs past. Each is
written as a real workbook with mip_gap 0 and run through ``run_workbook(..., verify=True)``:
the optimum must equal the reference's (abs 1e-6, relative for large values), InfeasibleError
must be raised exactly when the reference finds nothing, the reported ideals must be the
enumerated ones, and the invariant checker must find nothing wrong. A further test asserts that
every family really is switched on in many instances and that both outcomes occur.

Runtime: about 80 s of CPU for the whole file (≈ 11 s of it the reference), one core.
"""

from __future__ import annotations

import functools
import random
from collections import Counter

import pytest

from enumerate_fund import reference_fund
from helpers import make_workbook, random_rules
from optimizer.errors import InfeasibleError
from optimizer.runner import run_workbook

SEEDS = range(500)
SECTOR_NAMES = ("Energy", "Chips", "Ports")
YEAR0 = 2027


def random_case(seed: int) -> dict:
    """make_workbook arguments for one random pipeline (also what reference_fund() takes)."""
    rng = random.Random(seed)
    n = rng.randint(4, 8)
    sector_names = SECTOR_NAMES[:rng.randint(2, len(SECTOR_NAMES))]
    on = {family: rng.random() < p for family, p in (
        ("stakes", 0.5), ("windows", 0.5), ("discount", 0.3), ("leverage", 0.55), ("investors", 0.5),
        ("avg_risk", 0.3), ("project_share", 0.25), ("speculative", 0.25), ("jp_content", 0.3),
        ("approvals", 0.35), ("satisfaction", 0.35), ("budget", 0.4), ("sectors", 0.4), ("rules", 0.4),
        ("locks", 0.25), ("esg", 0.2), ("schedule", 0.3), ("duration", 0.35), ("short horizon", 0.15))}
    fund: dict = {"mip_gap": 0}
    projects, schedule = [], {}
    approvals = ("yes", "yes", "yes", "yes", "Yes", "no", "pending", None)
    windows = 0
    for j in range(n):
        pid = f"P{j + 1:02d}"
        capex = rng.randint(5, 60)
        p = {"project_id": pid, "name": f"Project {j + 1}", "sector": rng.choice(sector_names), "capex": capex,
             "npv": round(capex * rng.uniform(-0.25, 0.9), 2), "risk": rng.randint(1, 5)}
        if on["stakes"] and rng.random() < 0.45:
            kind = rng.random()
            if kind < 0.7:  # a share between min and max
                p["min_stake"] = rng.choice((0.1, 0.25, 0.5))
                p["max_stake"] = rng.choice((0.6, 0.75, 1.0))
            else:  # max_stake alone: all or nothing at that share
                p["max_stake"] = rng.choice((0.4, 0.5))
        if on["windows"] and windows < 3 and rng.random() < 0.4:
            windows += 1
            if rng.random() < 0.2:  # latest_start alone: the window opens at planning_start
                p["latest_start"] = YEAR0 + 1
            else:
                p["earliest_start"] = rng.randint(YEAR0, YEAR0 + 2)
                p["latest_start"] = p["earliest_start"] + 1
        elif rng.random() < 0.2:
            p["earliest_start"] = rng.randint(YEAR0, YEAR0 + 2)
        if on["duration"]:
            p["duration"] = rng.choice((1, 2, 3))
        if on["schedule"] and rng.random() < 0.4:
            row = [rng.randint(0, 20) for _ in range(rng.randint(1, 3))]
            if sum(row) == 0:
                row[0] = rng.randint(1, 20)
            schedule[pid] = row
        if on["leverage"]:
            p["leverage_eligible"] = rng.choice(("yes", "yes", "yes", "yes", "no", None))
        if on["jp_content"]:
            p["jp_content"] = round(rng.random(), 2) if rng.random() < 0.85 else None
        if on["approvals"]:
            p["us_approval"] = rng.choice(approvals)
            p["jp_approval"] = rng.choice(approvals)
        if on["satisfaction"]:
            # the two governments rate projects differently, so that agreement bites
            p["us_score"] = rng.randint(0, 10)
            p["jp_score"] = rng.randint(0, 10) if rng.random() < 0.9 else None
        if on["esg"]:
            p["esg_score"] = rng.randint(0, 100)
        if on["locks"]:
            p["decision"] = rng.choices(("auto", None, "must fund", "exclude"), (5, 3, 1, 1))[0]
        projects.append(p)

    # capex (at the largest stake) and spending at the earliest start, to set limits that bite
    spend: Counter = Counter()
    total = 0.0
    for p in projects:
        start = p.get("earliest_start") or YEAR0
        row = schedule.get(p["project_id"]) or [p["capex"] / (p.get("duration") or 1)] * (p.get("duration") or 1)
        share = p.get("max_stake", 1.0)
        total += sum(row) * share
        for k, a in enumerate(row):
            spend[start + k] += a * share
    financed = on["leverage"] or on["investors"]  # then equity is shorter, so that financing matters
    if on["short horizon"]:  # spending runs past the horizon's last year (2030)
        fund["horizon_years"] = 4
    fund["equity_capital"] = round(total * (rng.uniform(0.15, 0.55) if financed else rng.uniform(0.2, 0.8)), 1)
    if on["discount"]:
        fund["discount_rate"] = rng.choice((0.0, 0.1, 0.25))
    if on["leverage"]:
        fund["max_leverage"] = rng.choice((0.25, 0.5, 1.0))
        if rng.random() < 0.6:
            fund["max_ltv"] = rng.choice((0.3, 0.5, 0.8, 1.0, 1.0))
        if rng.random() < 0.7:
            fund["debt_cost"] = rng.choice((0.0, 0.02, 0.04, 0.1, 0.3))
    investors = None
    if on["investors"]:
        investors = []
        for k in range(rng.randint(1, 2)):
            inv: dict = {"investor": f"Investor {k + 1}", "type": rng.choice(("institutional", "retail", "government")),
                         "nation": rng.choice(("US", "JP", None))}
            draw = rng.random()
            if draw < 0.08:  # more than the whole pipeline, and no max: in only if that pays
                inv["min_commitment"] = round(total * rng.uniform(1.05, 1.5), 1)
            elif draw < 0.6:
                inv["min_commitment"] = round(total * rng.uniform(0.05, 0.3), 1)
            if draw >= 0.08 and rng.random() < 0.75:
                inv["max_commitment"] = round(inv.get("min_commitment", 0) + total * rng.uniform(0.05, 0.4), 1)
            if rng.random() < 0.8:
                inv["required_return"] = rng.choice((0.0, 0.03, 0.1, 0.2, 0.4))
            if rng.random() < 0.5:
                inv["max_avg_risk"] = rng.choice((2, 2.5, 3, 3.5))
            investors.append(inv)
    if on["avg_risk"]:
        fund["max_avg_risk"] = rng.choice((2.5, 3, 3.5, 4))
    if on["project_share"]:
        fund["max_project_share"] = rng.choice((0.4, 0.5, 0.6, 0.75))
    if on["jp_content"]:
        if rng.random() < 0.6:
            fund["jp_content_min"] = rng.choice((0.1, 0.2, 0.3))
        if rng.random() < 0.6:
            fund["jp_content_max"] = rng.choice((0.6, 0.7, 0.8))
    if on["approvals"]:
        rule = rng.choice(("both", "either", "none", None))
        if rule:
            fund["approval_rule"] = rule
    if on["satisfaction"]:
        fund["min_nation_satisfaction"] = round(rng.uniform(0.5, 0.95), 2)
    if on["esg"]:
        fund["min_esg_score"] = rng.randint(20, 60)

    budget = None
    debt_limits = on["leverage"] and rng.random() < 0.6
    if on["budget"] or debt_limits:
        budget = []
        # with debt limits, every year that may see spending gets a row (a start may move a year on)
        last = max(spend) + 1 if debt_limits else YEAR0 + rng.randint(0, 4)
        for y in range(YEAR0, last + 1):
            row: dict = {"year": y}
            if on["budget"] and rng.random() < 0.75:
                row["capital_limit"] = round(spend[y] * rng.uniform(0.3, 0.9), 1) if spend[y] else rng.randint(0, 10)
            if debt_limits and rng.random() < 0.9:
                # none in some years, tight in others, above the spending in others: debt drawn
                # within the year's spending (Debt_Use) then decides how much debt the fund can draw
                row["debt_limit"] = rng.choice((0, round(spend[y] * rng.uniform(0.0, 0.5), 1),
                                                round(spend[y] * rng.uniform(0.5, 1.5), 1), rng.randint(0, 20)))
            if len(row) > 1:
                budget.append(row)
        budget = budget or None

    sectors = None
    if on["sectors"] or on["speculative"] or (on["leverage"] and rng.random() < 0.4):
        sectors = []
        for s in sector_names:
            row = {"sector": s}
            if on["sectors"]:
                if rng.random() < 0.25:
                    row["min_share"] = rng.choice((0.05, 0.1, 0.2))
                if rng.random() < 0.35:
                    row["max_share"] = max(rng.choice((0.4, 0.5, 0.7)), row.get("min_share", 0))
                if rng.random() < 0.2:
                    row["min_projects"] = rng.randint(0, 2)
                if rng.random() < 0.3:
                    row["max_projects"] = rng.randint(max(1, row.get("min_projects", 0)), 3)
            if on["speculative"] and s == sector_names[-1]:
                row["speculative"] = "yes"
            if on["leverage"] and rng.random() < 0.2:
                row["leverage_allowed"] = "no"
            sectors.append(row)
        if on["speculative"]:
            fund["max_speculative_share"] = rng.choice((0.25, 0.4, 0.6))

    rules = None
    if on["rules"]:
        rules = random_rules(rng, [p["project_id"] for p in projects], rounds=2, max_members=3, at_most_low=1)

    return {"projects": projects, "fund": fund, "schedule": schedule or None, "budget": budget,
            "sectors": sectors, "rules": rules, "investors": investors}


@functools.lru_cache(maxsize=None)
def reference_for(seed: int):
    return reference_fund(**random_case(seed))


def _solve(tmp_path, name: str, case: dict):
    path = make_workbook(tmp_path / f"{name}.xlsx", **case)
    return run_workbook(path, tmp_path / f"{name}-out.xlsx", verify=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_fund_pipeline_matches_enumeration(tmp_path, seed):
    case = random_case(seed)
    best = reference_for(seed)
    if best is None:
        with pytest.raises(InfeasibleError):
            _solve(tmp_path, f"seed{seed}", case)
        return
    result = _solve(tmp_path, f"seed{seed}", case)
    assert result.outcome.status == "optimal"
    objective = result.report.objective
    assert objective == pytest.approx(best.objective, abs=1e-6 * max(1.0, abs(best.objective))), (
        f"seed {seed}: solver {objective} {result.outcome.choices} debt {result.outcome.debt} "
        f"investors {result.outcome.investors}; reference {best.objective} {best.choices} debt {best.debt} "
        f"investors {best.commitments}")
    assert result.verify_problems == [], result.verify_problems
    if best.ideals:
        reported = {r["nation"]: r["ideal_score_value"] for r in result.report.nations}
        for n, v in best.ideals.items():
            assert reported[n] == pytest.approx(v, abs=1e-6 * max(1.0, v)), (n, reported, best.ideals)


def features(case: dict) -> Counter:
    """Which families one random case switches on."""
    ps, fund = case["projects"], case["fund"]
    seen: Counter = Counter()
    seen["varying stake"] = any("min_stake" in p and p["min_stake"] < p["max_stake"] for p in ps)
    seen["fixed share"] = any("max_stake" in p and "min_stake" not in p for p in ps)
    seen["start window"] = any(p.get("latest_start") for p in ps)
    seen["discount_rate"] = "discount_rate" in fund
    seen["latest_start alone"] = any("latest_start" in p and "earliest_start" not in p for p in ps)
    seen["short horizon"] = "horizon_years" in fund
    seen["leverage"] = bool(fund.get("max_leverage"))
    seen["max_ltv"] = "max_ltv" in fund
    seen["debt_cost"] = "debt_cost" in fund
    seen["debt_limit"] = any("debt_limit" in b for b in case["budget"] or ())
    seen["leverage_allowed no"] = any(s.get("leverage_allowed") == "no" for s in case["sectors"] or ())
    seen["investors"] = bool(case["investors"])
    seen["two investors"] = len(case["investors"] or ()) == 2
    seen["investor min"] = any("min_commitment" in i for i in case["investors"] or ())
    seen["investor max"] = any("max_commitment" in i for i in case["investors"] or ())
    seen["investor min above pipeline"] = any("max_commitment" not in i and i.get("min_commitment", 0) > sum(
        p["capex"] for p in case["projects"]) for i in case["investors"] or ())
    seen["investor return"] = any(i.get("required_return") for i in case["investors"] or ())
    seen["investor risk"] = any("max_avg_risk" in i for i in case["investors"] or ())
    seen["max_avg_risk"] = "max_avg_risk" in fund
    seen["max_project_share"] = "max_project_share" in fund
    seen["max_speculative_share"] = "max_speculative_share" in fund
    seen["jp_content_min"] = "jp_content_min" in fund
    seen["jp_content_max"] = "jp_content_max" in fund
    seen["approvals"] = any("us_approval" in p for p in ps)
    for rule in ("both", "either", "none"):
        seen[f"approval {rule}"] = fund.get("approval_rule") == rule
    seen["min_nation_satisfaction"] = "min_nation_satisfaction" in fund
    seen["capital_limit"] = any("capital_limit" in b for b in case["budget"] or ())
    seen["sector shares"] = any("min_share" in s or "max_share" in s for s in case["sectors"] or ())
    seen["sector counts"] = any("min_projects" in s or "max_projects" in s for s in case["sectors"] or ())
    seen["rules"] = bool(case["rules"])
    seen["must fund"] = any(p.get("decision") == "must fund" for p in ps)
    seen["exclude"] = any(p.get("decision") == "exclude" for p in ps)
    seen["esg"] = "min_esg_score" in fund
    seen["schedule"] = bool(case["schedule"])
    seen["duration>1"] = any((p.get("duration") or 1) > 1 for p in ps)
    return seen


def test_every_family_is_switched_on_often():
    seen: Counter = Counter()
    outcome: Counter = Counter()
    for seed in SEEDS:
        case = random_case(seed)
        seen.update(features(case))
        best = reference_for(seed)
        outcome["infeasible" if best is None else "empty" if not best.choices else "funded"] += 1
        if best is not None:
            outcome["uses debt"] += best.debt > 1e-6
            outcome["uses investors"] += any(v > 1e-6 for v in best.commitments.values())
            outcome["partial stake"] += any(0 < c.stake < 1 - 1e-9 for c in best.choices.values())
            outcome["delayed start"] += any(c.start_year > (p.get("earliest_start") or YEAR0)
                                            for pid, c in best.choices.items()
                                            for p in case["projects"] if p["project_id"] == pid)
    assert len(seen) == 37, sorted(seen)
    rare = ("investor min above pipeline",)
    assert all(v >= 40 for k, v in seen.items() if k not in rare), seen
    assert all(seen[k] >= 10 for k in rare), seen
    assert outcome["infeasible"] >= 0.05 * len(SEEDS), outcome
    assert outcome["funded"] >= 0.5 * len(SEEDS), outcome
    for k in ("uses debt", "uses investors", "partial stake", "delayed start"):
        assert outcome[k] >= 25, outcome


def test_investor_without_max_may_commit_more_than_the_pipeline(tmp_path):
    """Regression (found by this file): an investor with no max_commitment whose min_commitment
    is above the pipeline's total capex could never be in (models/investors.py bounded its
    commitment by the total capex), although SPEC §1 puts no cap on it. Equity 10 cannot fund A
    (capex 20) alone; the investor's 50 can, at 0.1 × 50 = 5."""
    case = {"projects": [{"project_id": "A", "name": "A", "sector": "S", "capex": 20, "npv": 10,
                          "decision": "must fund"}],
            "fund": {"equity_capital": 10, "mip_gap": 0},
            "investors": [{"investor": "I", "min_commitment": 50, "required_return": 0.1}]}
    best = reference_fund(**case)
    assert best is not None and best.objective == pytest.approx(5.0) and best.commitments == {"I": 50.0}
    result = _solve(tmp_path, "investor", case)
    assert result.report.objective == pytest.approx(5.0, abs=1e-6)
    assert result.outcome.investors == {"I": pytest.approx(50.0)}
    assert result.verify_problems == [], result.verify_problems
