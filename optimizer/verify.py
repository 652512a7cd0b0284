"""The invariant checker: recompute every active rule from the output workbook's own tables.

It reads the output as an analyst would — the carried input sheets (the output is itself a
valid input) and the Portfolio, Rejected, Summary and Constraints sheets — and checks, with
its own arithmetic and independently of the model and the report code, that the portfolio
obeys every rule that is on. ``fundopt run --verify`` runs it; the tests run it after every
solve. Returns a list of violations; empty means every rule holds.
"""

from __future__ import annotations

from pathlib import Path

TOL = 1e-6


def _close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check_workbook(path: str | Path) -> list[str]:
    from .workbook.reader import read_report_tables
    from .workbook.validate import read_pipeline

    data = read_pipeline(path)
    tables = read_report_tables(path, ("Portfolio", "Rejected", "Summary", "Constraints"))
    portfolio = {str(r["project_id"]): r for r in tables["Portfolio"]}
    summary = {str(r["item"]): r["value"] for r in tables["Summary"]}
    return check_tables(data, portfolio, summary, tables["Rejected"], tables["Constraints"])


def check_tables(data, portfolio: dict[str, dict], summary: dict, rejected: list[dict],
                 constraints: list[dict]) -> list[str]:
    bad: list[str] = []
    fund = data.fund
    by_id = {p.project_id: p for p in data.projects}
    committed: dict[str, float] = {}
    spend: dict[int, float] = {}
    npv_total = 0.0
    for pid, row in portfolio.items():
        p = by_id.get(pid)
        if p is None:
            bad.append(f"Portfolio lists {pid}, which is not on Projects")
            continue
        stake, start = float(row["stake"]), int(row["start_year"])
        if not (p.min_stake - TOL <= stake <= p.max_stake + TOL):
            bad.append(f"{pid}: stake {stake} outside [{p.min_stake}, {p.max_stake}]")
        first = p.earliest_start if p.earliest_start is not None else fund.planning_start
        last = p.latest_start if p.latest_start is not None else first
        if not first <= start <= last:
            bad.append(f"{pid}: start year {start} outside its window {first}–{last}")
        committed[pid] = stake * p.capex
        if not _close(committed[pid], float(row["committed"])):
            bad.append(f"{pid}: committed {row['committed']} but stake × capex = {committed[pid]}")
        value = stake * p.npv / (1 + fund.discount_rate) ** (start - first)
        npv_total += value
        if not _close(value, float(row["npv"])):
            bad.append(f"{pid}: npv {row['npv']} but stake × NPV after delay = {value}")
        for k, amount in enumerate(p.schedule):
            spend[start + k] = spend.get(start + k, 0.0) + stake * amount
        if p.decision == "exclude":
            bad.append(f"{pid} is funded but its decision is exclude")
        if fund.approval_rule != "none" and data.approval_columns:
            ok = [p.approval(n) == "yes" for n in data.approval_columns]
            if not (all(ok) if fund.approval_rule == "both" else any(ok)):
                bad.append(f"{pid} is funded without the approvals rule '{fund.approval_rule}' asks for")
        if fund.min_esg_score is not None and p.esg_score is not None and p.esg_score < fund.min_esg_score:
            bad.append(f"{pid} is funded with ESG score {p.esg_score} below {fund.min_esg_score}")
    for p in data.projects:
        if p.decision == "must fund" and p.project_id not in portfolio:
            bad.append(f"{p.project_id} is must fund but not in the portfolio")
    total = sum(committed.values())
    debt = float(summary.get("debt") or 0.0)
    if total > fund.equity_capital + debt + TOL * max(1.0, total):
        bad.append(f"commitments {total} exceed equity {fund.equity_capital} + debt {debt}")
    for b in data.budget:
        if b.capital_limit is not None and spend.get(b.year, 0.0) > b.capital_limit + TOL * max(1.0, b.capital_limit):
            bad.append(f"spending {spend.get(b.year, 0.0)} in {b.year} exceeds capital_limit {b.capital_limit}")
    for s in data.sectors:
        members = [p.project_id for p in data.projects if p.sector == s.sector]
        value = sum(committed.get(q, 0.0) for q in members)
        count = sum(1 for q in members if q in portfolio)
        if s.min_share is not None and value < s.min_share * total - TOL * max(1.0, total):
            bad.append(f"sector {s.sector}: {value} is below min_share {s.min_share} of {total}")
        if s.max_share is not None and value > s.max_share * total + TOL * max(1.0, total):
            bad.append(f"sector {s.sector}: {value} is above max_share {s.max_share} of {total}")
        if s.min_projects is not None and count < s.min_projects:
            bad.append(f"sector {s.sector}: {count} projects, below min_projects {s.min_projects}")
        if s.max_projects is not None and count > s.max_projects:
            bad.append(f"sector {s.sector}: {count} projects, above max_projects {s.max_projects}")
    for r in data.rules:
        inside = [q in portfolio for q in r.projects]
        n = sum(inside)
        broken = ((r.rule == "requires" and inside[0] and not all(inside))
                  or (r.rule == "excludes" and n > 1)
                  or (r.rule == "at_most" and n > r.k)
                  or (r.rule == "at_least" and n < r.k)
                  or (r.rule == "together" and 0 < n < len(inside)))
        if broken:
            bad.append(f"Rules row {r.row} ({r.rule} {', '.join(r.projects)}) is broken")
    if fund.objective == "npv":
        reported = summary.get("objective value")
        if reported is None or not _close(float(reported), npv_total, 1e-6):
            bad.append(f"Summary objective {reported} but the portfolio's NPV is {npv_total}")
    listed = [str(r["project_id"]) for r in rejected]
    missing = set(by_id) - set(portfolio) - set(listed)
    if missing or len(listed) != len(set(listed)) or set(listed) & set(portfolio):
        bad.append(f"Rejected must list every unselected project once (missing {sorted(missing)})")
    for r in rejected:
        if not r.get("reason"):
            bad.append(f"{r['project_id']} is rejected without a reason")
    for c in constraints:
        if c.get("holds") != "yes":
            bad.append(f"Constraints sheet: {c.get('rule')} {c.get('scope')} does not hold")
    return bad
