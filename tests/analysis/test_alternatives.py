"""Ranked alternatives (SPEC §1 Fund ``alternatives`` / ``min_difference``, §4 Alternatives sheet)
against brute force.

The method is greedy: portfolio 1 is the optimum, portfolio k+1 the best feasible portfolio
differing from EVERY one of portfolios 1..k by at least ``min_difference`` projects (fewer than
``alternatives`` portfolios when no more exist). The reference enumerates every feasible
portfolio of a small pipeline — a subset is feasible exactly when tests/enumerate.py's
``reference`` finds the pipeline with that subset locked in (``must fund``) and the rest locked
out (``exclude``) feasible — and applies the same greedy rule:

* step by step, given the portfolios fundopt actually reported (so that ties among equally good
  portfolios cannot make the comparison fail), each reported portfolio is feasible, differs from
  every earlier one by ≥ min_difference, and its objective is the best left; the list stops short
  of K only when nothing is left;
* the objectives equal those of the greedy list over all portfolios sorted by objective (with
  min_difference 1: the K best feasible portfolios overall), compared as values in order.

The pipelines are tests/test_enumeration.py's random ones (every rule family of the spine),
cut to their first 8 projects to keep the enumeration small; all are all-or-nothing, mip_gap 0.
"""

from __future__ import annotations

import itertools
from collections import Counter
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest

from enumerate import reference
from helpers import make_workbook
from optimizer.runner import run_workbook
from test_enumeration import random_case

TOL = 1e-6
N_MAX = 8


def small_case(seed: int) -> dict:
    """``random_case(seed)`` cut to its first N_MAX projects (rules and schedule rows naming a
    dropped project go too; the equity and budget limits stay, so they bite less)."""
    case = random_case(seed)
    keep = case["projects"][:N_MAX]
    ids = {p["project_id"] for p in keep}
    rules = [r for r in case["rules"] or () if {q.strip() for q in r["projects"].split(",")} <= ids]
    schedule = {pid: row for pid, row in (case["schedule"] or {}).items() if pid in ids}
    return {**case, "fund": dict(case["fund"]), "projects": keep, "rules": rules or None,
            "schedule": schedule or None}


def count_for(seed: int) -> int:
    return 3 + seed % 3  # alternatives K = 3..5


@lru_cache(maxsize=None)
def feasible_portfolios(seed: int) -> tuple[tuple[float, frozenset], ...]:
    """Every feasible portfolio of ``small_case(seed)`` with its objective (Σ NPV)."""
    case = small_case(seed)
    projects = case["projects"]
    ids = [p["project_id"] for p in projects]
    lock = {p["project_id"]: str(p.get("decision") or "").strip().lower() for p in projects}
    found = []
    for bits in itertools.product((0, 1), repeat=len(ids)):
        chosen = frozenset(pid for pid, b in zip(ids, bits) if b)
        if any((lock[pid] == "exclude" and pid in chosen) or (lock[pid] == "must fund" and pid not in chosen)
               for pid in ids):
            continue  # breaks the committee's own lock
        pinned = [dict(p, decision="must fund" if p["project_id"] in chosen else "exclude") for p in projects]
        ref = reference(**{**case, "projects": pinned})
        if ref is not None:
            found.append((ref.objective, chosen))
    return tuple(found)


def _seeds(portfolios: int, how_many: int) -> list[int]:
    found = []
    for s in range(300):
        if reference(**small_case(s)) is None:
            continue
        n = len(feasible_portfolios(s))
        if (n >= 2) if portfolios == 2 else n == portfolios:
            found.append(s)
            if len(found) == how_many:
                break
    return found


#: 36 cut pipelines with a choice to make (≥ 2 feasible portfolios), and 4 with a single one
SEEDS = _seeds(2, 36) + _seeds(1, 4)


def differs(a: frozenset, b: frozenset, d: int) -> bool:
    return len(a ^ b) >= d


def greedy(portfolios, count: int, d: int) -> tuple[list[float], bool]:
    """Objectives of the greedy list over all portfolios sorted by objective, and whether it is
    free of ties that matter (no step had two equally good eligible portfolios)."""
    picked: list[frozenset] = []
    values: list[float] = []
    clear = True
    while len(picked) < count:
        left = [(o, t) for o, t in portfolios if all(differs(t, h, d) for h in picked)]
        if not left:
            break
        best = max(o for o, _ in left)
        top = [t for o, t in left if o >= best - 1e-9]
        clear &= len(top) == 1
        picked.append(min(top, key=sorted))
        values.append(best)
    return values, clear


def ids_of(text) -> frozenset:
    return frozenset(s.strip() for s in str(text or "").split(",") if s.strip())


def sheet_rows(path: Path, title: str) -> list[dict]:
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True)[title]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r)) for r in rows[1:] if any(v is not None for v in r)]


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("seed", SEEDS)
def test_alternatives_match_greedy_enumeration(tmp_path, seed, d):
    count = count_for(seed)
    case = small_case(seed)
    case["fund"].update(alternatives=count, min_difference=d, explain_limit=0)  # mip_gap 0 already
    path = make_workbook(tmp_path / f"seed{seed}.xlsx", **case)
    out = tmp_path / f"seed{seed}-out.xlsx"
    report = run_workbook(path, out).report
    portfolios = feasible_portfolios(seed)
    value = {t: o for o, t in portfolios}

    rows = sheet_rows(out, "Alternatives")
    assert [r["portfolio"] for r in rows] == list(range(1, len(rows) + 1))
    assert 1 <= len(rows) <= count
    reported = [(float(r["objective"]), ids_of(r["selected"])) for r in rows]
    assert reported[0][1] == frozenset(report.selected)
    assert reported[0][0] == pytest.approx(report.objective, abs=TOL)

    # greedy, step by step along what was reported
    history: list[frozenset] = []
    for k, (objective, chosen) in enumerate(reported, 1):
        left = [o for o, t in portfolios if all(differs(t, h, d) for h in history)]
        assert left, f"seed {seed}: portfolio {k} reported although none differs by {d} from 1..{k - 1}"
        assert chosen in value, f"seed {seed}: portfolio {k} {sorted(chosen)} is not feasible"
        assert objective == pytest.approx(value[chosen], abs=TOL), (k, sorted(chosen))
        assert all(differs(chosen, h, d) for h in history), (
            f"seed {seed}: portfolio {k} {sorted(chosen)} is within {d - 1} projects of an earlier one")
        assert objective == pytest.approx(max(left), abs=TOL), (
            f"seed {seed} d {d}: portfolio {k} has {objective}, the best left is {max(left)}")
        history.append(chosen)
    if len(reported) < count:  # stopped short: nothing differs enough from all of them
        assert not [t for _, t in portfolios if all(differs(t, h, d) for h in history)], (seed, d, len(reported))

    # the same greedy rule over the sorted enumeration, objectives compared in order
    expected, clear = greedy(portfolios, count, d)
    if d == 1:  # the K best feasible portfolios overall
        assert expected == sorted((o for o, _ in portfolios), reverse=True)[:count]
    if d == 1 or clear:
        assert [o for o, _ in reported] == pytest.approx(expected, abs=TOL), (seed, d)

    # the sheet: gap to portfolio 1, added / removed project ids vs portfolio 1
    first_objective, first = reported[0]
    for r, (objective, chosen) in zip(rows, reported):
        assert float(r["gap"]) == pytest.approx(first_objective - objective, abs=TOL)
        assert float(r["gap"]) >= -TOL
        assert ids_of(r["added"]) == chosen - first, r
        assert ids_of(r["removed"]) == first - chosen, r
        assert r["projects"] == len(chosen)
    # the report rows the sheet was written from agree
    assert [(a["portfolio"], ids_of(a["selected"])) for a in report.alternatives] == [
        (k, t) for k, (_, t) in enumerate(reported, 1)]


def test_the_alternative_pipelines_cover_every_case():
    """≥ 30 pipelines with a choice to make; K reached with min_difference 2 often, and some
    pipelines where fewer than K portfolios exist or min_difference 2 changes the list."""
    seen: Counter = Counter()
    for seed in SEEDS:
        portfolios = feasible_portfolios(seed)
        count = count_for(seed)
        seen["pipelines"] += 1
        seen["≥ 2 portfolios"] += len(portfolios) >= 2
        one, _ = greedy(portfolios, count, 1)
        two, _ = greedy(portfolios, count, 2)
        seen["K reached, d 2"] += len(two) == count
        seen["short, d 1"] += len(one) < count
        seen["short only with d 2"] += len(one) == count > len(two)
        seen["d 2 changes objectives"] += len(two) == len(one) and one != two
        seen["tied objectives"] += len({round(o, 9) for o, _ in portfolios}) < len(portfolios)
    assert seen["pipelines"] == 40 and seen["≥ 2 portfolios"] >= 36, seen
    assert seen["K reached, d 2"] >= 10, seen
    assert min(seen["short, d 1"], seen["short only with d 2"], seen["d 2 changes objectives"],
               seen["tied objectives"]) >= 2, seen
