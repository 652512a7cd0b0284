"""Why no portfolio exists, in the workbook's own terms.

``diagnose(data, settings)`` gives a list of {rule, detail, shortfall} (SPEC §3 ``diagnosis``).
Quick checks on the data come first and say why in the committee's words: a must-fund project
that a screen, a lock or a rule keeps out; must-fund commitments above equity or a yearly
limit; sector and rule minimums that the eligible projects cannot reach. The elastic model
(models/elastic.py) then finds the conflicts no single check sees, and for each the least
change of that one number that restores feasibility. Rules relaxed there: equity capital,
yearly capital and debt limits, sector shares and counts, must-fund locks, project rules,
leverage and LTV, investor minimums, risk, project and speculative shares, Japanese content
and nation satisfaction; approvals, ESG and exclusions are screens and never relaxed.
"""

from __future__ import annotations

from ..data import NATION_NAMES, Pipeline


def eligible(data: Pipeline) -> set[str]:
    return {p.project_id for p in data.projects
            if p.decision != "exclude" and data.approved(p) and not data.screened_by_esg(p)}


def diagnose(data: Pipeline, settings=None, ideals: dict[str, float] | None = None) -> list[dict]:
    """Quick checks on the data first (they say why in the committee's words), then, when a
    solver is at hand, the elastic model for the conflicts the checks cannot see."""
    out = data_checks(data)
    if settings is not None:
        by_rule = {d["rule"]: d for d in out}
        for d in elastic_diagnosis(data, settings, ideals):
            known = by_rule.get(d["rule"])
            if known is None:
                out.append(d)
            else:  # the check says why in words; the elastic model says by how much
                known["shortfall"] = d["shortfall"]
                known["least_change"] = d["least_change"]
                if d["least_change"] is not None:
                    known["detail"] += f"; relaxing this rule alone by {d['least_change']:,.6g} restores feasibility"
    if not out:
        out.append({"rule": "all rules together",
                    "detail": "no single rule is impossible on its own; together the capital, budget, sector "
                              "and rule limits leave no portfolio. Loosen a limit or unlock a must-fund project.",
                    "shortfall": None})
    return out


def data_checks(data: Pipeline) -> list[dict]:
    out: list[dict] = []
    unit = data.fund.currency_unit
    ok = eligible(data)
    must = [p for p in data.projects if p.decision == "must fund"]
    for p in must:
        if not data.approved(p):
            who = " and ".join(f"{NATION_NAMES[n]} ({p.approval(n)})" for n in data.approval_columns
                               if p.approval(n) != "yes")
            out.append({"rule": f"must fund {p.project_id} vs approval rule '{data.fund.approval_rule}'",
                        "detail": f"{p.project_id} is locked in (Projects row {p.row}) but not approved by {who}",
                        "shortfall": 1})
        if data.screened_by_esg(p):
            out.append({"rule": f"must fund {p.project_id} vs min_esg_score",
                        "detail": f"{p.project_id} is locked in but its ESG score {p.esg_score:g} is below "
                                  f"{data.fund.min_esg_score:g}",
                        "shortfall": data.fund.min_esg_score - p.esg_score})
    must_ids = {p.project_id for p in must}
    for r in data.rules:
        inside = [q for q in r.projects if q in must_ids]
        if r.rule == "excludes" and len(inside) > 1:
            out.append({"rule": f"Rules row {r.row}: excludes {', '.join(r.projects)}",
                        "detail": f"must-fund projects {', '.join(inside)} exclude each other", "shortfall": len(inside) - 1})
        if r.rule == "at_most" and len(inside) > (r.k or 0):
            out.append({"rule": f"Rules row {r.row}: at most {r.k} of {', '.join(r.projects)}",
                        "detail": f"{len(inside)} of them are must fund: {', '.join(inside)}",
                        "shortfall": len(inside) - r.k})
        if r.rule == "requires" and r.projects[0] in must_ids:
            blocked = [q for q in r.projects[1:] if q not in ok]
            if blocked:
                out.append({"rule": f"Rules row {r.row}: {r.describe()}",
                            "detail": f"must-fund {r.projects[0]} requires {', '.join(blocked)}, which cannot be "
                                      "funded (excluded, not approved or screened out)", "shortfall": len(blocked)})
        if r.rule == "at_least":
            avail = [q for q in r.projects if q in ok]
            if len(avail) < (r.k or 0):
                out.append({"rule": f"Rules row {r.row}: at least {r.k} of {', '.join(r.projects)}",
                            "detail": f"only {len(avail)} of them can be funded ({', '.join(avail) or 'none'})",
                            "shortfall": r.k - len(avail)})
    need = sum(p.capex * p.min_stake for p in must)
    if need > data.fund.equity_capital + 1e-9:
        out.append({"rule": "equity capital",
                    "detail": f"must-fund projects commit at least {need:,.6g} {unit} but equity_capital is "
                              f"{data.fund.equity_capital:,.6g}; equity needed: {need:,.6g}",
                    "shortfall": need - data.fund.equity_capital})
    for b in data.budget:
        if b.capital_limit is None:
            continue
        fixed = 0.0
        for p in must:
            years = data.start_years(p)
            if len(years) == 1:
                k = b.year - years[0]
                if 0 <= k < len(p.schedule):
                    fixed += p.min_stake * p.schedule[k]
        if fixed > b.capital_limit + 1e-9:
            out.append({"rule": f"Budget {b.year} capital_limit {b.capital_limit:,.6g}",
                        "detail": f"must-fund projects spend {fixed:,.6g} {unit} in {b.year}, above the limit "
                                  f"{b.capital_limit:,.6g}", "shortfall": fixed - b.capital_limit})
    for s in data.sectors:
        avail = [p for p in data.projects if p.sector == s.sector and p.project_id in ok]
        if s.min_projects and len(avail) < s.min_projects:
            out.append({"rule": f"{s.sector} minimum projects {s.min_projects}",
                        "detail": f"only {len(avail)} {s.sector} project(s) can be funded "
                                  "(the others are excluded, not approved or screened out)",
                        "shortfall": s.min_projects - len(avail)})
        if s.min_share and not avail and must:
            locked = sum(p.capex * p.min_stake for p in must)
            out.append({"rule": f"{s.sector} minimum share {s.min_share:.0%}",
                        "detail": f"{s.sector} minimum share {s.min_share:.0%} cannot be met: {s.sector} projects "
                                  "that may be funded add up to 0 (the others are excluded, not approved or "
                                  "screened out); the must-fund "
                                  + ", ".join(f"{p.project_id} commits {p.capex * p.min_stake:,.6g}" for p in must),
                        "shortfall": s.min_share * locked})
    return out


def blocking_rules(data: Pipeline, settings, ideals, projects: list[str], limit: int) -> dict[str, list[str]]:
    """For projects that no feasible portfolio can hold: the rules that keep each out.

    The project is locked in (decision = must fund) and the elastic model names the rules that
    must give way (at most ``limit`` projects, each one elastic solve).
    """
    from dataclasses import replace

    out: dict[str, list[str]] = {}
    for pid in projects[:limit]:
        forced = replace(data, projects=tuple(replace(p, decision="must fund") if p.project_id == pid else p
                                              for p in data.projects))
        rules = [f"{d['rule']} (off by {d['shortfall']:,.6g})"
                 for d in elastic_diagnosis(forced, settings, ideals, least_changes=False)
                 if d["rule"] != f"must fund {pid}"]
        if rules:
            out[pid] = rules
    return out


# --------------------------------------------------------------------------- elastic diagnosis
def elastic_diagnosis(data: Pipeline, settings, ideals: dict[str, float] | None = None,
                      least_changes: bool = True) -> list[dict]:
    """Which rules conflict, and by how much, from the elastic model (models/elastic.py).

    First every relaxable rule gets a slack and the weighted total is minimized: the rules
    left with a slack are the conflict. Then, for each of them, only that rule is relaxed: when
    that alone restores feasibility, its slack is the least change of that one number
    (``least_changes`` False: not asked; ``least_change`` stays None).
    """
    from models.elastic import relax
    from models.portfolio import build

    from ..solve import Solver

    def solve_relaxed(only):
        m = build(data)
        if ideals and hasattr(m, "ideal"):
            for n, v in ideals.items():
                m.ideal[n] = v
        slacks = relax(m, data, only)
        outcome = Solver(settings).solve(m)
        if not outcome.solved:
            return None, None
        found = {}
        for key, (up, down) in slacks.items():
            amount = sum(v.value or 0.0 for v in (up, down) if v is not None)
            if amount > 1e-6:
                found[key] = amount
        return found, outcome

    found, outcome = solve_relaxed(None)
    if not found:
        return []
    committed = sum(c.stake * data.by_id[p].capex for p, c in outcome.choices.items()) if outcome else 0.0
    out = []
    for (name, idx), amount in found.items():
        single, _ = solve_relaxed({name}) if least_changes else (None, None)
        alone = single is not None and sum(v for (n, _), v in single.items() if n == name) > 0
        least = single.get((name, idx)) if single else None
        rule, detail = describe(data, name, idx, amount, committed, ideals or {})
        entry = {"rule": rule, "detail": detail, "shortfall": round(amount, 9), "least_change": None}
        if alone and least is not None:
            entry["least_change"] = round(least, 9)
            entry["detail"] += f"; relaxing this rule alone by {least:,.6g} restores feasibility"
        out.append(entry)
    return out


def describe(data: Pipeline, name: str, idx, amount: float, committed: float, ideals: dict) -> tuple[str, str]:
    """A relaxed constraint and its slack, in the workbook's own terms."""
    fund, unit = data.fund, data.fund.currency_unit
    money = f"{amount:,.6g} {unit}"
    if name == "Equity_Capital":
        return ("equity capital", f"commitments the other rules require exceed equity (plus any debt) by {money}; "
                                  f"equity needed: {fund.equity_capital + amount:,.6g}")
    if name == "Budget_Capital":
        b = next(b for b in data.budget if b.year == idx)
        return (f"Budget {idx} capital_limit {b.capital_limit:,.6g}",
                f"the spending other rules require in {idx} exceeds the limit by {money}; "
                f"limit needed: {b.capital_limit + amount:,.6g}")
    if name in ("Sector_Share_Min", "Sector_Share_Max"):
        s = data.sector_limit(idx)
        which, share = ("minimum", s.min_share) if name.endswith("Min") else ("maximum", s.max_share)
        members = [p for p in data.projects if p.sector == idx]
        able = [p for p in members if p.decision != "exclude" and data.approved(p) and not data.screened_by_esg(p)]
        must = [p for p in data.projects if p.decision == "must fund"]
        detail = (f"{idx} {which} share {share:.0%} cannot be met: it is off by {money}; "
                  f"{idx} projects that may be funded add up to {sum(p.capex * p.max_stake for p in able):,.6g}")
        if must:
            detail += "; the must-fund " + ", ".join(f"{p.project_id} commits {p.capex * p.min_stake:,.6g}"
                                                     for p in must)
        return (f"{idx} {which} share {share:.0%}", detail)
    if name in ("Sector_Projects_Min", "Sector_Projects_Max"):
        s = data.sector_limit(idx)
        which, n = ("minimum", s.min_projects) if name.endswith("Min") else ("maximum", s.max_projects)
        return (f"{idx} {which} projects {n}", f"{idx} is off its {which} of {n} projects by {amount:g}")
    if name == "Must_Fund":
        p = data.by_id[idx]
        return (f"must fund {idx}", f"{idx} (Projects row {p.row}) is locked in but cannot be funded together "
                                    f"with the other rules")
    if name.startswith("Rule_"):
        r = data.rules[idx[0] if isinstance(idx, tuple) else idx]
        return (f"Rules row {r.row}: {r.describe()}", f"this rule cannot hold together with the others "
                                                      f"(off by {amount:g} project{'s' if amount > 1 else ''})")
    if name == "Debt_Leverage":
        return (f"max_leverage {fund.max_leverage:g}", f"the debt needed exceeds max_leverage × equity by {money}")
    if name == "Debt_LTV":
        return (f"max_ltv {fund.max_ltv:g}", f"the debt needed exceeds max_ltv × leverage-eligible commitments "
                                            f"by {money}")
    if name == "Debt_Year_Limit":
        b = next(b for b in data.budget if b.year == idx)
        return (f"Budget {idx} debt_limit {b.debt_limit:,.6g}", f"the debt needed in {idx} exceeds it by {money}")
    if name == "Investor_Min":
        return (f"investor {idx} min_commitment", f"off by {money}")
    if name == "Average_Risk":
        excess = amount / committed if committed > 1e-9 else amount
        return (f"max_avg_risk {fund.max_avg_risk:g}", f"the portfolio the other rules require has an average "
                                                       f"risk {excess:.4g} above the cap")
    if name == "Project_Share_Max":
        return (f"max_project_share {fund.max_project_share:.0%}", f"{idx} exceeds it by {money}")
    if name == "Speculative_Share":
        return (f"max_speculative_share {fund.max_speculative_share:.0%}", f"speculative sectors exceed it by {money}")
    if name in ("Jp_Content_Min", "Jp_Content_Max"):
        bound = fund.jp_content_min if name.endswith("Min") else fund.jp_content_max
        return (f"{'jp_content_min' if name.endswith('Min') else 'jp_content_max'} {bound:.0%}",
                f"Japanese content is off by {money} of commitments")
    if name == "Nation_Satisfaction":
        ideal = ideals.get(idx) or 0.0
        gap = amount / ideal if ideal else 0.0
        who = NATION_NAMES[idx]
        return (f"min_nation_satisfaction {fund.min_nation_satisfaction:.0%} for {who}",
                f"{who}'s satisfaction falls short by {gap:.2%} of its ideal score value {ideal:,.6g}")
    return (name, f"off by {amount:,.6g}")
