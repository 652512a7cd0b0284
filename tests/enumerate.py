"""A brute-force reference solver for small pipelines, and the end-to-end runner tests use with it.

``reference(projects, fund=..., sectors=..., budget=..., rules=..., schedule=...)`` takes the
very arguments :func:`helpers.make_workbook` takes (the raw rows an analyst types) and tries
every subset of projects, applying SPEC §1–§2 on its own — it imports nothing from
``models/``, ``optimizer.data`` or the workbook reader:

- projects are all or nothing and start at ``earliest_start`` (or ``planning_start``; the
  Fund default of :func:`make_workbook` is 2027), so no NPV is discounted;
- capex is the project's ``CapexSchedule`` row sum when it has one (the row overrides
  ``capex`` and ``duration``), else ``capex``; spending is that row placed from the start
  year on, or ``capex / duration`` in each of ``duration`` years;
- capital: Σ capex ≤ ``equity_capital`` (default 300; no debt, ``max_leverage`` is 0);
- ``Budget``: spending in each calendar year ≤ its ``capital_limit``;
- ``Sectors``: a sector's capex ≥ ``min_share`` × total and ≤ ``max_share`` × total,
  its funded count within ``min_projects`` … ``max_projects``;
- locks: ``must fund`` always in, ``exclude`` never;
- approvals: only ``yes`` approves (``no``, ``pending`` and a blank cell do not); a column
  absent from the sheet is not checked; ``approval_rule`` both / either / none (default both);
- ESG: a project whose ``esg_score`` is below ``min_esg_score`` is out;
- ``Rules``: requires (the first needs all the others), excludes (at most one),
  at_most k, at_least k, together (all or none).

The objective is Σ NPV of the subset. It uses NumPy over all 2^n subsets at once (n ≤ ~16).

``run_case(tmp_path, name, **make_workbook_arguments)`` is the end-to-end path every test of
the model families uses: write the workbook, ``run_workbook(..., verify=True)`` (solve, write
the output workbook, run the invariant checker of optimizer/verify.py on it) and assert the
checker found nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: feasibility tolerance, matched to the solver's (HiGHS primal feasibility 1e-7)
EPS = 1e-7
PLANNING_START = 2027  # make_workbook's default


@dataclass(frozen=True)
class Reference:
    objective: float
    #: every optimal portfolio (sets of project ids), to tell a unique optimum from a tie
    optima: tuple[frozenset, ...]

    @property
    def unique(self) -> frozenset | None:
        return self.optima[0] if len(self.optima) == 1 else None


def _word(v: Any) -> str:
    return "" if v is None else str(v).strip().lower()


def _ids(text: Any) -> list[str]:
    return [s.strip() for s in str(text).replace(";", ",").split(",") if s.strip()]


def _given(v: Any) -> bool:
    return v is not None and not (isinstance(v, str) and not v.strip())


def reference(projects: Sequence[dict], *, fund: dict | None = None, sectors: Sequence[dict] | None = None,
              budget: Sequence[dict] | None = None, rules: Sequence[dict] | None = None,
              schedule: dict[str, Sequence[float]] | None = None, **_ignored) -> Reference | None:
    """The best portfolio by brute force, or None when no subset satisfies every rule."""
    fund = {"planning_start": PLANNING_START, **(fund or {})}
    schedule = schedule or {}
    ids = [str(p["project_id"]) for p in projects]
    n = len(ids)
    index = {pid: j for j, pid in enumerate(ids)}
    start0 = int(fund["planning_start"])
    equity = float(fund.get("equity_capital", 300.0))
    approval_rule = _word(fund.get("approval_rule")) or "both"
    min_esg = fund.get("min_esg_score")

    # capex and spending by calendar year, all or nothing
    capex = np.zeros(n)
    npv = np.array([float(p["npv"]) for p in projects])
    spend: dict[int, np.ndarray] = {}
    for j, p in enumerate(projects):
        start = int(p["earliest_start"]) if _given(p.get("earliest_start")) else start0
        if ids[j] in schedule:
            row = [float(a or 0.0) for a in schedule[ids[j]]]
        else:
            duration = int(p["duration"]) if _given(p.get("duration")) else 1
            row = [float(p["capex"]) / duration] * duration
        capex[j] = sum(row)
        for k, amount in enumerate(row):
            spend.setdefault(start + k, np.zeros(n))[j] += amount

    # every subset as a row of 0/1
    masks = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(float)
    ok = np.ones(2 ** n, dtype=bool)

    def cap(value: np.ndarray, limit: float) -> np.ndarray:  # value ≤ limit, within tolerance
        return value <= limit + EPS * max(1.0, abs(limit))

    # locks, approvals, ESG: projects that must be in or out
    columns = [c for c in ("us_approval", "jp_approval") if any(c in p for p in projects)]
    for j, p in enumerate(projects):
        decision = _word(p.get("decision"))
        out = decision == "exclude"
        if columns and approval_rule != "none":
            yes = [_word(p.get(c)) == "yes" for c in columns]
            out |= not (all(yes) if approval_rule == "both" else any(yes))
        if _given(min_esg) and _given(p.get("esg_score")) and float(p["esg_score"]) < float(min_esg):
            out = True
        if out:
            ok &= masks[:, j] == 0
        if decision == "must fund":
            ok &= masks[:, j] == 1

    total = masks @ capex
    ok &= cap(total, equity)
    for b in budget or ():
        if _given(b.get("capital_limit")):
            y = int(b["year"])
            used = masks @ spend[y] if y in spend else np.zeros(2 ** n)
            ok &= cap(used, float(b["capital_limit"]))

    for s in sectors or ():
        member = np.array([1.0 if str(p["sector"]) == str(s["sector"]) else 0.0 for p in projects])
        value, count = masks @ (member * capex), masks @ member
        if _given(s.get("min_share")):
            ok &= value >= float(s["min_share"]) * total - EPS * np.maximum(1.0, total)
        if _given(s.get("max_share")):
            ok &= value <= float(s["max_share"]) * total + EPS * np.maximum(1.0, total)
        if _given(s.get("min_projects")):
            ok &= count >= int(s["min_projects"])
        if _given(s.get("max_projects")):
            ok &= count <= int(s["max_projects"])

    for r in rules or ():
        kind, members = _word(r["rule"]), [index[q] for q in _ids(r["projects"])]
        inside = masks[:, members]
        n_in = inside.sum(axis=1)
        if kind == "requires":
            ok &= (inside[:, 0] == 0) | (n_in == len(members))
        elif kind == "excludes":
            ok &= n_in <= 1
        elif kind == "at_most":
            ok &= n_in <= int(r["k"])
        elif kind == "at_least":
            ok &= n_in >= int(r["k"])
        elif kind == "together":
            ok &= (n_in == 0) | (n_in == len(members))
        else:
            raise ValueError(f"unknown rule {kind}")

    if not ok.any():
        return None
    values = np.where(ok, masks @ npv, -np.inf)
    best = float(values.max())
    optima = tuple(frozenset(ids[j] for j in range(n) if masks[i, j])
                   for i in np.flatnonzero(values >= best - 1e-9))
    return Reference(best, optima)


# --------------------------------------------------------------------------- end to end
@dataclass
class Solved:
    status: str
    objective: float
    selected: frozenset
    verify_problems: list[str]


def solve_workbook(path: Path, out: Path | None = None) -> Solved:
    """``run_workbook(path, out, verify=True)``: solve, write the output workbook, and run the
    invariant checker on it. Raises InfeasibleError like a run does."""
    from optimizer.runner import run_workbook

    path = Path(path)
    result = run_workbook(path, out or path.with_name(path.stem + "-out.xlsx"), verify=True)
    outcome, report = result.outcome, result.report
    assert result.output is not None and Path(result.output).exists()
    assert result.verify_problems is not None  # the checker ran
    # the solver's objective and the reported one (recomputed from the choices) agree
    assert outcome.objective is not None and abs(outcome.objective - report.objective) <= 1e-6 * max(
        1.0, abs(report.objective)), (outcome.objective, report.objective)
    return Solved(outcome.status, report.objective, frozenset(outcome.selected), list(result.verify_problems))


def run_case(tmp_path: Path, name: str = "case", check: bool = True, **workbook) -> Solved:
    """Write ``make_workbook(tmp_path/name.xlsx, **workbook)`` and solve it; with ``check``,
    assert that the invariant checker found nothing (else the caller looks at
    ``verify_problems`` itself, see :func:`check_verified`)."""
    from helpers import make_workbook

    path = make_workbook(Path(tmp_path) / f"{name}.xlsx", **workbook)
    solved = solve_workbook(path, Path(tmp_path) / f"{name}-out.xlsx")
    if check:
        assert solved.verify_problems == [], solved.verify_problems
    return solved


def check_verified(solved: Solved) -> None:
    """The invariant checker found nothing wrong with the output workbook."""
    assert solved.verify_problems == [], solved.verify_problems
