"""Why no portfolio exists, in the workbook's own terms.

``diagnose(data)`` runs quick checks on the data alone (no solve): each conflict it finds is a
dict {rule, detail, shortfall} as SPEC §3 asks for ``--json`` ``diagnosis``. It covers the
conflicts a committee meets most: a must-fund project that a screen, a lock or a rule keeps
out; must-fund commitments above equity or a yearly limit; sector and rule minimums that the
eligible projects cannot reach.
"""

from __future__ import annotations

from ..data import NATION_NAMES, Pipeline


def eligible(data: Pipeline) -> set[str]:
    return {p.project_id for p in data.projects
            if p.decision != "exclude" and data.approved(p) and not data.screened_by_esg(p)}


def diagnose(data: Pipeline) -> list[dict]:
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
            out.append({"rule": f"Budget {b.year} capital_limit",
                        "detail": f"must-fund projects spend {fixed:,.6g} {unit} in {b.year}, above the limit "
                                  f"{b.capital_limit:,.6g}", "shortfall": fixed - b.capital_limit})
    for s in data.sectors:
        avail = [p for p in data.projects if p.sector == s.sector and p.project_id in ok]
        if s.min_projects and len(avail) < s.min_projects:
            out.append({"rule": f"{s.sector} minimum projects {s.min_projects}",
                        "detail": f"only {len(avail)} {s.sector} project(s) can be funded "
                                  "(the others are excluded, not approved or screened out)",
                        "shortfall": s.min_projects - len(avail)})
        if s.min_share and not avail:
            out.append({"rule": f"{s.sector} minimum share {s.min_share:.0%}",
                        "detail": f"no {s.sector} project can be funded (excluded, not approved or screened out)",
                        "shortfall": s.min_share})
    if not out:
        out.append({"rule": "all rules together",
                    "detail": "no single rule is impossible on its own; together the capital, budget, sector "
                              "and rule limits leave no portfolio. Loosen a limit or unlock a must-fund project.",
                    "shortfall": None})
    return out
