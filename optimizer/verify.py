"""The invariant checker: recompute every active rule from the output workbook's own tables.

It reads the output as an analyst would — the carried input sheets (the output is itself a
valid input) and the Portfolio, Capital, Sources, Nations, Rejected, Summary and Constraints
sheets — and checks, with its own arithmetic and independently of the model and the report
code, that the portfolio obeys every rule that is on and that the reported objective is the
portfolio's. ``fundopt run --verify`` runs it; the tests run it after every solve. Returns a
list of violations; empty means every rule holds.
"""

from __future__ import annotations

from pathlib import Path

TOL = 1e-6
SHEETS = ("Portfolio", "Rejected", "Summary", "Constraints", "Capital", "Sources", "Nations")


def _close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _num(v) -> float:
    return 0.0 if v is None or v == "" else float(v)


def check_workbook(path: str | Path) -> list[str]:
    from .workbook.reader import read_report_tables
    from .workbook.validate import read_pipeline

    data = read_pipeline(path)
    return check_tables(data, read_report_tables(path, SHEETS))


def check_tables(data, tables: dict[str, list[dict]]) -> list[str]:
    bad: list[str] = []
    fund = data.fund
    by_id = {p.project_id: p for p in data.projects}
    portfolio = {str(r["project_id"]): r for r in tables["Portfolio"]}
    summary = {str(r["item"]): r["value"] for r in tables["Summary"]}
    debt_by_year = {int(r["year"]): _num(r.get("debt_drawn")) for r in tables["Capital"]}
    investors = {str(r["source"]): _num(r["amount"]) for r in tables["Sources"] if r.get("kind") == "investor"}
    ideals = {str(r["nation"]): r.get("ideal_score_value") for r in tables["Nations"]}

    def tol(x: float) -> float:
        return TOL * max(1.0, abs(x))

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

    # capital: equity (governments + investors) and debt
    debt = sum(debt_by_year.values())
    known = {i.investor: i for i in data.investors}
    for name, amount in investors.items():
        i = known.get(name)
        if i is None:
            bad.append(f"Sources lists investor {name}, which is not on Investors")
            continue
        if amount > TOL:
            if amount < i.min_commitment - tol(i.min_commitment):
                bad.append(f"investor {name} commits {amount}, below its minimum {i.min_commitment}")
            if i.max_commitment is not None and amount > i.max_commitment + tol(i.max_commitment):
                bad.append(f"investor {name} commits {amount}, above its maximum {i.max_commitment}")
            if i.max_avg_risk is not None and total > TOL:
                avg = sum(v * (by_id[q].risk or 0.0) for q, v in committed.items()) / total
                if avg > i.max_avg_risk + TOL:
                    bad.append(f"investor {name} is in, but the average risk {avg:.4f} exceeds its {i.max_avg_risk}")
    equity = fund.equity_capital + sum(investors.values())
    if total > equity + debt + tol(total):
        bad.append(f"commitments {total} exceed equity {equity} + debt {debt}")
    if debt > TOL:
        if fund.max_leverage <= 0:
            bad.append(f"debt {debt} is drawn but max_leverage is 0")
        if debt > fund.max_leverage * equity + tol(debt):
            bad.append(f"debt {debt} exceeds max_leverage {fund.max_leverage} × equity {equity}")
        eligible = 0.0
        for q, v in committed.items():
            s = data.sector_limit(by_id[q].sector)
            if by_id[q].leverage_eligible and (s is None or s.leverage_allowed):
                eligible += v
        if debt > fund.max_ltv * eligible + tol(debt):
            bad.append(f"debt {debt} exceeds max_ltv {fund.max_ltv} × leverage-eligible commitments {eligible}")
        for y, d in debt_by_year.items():
            if d > spend.get(y, 0.0) + tol(d):
                bad.append(f"debt {d} drawn in {y} exceeds that year's spending {spend.get(y, 0.0)}")
    for b in data.budget:
        if b.capital_limit is not None and spend.get(b.year, 0.0) > b.capital_limit + tol(b.capital_limit):
            bad.append(f"spending {spend.get(b.year, 0.0)} in {b.year} exceeds capital_limit {b.capital_limit}")
        if b.debt_limit is not None and debt_by_year.get(b.year, 0.0) > b.debt_limit + tol(b.debt_limit):
            bad.append(f"debt {debt_by_year.get(b.year)} in {b.year} exceeds debt_limit {b.debt_limit}")

    # sectors and portfolio-wide screens (shares of total commitments)
    for s in data.sectors:
        members = [p.project_id for p in data.projects if p.sector == s.sector]
        value = sum(committed.get(q, 0.0) for q in members)
        count = sum(1 for q in members if q in portfolio)
        if s.min_share is not None and value < s.min_share * total - tol(total):
            bad.append(f"sector {s.sector}: {value} is below min_share {s.min_share} of {total}")
        if s.max_share is not None and value > s.max_share * total + tol(total):
            bad.append(f"sector {s.sector}: {value} is above max_share {s.max_share} of {total}")
        if s.min_projects is not None and count < s.min_projects:
            bad.append(f"sector {s.sector}: {count} projects, below min_projects {s.min_projects}")
        if s.max_projects is not None and count > s.max_projects:
            bad.append(f"sector {s.sector}: {count} projects, above max_projects {s.max_projects}")
    if fund.max_avg_risk is not None:
        weighted = sum(v * (by_id[q].risk or 0.0) for q, v in committed.items())
        if weighted > fund.max_avg_risk * total + tol(total):
            bad.append(f"average risk {weighted / total:.4f} exceeds max_avg_risk {fund.max_avg_risk}")
    if fund.max_project_share is not None:
        for q, v in committed.items():
            if v > fund.max_project_share * total + tol(total):
                bad.append(f"{q} is {v / total:.2%} of commitments, above max_project_share {fund.max_project_share}")
    if fund.max_speculative_share is not None:
        spec = {s.sector for s in data.sectors if s.speculative}
        value = sum(v for q, v in committed.items() if by_id[q].sector in spec)
        if value > fund.max_speculative_share * total + tol(total):
            bad.append(f"speculative sectors hold {value}, above {fund.max_speculative_share} of {total}")
    jp = sum(v * (by_id[q].jp_content or 0.0) for q, v in committed.items())
    if fund.jp_content_min is not None and jp < fund.jp_content_min * total - tol(total):
        bad.append(f"Japanese content {jp / total:.4f} is below jp_content_min {fund.jp_content_min}")
    if fund.jp_content_max is not None and jp > fund.jp_content_max * total + tol(total):
        bad.append(f"Japanese content {jp / total:.4f} is above jp_content_max {fund.jp_content_max}")
    values = {n: sum(v * ((by_id[q].us_score if n == "US" else by_id[q].jp_score) or 0.0)
                     for q, v in committed.items()) for n in ("US", "JP")}
    if fund.min_nation_satisfaction is not None:
        for n, v in values.items():
            ideal = ideals.get(n)
            if ideal is None:
                bad.append(f"the Nations sheet gives no ideal score value for {n}")
            elif v < fund.min_nation_satisfaction * float(ideal) - tol(float(ideal)):
                bad.append(f"{n}'s satisfaction {v / float(ideal):.4f} is below {fund.min_nation_satisfaction}")

    # interdependencies
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

    # the reported objective is this portfolio's
    reported = summary.get("objective value")
    cost = fund.debt_cost * debt + sum(known[i].required_return * a for i, a in investors.items() if i in known)
    terms = {"npv": npv_total - cost}
    for kind, attr in (("strategic", "strategic_score"), ("jobs", "jobs")):
        terms[kind] = sum(v / by_id[q].capex * (getattr(by_id[q], attr) or 0.0) for q, v in committed.items())
    if fund.objective == "maxmin_satisfaction":
        sats = [values[n] / float(ideals[n]) for n in values if ideals.get(n)]
        expected = min(sats + [1.0])
    elif fund.objective == "weighted":
        from .workbook.validate import parse_weights

        weights, _ = parse_weights(fund.objective_weights or "npv=1")
        expected = sum(w * terms[k] for k, w in weights.items())
    else:
        expected = terms[fund.objective]
    if (reported is None or not _close(float(reported), expected, 1e-6)):
        bad.append(f"Summary objective {reported} but the portfolio's {fund.objective} is {expected}")

    rejected = tables["Rejected"]
    listed = [str(r["project_id"]) for r in rejected]
    missing = set(by_id) - set(portfolio) - set(listed)
    if missing or len(listed) != len(set(listed)) or set(listed) & set(portfolio):
        bad.append(f"Rejected must list every unselected project once (missing {sorted(missing)})")
    for r in rejected:
        if not r.get("reason"):
            bad.append(f"{r['project_id']} is rejected without a reason")
    for c in tables["Constraints"]:
        if c.get("holds") != "yes":
            bad.append(f"Constraints sheet: {c.get('rule')} {c.get('scope')} does not hold")
    return bad
