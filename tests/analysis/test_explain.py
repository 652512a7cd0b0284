"""Removal costs and break-even NPVs (SPEC §2, optimizer/analysis/explain.py) against brute force.

* ``removal_cost[p]`` of a funded project = objective − best objective with p forced out;
* ``break_even_npv[p]`` of a project left out that could enter = its NPV + (objective − best
  objective with p forced in), blank with basis "cannot enter…" when no portfolio holds it;
* Portfolio rank: must-fund projects first, then non-increasing removal cost;
* ``explain_limit``: at most that many exact re-solves of each kind, nearest the margin first
  (smallest estimated removal cost / smallest estimated loss when forced in); the others are
  LP-relaxation estimates marked ``estimated``.

Forcing a project out (in) is exactly what the committee's ``exclude`` (``must fund``) lock does,
so the reference for a forced solve is tests/enumerate.py's ``reference`` on the pipeline with
that one project's decision changed. The random pipelines are tests/test_enumeration.py's.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest

from enumerate import Reference, reference
from helpers import make_workbook
from optimizer.runner import run_workbook
from test_enumeration import random_case

TOL = 1e-6
CANNOT_ENTER = "cannot enter"
CANNOT_LEAVE = "cannot leave"
LOCKED = "locked: must fund"

#: the first 110 seeds of the spine's generator that have a feasible portfolio
FEASIBLE_SEEDS = [s for s in range(200) if reference(**random_case(s)) is not None][:110]


# --------------------------------------------------------------------------- reference side
def _word(v) -> str:
    return "" if v is None else str(v).strip().lower()


def with_decision(case: dict, pid: str, decision: str) -> dict:
    """The pipeline with one project locked (``must fund`` = forced in, ``exclude`` = forced out)."""
    return {**case, "projects": [dict(p, decision=decision) if p["project_id"] == pid else p
                                 for p in case["projects"]]}


def could_enter(case: dict, p: dict) -> bool:
    """Not excluded, approved under approval_rule, not ESG-screened (SPEC §1), read off the raw rows."""
    fund = case["fund"]
    if _word(p.get("decision")) == "exclude":
        return False
    columns = [c for c in ("us_approval", "jp_approval") if any(c in q for q in case["projects"])]
    rule = _word(fund.get("approval_rule")) or "both"
    if columns and rule != "none":
        yes = [_word(p.get(c)) == "yes" for c in columns]
        if not (all(yes) if rule == "both" else any(yes)):
            return False
    floor = fund.get("min_esg_score")
    return not (floor is not None and p.get("esg_score") is not None and p["esg_score"] < floor)


@lru_cache(maxsize=None)
def forced_references(seed: int) -> tuple[Reference, dict, dict]:
    """(best, best with p forced out, best with p forced in) for every project p of the seed."""
    case = random_case(seed)
    best = reference(**case)
    out = {p["project_id"]: reference(**with_decision(case, p["project_id"], "exclude"))
           for p in case["projects"] if _word(p.get("decision")) != "must fund"}
    into = {p["project_id"]: reference(**with_decision(case, p["project_id"], "must fund"))
            for p in case["projects"] if could_enter(case, p)}
    return best, out, into


# --------------------------------------------------------------------------- fundopt side
def solve(tmp_path: Path, name: str, case: dict, write: bool = False):
    path = make_workbook(Path(tmp_path) / f"{name}.xlsx", **case)
    out = Path(tmp_path) / f"{name}-out.xlsx"
    result = run_workbook(path, out, write=write)
    return result.report, out


def sheet_rows(path: Path, title: str) -> list[dict]:
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True)[title]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r)) for r in rows[1:] if any(v is not None for v in r)]


def check_rank_order(portfolio: list[dict]) -> None:
    """Rank 1..n; must-fund projects first, then non-increasing removal cost (blank = cannot leave = ∞)."""
    assert [r["rank"] for r in portfolio] == list(range(1, len(portfolio) + 1))
    must = [r["decision"] == "must fund" for r in portfolio]
    assert must == sorted(must, reverse=True), [(r["project_id"], r["decision"]) for r in portfolio]
    costs = [float("inf") if r["removal_cost"] is None else r["removal_cost"]
             for r in portfolio if r["decision"] != "must fund"]
    assert all(a >= b - TOL for a, b in zip(costs, costs[1:])), [
        (r["rank"], r["project_id"], r["removal_cost"]) for r in portfolio]


# --------------------------------------------------------------------------- 1. every figure exact
@pytest.mark.parametrize("seed", FEASIBLE_SEEDS)
def test_removal_cost_and_break_even_match_enumeration(tmp_path, seed):
    case = random_case(seed)
    # alternatives 3: explain re-solves the model the alternatives' cuts were added to and removed from
    case["fund"].update(explain_limit=100, alternatives=3)  # mip_gap 0 from the generator
    best, out, into = forced_references(seed)
    rep, _ = solve(tmp_path, f"seed{seed}", case)
    assert rep.objective == pytest.approx(best.objective, abs=TOL)
    objective = rep.objective
    funded = {r["project_id"] for r in rep.portfolio}
    assert frozenset(funded) in best.optima
    rows = {p["project_id"]: p for p in case["projects"]}
    wrong = []

    for r in rep.portfolio:
        pid = r["project_id"]
        if _word(rows[pid].get("decision")) == "must fund":
            if (r["removal_cost"], r["removal_cost_basis"]) != (None, LOCKED):
                wrong.append(f"{pid} must fund: {r['removal_cost']} {r['removal_cost_basis']!r}")
            continue
        ref = out[pid]
        if ref is None:  # no portfolio without it
            if r["removal_cost"] is not None or not str(r["removal_cost_basis"]).startswith(CANNOT_LEAVE):
                wrong.append(f"{pid} cannot leave: got {r['removal_cost']} {r['removal_cost_basis']!r}")
        elif (r["removal_cost"] is None or abs(r["removal_cost"] - (objective - ref.objective)) > TOL
              or r["removal_cost_basis"] != "exact"):
            wrong.append(f"{pid} removal cost: expected {objective - ref.objective} exact, "
                         f"got {r['removal_cost']} {r['removal_cost_basis']!r}")

    rejected = {r["project_id"]: r for r in rep.rejected}
    assert set(rejected) == set(rows) - funded
    for pid, r in rejected.items():
        p = rows[pid]
        if not could_enter(case, p):  # excluded, unapproved or screened: no break-even
            if r["break_even_npv"] is not None or r["break_even_basis"] is not None:
                wrong.append(f"{pid} cannot be funded at all: got {r['break_even_npv']} {r['break_even_basis']!r}")
            continue
        ref = into[pid]
        if ref is None:  # forcing it in is infeasible
            if r["break_even_npv"] is not None or not str(r["break_even_basis"]).startswith(CANNOT_ENTER):
                wrong.append(f"{pid} cannot enter: got {r['break_even_npv']} {r['break_even_basis']!r}")
            continue
        expected = float(p["npv"]) + (objective - ref.objective)
        if (r["break_even_npv"] is None or abs(r["break_even_npv"] - expected) > TOL
                or r["break_even_basis"] != "exact"):
            wrong.append(f"{pid} break-even: expected {expected} exact, "
                         f"got {r['break_even_npv']} {r['break_even_basis']!r}")
        # a project left out never breaks even below its own NPV (else it would be in)
        if r["break_even_npv"] is not None and r["break_even_npv"] < float(p["npv"]) - TOL:
            wrong.append(f"{pid} break-even {r['break_even_npv']} below its NPV {p['npv']}")

    assert not wrong, f"seed {seed} (objective {objective}, funded {sorted(funded)}):\n" + "\n".join(wrong)
    check_rank_order(rep.portfolio)


def test_the_explained_pipelines_cover_every_case():
    """The seeds hold enough of each kind: ≥ 100 pipelines, exact removal costs and break-evens,
    projects that cannot leave, that cannot enter, must-fund and screened ones."""
    seen: Counter = Counter()
    for seed in FEASIBLE_SEEDS:
        case = random_case(seed)
        best, out, into = forced_references(seed)
        in_every = frozenset.intersection(*best.optima)
        seen["pipelines"] += 1
        seen["must fund"] += any(_word(p.get("decision")) == "must fund" for p in case["projects"])
        seen["screened"] += any(not could_enter(case, p) for p in case["projects"])
        seen["removal cost"] += sum(1 for pid in in_every if out.get(pid) is not None)
        seen["cannot leave"] += sum(1 for pid in in_every if pid in out and out[pid] is None)
        union = frozenset.union(*best.optima)
        seen["break-even"] += sum(1 for pid, ref in into.items() if pid not in union and ref is not None)
        seen["cannot enter"] += sum(1 for pid, ref in into.items() if ref is None)
    assert seen["pipelines"] >= 100, seen
    assert seen["removal cost"] >= 150 and seen["break-even"] >= 100, seen
    assert min(seen["cannot leave"], seen["cannot enter"], seen["must fund"], seen["screened"]) >= 5, seen


# --------------------------------------------------------------------------- 2. explain_limit
# A plain capital-budgeting pipeline (one equity limit, all or nothing): its LP relaxation is
# the fractional knapsack, so the LP estimates can be computed here by hand.
KNAPSACK = [("A", 30, 45), ("B", 20, 28), ("C", 25, 32), ("D", 15, 18), ("E", 10, 11),
            ("F", 22, 20), ("G", 18, 14), ("H", 12, 5), ("J", 120, 90)]  # J alone exceeds equity
KNAPSACK_EQUITY = 100


def knapsack_case(items, equity: float, limit: int) -> dict:
    projects = [{"project_id": pid, "name": f"Project {pid}", "sector": "Energy", "capex": c, "npv": v}
                for pid, c, v in items]
    return {"projects": projects,
            "fund": {"equity_capital": equity, "mip_gap": 0, "explain_limit": limit, "alternatives": 1}}


def fractional_knapsack(items, equity: float, fixed: dict[str, int]) -> float | None:
    """LP relaxation optimum with some projects fixed in (1) or out (0); None when infeasible."""
    room = equity - sum(c for pid, c, _ in items if fixed.get(pid) == 1)
    if room < -1e-9:
        return None
    value = sum(v for pid, _, v in items if fixed.get(pid) == 1)
    free = sorted((it for it in items if it[0] not in fixed and it[2] > 0), key=lambda it: -it[2] / it[1])
    for _, c, v in free:
        take = min(1.0, room / c)
        value += take * v
        room -= take * c
        if room <= 1e-12:
            break
    return value


def lp_estimates(items, equity: float, funded, candidates) -> tuple[dict, dict]:
    """Estimated removal cost per funded project, estimated loss when forced in per candidate."""
    base = fractional_knapsack(items, equity, {})

    def loss(pid, level):
        v = fractional_knapsack(items, equity, {pid: level})
        return None if v is None else max(0.0, base - v)

    return {p: loss(p, 0) for p in funded}, {p: loss(p, 1) for p in candidates}


def check_limited(rep, case, limit: int) -> None:
    """At most ``limit`` exact figures of each kind, the ones nearest the margin, the exact ones
    equal to enumeration and every other one equal to its LP estimate, marked ``estimated``."""
    items = [(p["project_id"], p["capex"], p["npv"]) for p in case["projects"]]
    equity = case["fund"]["equity_capital"]
    best = reference(**case)
    funded = [r["project_id"] for r in rep.portfolio]
    assert frozenset(funded) in best.optima
    rejected = {r["project_id"]: r for r in rep.rejected}
    est_out, est_in = lp_estimates(items, equity, funded, list(rejected))
    npv = {pid: v for pid, _, v in items}

    # removal costs
    exact = [r for r in rep.portfolio if r["removal_cost_basis"] == "exact"]
    estimated = [r for r in rep.portfolio if r["removal_cost_basis"] == "estimated"]
    assert len(exact) == min(limit, len(funded)) and len(exact) + len(estimated) == len(funded), rep.portfolio
    for r in exact:
        ref = reference(**with_decision(case, r["project_id"], "exclude"))
        assert r["removal_cost"] == pytest.approx(best.objective - ref.objective, abs=TOL), r
    for r in estimated:
        assert r["removal_cost"] == pytest.approx(est_out[r["project_id"]], abs=TOL), (r, est_out)
    # nearest the margin first: no estimated one has a smaller estimate than an exact one
    if exact and estimated:
        assert max(est_out[r["project_id"]] for r in exact) <= min(
            est_out[r["project_id"]] for r in estimated) + TOL, (est_out, rep.portfolio)
    check_rank_order(rep.portfolio)

    # break-even NPVs
    entering = {pid: r for pid, r in rejected.items() if est_in[pid] is not None}
    for pid, r in rejected.items():
        if est_in[pid] is None:  # cannot enter even in the LP: no portfolio holds it
            assert r["break_even_npv"] is None and r["break_even_basis"].startswith(CANNOT_ENTER), r
            assert reference(**with_decision(case, pid, "must fund")) is None
    exact = [r for r in entering.values() if r["break_even_basis"] == "exact"]
    estimated = [r for r in entering.values() if r["break_even_basis"] == "estimated"]
    assert len(exact) == min(limit, len(entering)) and len(exact) + len(estimated) == len(entering), rep.rejected
    for r in exact:
        ref = reference(**with_decision(case, r["project_id"], "must fund"))
        assert r["break_even_npv"] == pytest.approx(npv[r["project_id"]] + best.objective - ref.objective, abs=TOL), r
    for r in estimated:
        assert r["break_even_npv"] == pytest.approx(npv[r["project_id"]] + est_in[r["project_id"]], abs=TOL), (r, est_in)
    if exact and estimated:  # nearest the margin: smallest estimated loss when forced in
        assert max(est_in[r["project_id"]] for r in exact) <= min(
            est_in[r["project_id"]] for r in estimated) + TOL, (est_in, rep.rejected)


def test_explain_limit_one_exact_figure_nearest_the_margin(tmp_path):
    case = knapsack_case(KNAPSACK, KNAPSACK_EQUITY, limit=1)
    rep, out = solve(tmp_path, "knapsack1", case, write=True)
    # optimum A B C D E (134), LP optimum the same; LP removal estimates: A 18.78, B 9.82, C 9.67, D 4.36, E 1.91
    assert sorted(r["project_id"] for r in rep.portfolio) == ["A", "B", "C", "D", "E"]
    assert rep.objective == pytest.approx(134)
    check_limited(rep, case, 1)
    portfolio = {r["project_id"]: r for r in sheet_rows(out, "Portfolio")}
    assert {p for p, r in portfolio.items() if r["removal_cost_basis"] == "exact"} == {"E"}
    assert portfolio["E"]["removal_cost"] == pytest.approx(9)  # 134 − 125: without E the best is A B C F
    assert all(r["removal_cost_basis"] == "estimated" for p, r in portfolio.items() if p != "E")
    assert portfolio["A"]["removal_cost"] == pytest.approx(134 - (28 + 32 + 18 + 11 + 20 + 8 / 18 * 14))
    # F's estimated loss when forced in (5.4) is the smallest: it is the exact one
    rejected = {r["project_id"]: r for r in sheet_rows(out, "Rejected")}
    assert {p for p, r in rejected.items() if r["break_even_basis"] == "exact"} == {"F"}
    assert rejected["F"]["break_even_npv"] == pytest.approx(20 + 134 - 125)  # with F: A B C F = 125
    assert rejected["G"]["break_even_basis"] == rejected["H"]["break_even_basis"] == "estimated"
    assert rejected["G"]["break_even_npv"] == pytest.approx(14 + 6.6)
    assert rejected["J"]["break_even_npv"] is None and rejected["J"]["break_even_basis"].startswith(CANNOT_ENTER)


def test_explain_limit_zero_everything_estimated(tmp_path):
    case = knapsack_case(KNAPSACK, KNAPSACK_EQUITY, limit=0)
    rep, out = solve(tmp_path, "knapsack0", case, write=True)
    check_limited(rep, case, 0)
    portfolio = sheet_rows(out, "Portfolio")
    assert [r["removal_cost_basis"] for r in portfolio] == ["estimated"] * 5
    assert [r["project_id"] for r in portfolio] == ["A", "B", "C", "D", "E"]  # by estimated removal cost
    rejected = {r["project_id"]: r["break_even_basis"] for r in sheet_rows(out, "Rejected")}
    assert rejected == {"F": "estimated", "G": "estimated", "H": "estimated",
                        "J": "cannot enter: no portfolio with it satisfies every rule"}


def random_knapsack(seed: int) -> tuple[list, float]:
    rng = random.Random(seed)
    items = [(f"K{j + 1:02d}", rng.randint(5, 40), rng.randint(-5, 50)) for j in range(rng.randint(7, 11))]
    total = sum(c for _, c, v in items if v > 0)
    return items, round(total * rng.uniform(0.4, 0.75))


#: random knapsacks whose every optimum funds ≥ 4 projects and leaves ≥ 2 positive-NPV ones out
KNAPSACK_SEEDS = [s for s in range(60) if all(
    len(o) >= 4 and sum(1 for pid, _, v in random_knapsack(s)[0] if pid not in o and v > 0) >= 2
    for o in reference(**knapsack_case(*random_knapsack(s), limit=0)).optima)][:8]


@pytest.mark.parametrize("limit", [0, 1, 2])
@pytest.mark.parametrize("seed", KNAPSACK_SEEDS)
def test_explain_limit_on_random_knapsacks(tmp_path, seed, limit):
    items, equity = random_knapsack(seed)
    case = knapsack_case(items, equity, limit)
    rep, _ = solve(tmp_path, f"k{seed}-{limit}", case)
    check_limited(rep, case, limit)


def test_enough_random_knapsacks():
    assert len(KNAPSACK_SEEDS) == 8


def test_many_estimates_come_from_reduced_costs(tmp_path, monkeypatch):
    """Beyond LP_RESOLVE_LIMIT estimates, each is the LP's reduced-cost bound. Knapsack LP with
    equity 60: A (1.5 per unit) and B (1.4) in whole, C critical at 10/25, so the capital dual is
    C's ratio 1.2 and each reduced cost is npv − 1.2 × capex. The MIP takes A and C (75)."""
    import optimizer.analysis.explain as explain

    monkeypatch.setattr(explain, "LP_RESOLVE_LIMIT", 0)
    items = [("A", 30, 45), ("B", 20, 28), ("C", 25, 30), ("D", 40, 36)]
    rep, out = solve(tmp_path, "reduced", knapsack_case(items, 60, limit=0), write=True)
    assert rep.objective == pytest.approx(75)
    portfolio = {r["project_id"]: r for r in sheet_rows(out, "Portfolio")}
    rejected = {r["project_id"]: r for r in sheet_rows(out, "Rejected")}
    assert set(portfolio) == {"A", "C"}
    assert portfolio["A"]["removal_cost"] == pytest.approx(45 - 1.2 * 30)  # 9
    assert portfolio["C"]["removal_cost"] == pytest.approx(0)  # basic (fractional) in the LP
    assert [portfolio["A"]["rank"], portfolio["C"]["rank"]] == [1, 2]
    assert rejected["B"]["break_even_npv"] == pytest.approx(28)  # whole in the LP: no loss
    assert rejected["D"]["break_even_npv"] == pytest.approx(36 + (1.2 * 40 - 36))  # 48
    assert {r["removal_cost_basis"] for r in portfolio.values()} == {"estimated"}
    assert {rejected[p]["break_even_basis"] for p in "BD"} == {"estimated"}
    # each is a lower bound on the relaxation's own loss (the re-solved estimates)
    est_out, est_in = lp_estimates(items, 60, ["A", "C"], ["B", "D"])
    assert all(portfolio[p]["removal_cost"] <= est_out[p] + TOL for p in "AC")
    assert all(rejected[p]["break_even_npv"] - dict((i, v) for i, _, v in items)[p] <= est_in[p] + TOL for p in "BD")
