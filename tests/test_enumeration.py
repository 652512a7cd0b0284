"""Random small pipelines solved end to end against the brute force of tests/enumerate.py.

Each seed draws a pipeline of 3–12 projects with every rule family switched on at random —
tight equity, Budget years with tight capital limits, CapexSchedule rows (which override
capex and duration), duration > 1, start years, Sectors with share and count limits (and
sometimes a listed sector without projects), Rules of each kind, US / JP approvals with
yes / no / pending / blank under each approval_rule, the ESG screen, must-fund / exclude
locks — writes it as a real workbook with mip_gap 0 on the Fund sheet, and runs it through
``run_workbook(..., verify=True)``. The solver's optimum must equal the enumerated one
(abs 1e-6), an instance must raise InfeasibleError exactly when no subset is feasible, and
the invariant checker must find nothing wrong with any solved one.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from enumerate import check_verified, reference, run_case
from helpers import random_rules
from optimizer.errors import InfeasibleError

SEEDS = range(320)
SECTOR_NAMES = ("Energy", "Chips", "Ports", "Water")


def random_case(seed: int) -> dict:
    """make_workbook arguments for one random pipeline (also what reference() takes)."""
    rng = random.Random(seed)
    n = rng.randint(3, 12)
    sector_names = SECTOR_NAMES[:rng.randint(1, len(SECTOR_NAMES))]
    on = {family: rng.random() < p for family, p in (
        ("us", 0.45), ("jp", 0.45), ("esg", 0.35), ("locks", 0.35), ("starts", 0.5), ("duration", 0.5),
        ("schedule", 0.45), ("budget", 0.55), ("sectors", 0.6), ("rules", 0.6), ("equity", 0.8))}
    fund: dict = {"mip_gap": 0}
    if on["us"] or on["jp"]:
        rule = rng.choice(("both", "either", "none", None))
        if rule:
            fund["approval_rule"] = rule
    if on["esg"]:
        fund["min_esg_score"] = rng.randint(20, 60)

    approvals = ("yes", "yes", "yes", "Yes", "no", "pending", None)
    projects, schedule = [], {}
    for j in range(n):
        pid = f"P{j + 1:02d}"
        p = {"project_id": pid, "name": f"Project {j + 1}", "sector": rng.choice(sector_names),
             "capex": rng.randint(5, 60),
             "npv": rng.randint(-10, 40) if rng.random() < 0.6 else round(rng.uniform(-5, 40), 2)}
        if on["starts"] and rng.random() < 0.7:
            p["earliest_start"] = rng.randint(2027, 2030)
            if rng.random() < 0.3:
                p["latest_start"] = p["earliest_start"]  # a one-year window: no discounting
        if on["duration"]:
            p["duration"] = rng.choice((1, 1, 2, 3, None))
        if on["schedule"] and rng.random() < 0.5:
            row = [rng.randint(0, 20) for _ in range(rng.randint(1, 4))]
            if sum(row) == 0:
                row[0] = rng.randint(1, 20)
            schedule[pid] = row
            if rng.random() < 0.5:
                p["capex"] = None  # capex from the schedule alone; otherwise the schedule overrides it
        if on["us"]:
            p["us_approval"] = rng.choice(approvals)
        if on["jp"]:
            p["jp_approval"] = rng.choice(approvals)
        if on["esg"]:
            p["esg_score"] = rng.randint(0, 100)
        if on["locks"]:
            p["decision"] = rng.choices(("auto", None, "must fund", "exclude"), (5, 3, 1, 1))[0]
        projects.append(p)

    # capex and spending per year as placed from the start year, to set limits that bite
    spend: Counter = Counter()
    total = 0.0
    for p in projects:
        start = p.get("earliest_start") or 2027
        if p["project_id"] in schedule:
            row = schedule[p["project_id"]]
        else:
            d = p.get("duration") or 1
            row = [p["capex"] / d] * d
        total += sum(row)
        for k, a in enumerate(row):
            spend[start + k] += a
    if on["equity"]:
        fund["equity_capital"] = round(total * rng.uniform(0.3, 0.9))
    budget = None
    if on["budget"]:
        budget = []
        for y in range(2027, 2027 + rng.randint(1, 6)):
            if rng.random() < 0.75:
                limit = round(spend[y] * rng.uniform(0.2, 0.8)) if spend[y] else rng.randint(0, 10)
                budget.append({"year": y, "capital_limit": limit})
        budget = budget or [{"year": 2027, "capital_limit": round(spend[2027] * 0.5)}]

    sectors = None
    if on["sectors"]:
        sectors = []
        for s in sector_names:  # every sector in use is listed; an unused one may be too
            row: dict = {"sector": s}
            if rng.random() < 0.3:
                row["min_share"] = rng.choice((0.1, 0.15, 0.25, 0.35))
            if rng.random() < 0.4:
                row["max_share"] = rng.choice((0.3, 0.4, 0.5, 0.6, 0.8))
                if row["max_share"] < row.get("min_share", 0):
                    row["max_share"] = row["min_share"]
            if rng.random() < 0.2:
                row["min_projects"] = rng.randint(0, 2)
            if rng.random() < 0.3:
                row["max_projects"] = rng.randint(max(row.get("min_projects", 0), 0), 3)
            sectors.append(row)

    rules = None
    if on["rules"]:
        rules = random_rules(rng, [p["project_id"] for p in projects], rounds=3, max_members=4, at_most_low=0)

    return {"projects": projects, "fund": fund, "schedule": schedule or None, "budget": budget,
            "sectors": sectors, "rules": rules}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_pipeline_matches_enumeration(tmp_path, seed):
    case = random_case(seed)
    best = reference(**case)
    if best is None:
        with pytest.raises(InfeasibleError):
            run_case(tmp_path, f"seed{seed}", **case)
        return
    solved = run_case(tmp_path, f"seed{seed}", check=False, **case)
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(best.objective, abs=1e-6), (
        f"seed {seed}: solver {solved.objective} {sorted(solved.selected)}; "
        f"enumeration {best.objective} {[sorted(o) for o in best.optima]}")
    assert solved.selected in best.optima
    check_verified(solved)  # the invariant checker found nothing wrong


def test_the_random_pipelines_cover_every_family():
    """The generator really switches every family on, and yields both outcomes."""
    seen: Counter = Counter()
    outcome: Counter = Counter()
    for seed in SEEDS:
        case = random_case(seed)
        ps = case["projects"]
        seen["budget"] += bool(case["budget"])
        seen["schedule"] += bool(case["schedule"])
        seen["duration>1"] += any((p.get("duration") or 1) > 1 for p in ps)
        seen["sectors"] += bool(case["sectors"])
        seen["sector min_share"] += any("min_share" in s for s in case["sectors"] or ())
        seen["sector max_share"] += any("max_share" in s for s in case["sectors"] or ())
        seen["sector min_projects"] += any(s.get("min_projects") for s in case["sectors"] or ())
        seen["sector max_projects"] += any("max_projects" in s for s in case["sectors"] or ())
        for r in case["rules"] or ():
            seen[r["rule"]] += 1
        for rule in ("both", "either", "none"):
            seen[f"approval {rule}"] += case["fund"].get("approval_rule") == rule
        seen["approval blank"] += any("us_approval" in p and p["us_approval"] is None for p in ps)
        seen["approval pending"] += any(p.get("jp_approval") == "pending" for p in ps)
        seen["esg"] += "min_esg_score" in case["fund"]
        seen["must fund"] += any(p.get("decision") == "must fund" for p in ps)
        seen["exclude"] += any(p.get("decision") == "exclude" for p in ps)
        seen["12 projects"] += len(ps) == 12
        best = reference(**case)
        outcome[("infeasible" if best is None else "empty portfolio" if best.optima == (frozenset(),)
                 else "projects funded")] += 1
    assert all(seen[k] >= 10 for k in seen), seen
    assert len(seen) == 22
    # both outcomes occur, and most instances fund something
    assert outcome["infeasible"] >= 0.1 * len(SEEDS), outcome
    assert outcome["projects funded"] >= 0.5 * len(SEEDS), outcome
