"""The result of a run as plain tables: what the workbook writer, ``--json`` and batch workers use.

Everything here is recomputed from the data and each project's :class:`~optimizer.solve.Choice`
(stake, start year); nothing reads the Pyomo model. A :class:`Report` pickles cheaply.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .data import NATION_NAMES, NATIONS, Pipeline, Project
from .solve import Choice, Outcome

TOL = 1e-6


# --------------------------------------------------------------------------- recomputation
def npv_value(data: Pipeline, p: Project, c: Choice) -> float:
    return c.stake * p.npv * data.delay_factor(p, c.start_year)


def spending(data: Pipeline, choices: dict[str, Choice]) -> dict[int, float]:
    """Calendar year -> spending of the funded projects."""
    out: dict[int, float] = {}
    for pid, c in choices.items():
        for k, amount in enumerate(data.by_id[pid].schedule):
            out[c.start_year + k] = out.get(c.start_year + k, 0.0) + c.stake * amount
    return out


def committed_by_project(data: Pipeline, choices: dict[str, Choice]) -> dict[str, float]:
    return {p: c.stake * data.by_id[p].capex for p, c in choices.items()}


def score_values(data: Pipeline, choices: dict[str, Choice],
                 committed: dict[str, float] | None = None) -> dict[str, float]:
    """SPEC §2: V[n] = Σ score_n[p] × committed[p] (``committed``: committed_by_project's, if at hand)."""
    committed = committed_by_project(data, choices) if committed is None else committed
    return {n: sum(committed[p] * (data.by_id[p].score(n) or 0.0) for p in choices) for n in NATIONS}


def satisfactions(data: Pipeline, choices: dict[str, Choice], ideals: dict[str, float]) -> dict[str, float | None]:
    return _satisfied(score_values(data, choices), ideals)


def _satisfied(values: dict[str, float], ideals: dict[str, float]) -> dict[str, float | None]:
    """Each nation's score value as a share of its ideal (None without an ideal)."""
    return {n: (values[n] / ideals[n] if ideals.get(n) else None) for n in NATIONS}


def objective_value(data: Pipeline, sol: Outcome, kind: str | None = None,
                    ideals: dict[str, float] | None = None) -> float:
    """The objective of SPEC §2, recomputed from the solution's plain data."""
    kind = kind or data.fund.objective
    choices = sol.choices
    if kind == "maxmin_satisfaction":
        sat = [v for v in satisfactions(data, choices, ideals or {}).values() if v is not None]
        return min(sat + [1.0]) if sat else 1.0
    by_id = data.by_id

    def term(name: str) -> float:  # only the terms the objective weighs are summed
        if name == "npv":
            debt = sum(sol.debt.values())
            investor_cost = sum(i.required_return * sol.investors.get(i.investor, 0.0) for i in data.investors)
            return sum(npv_value(data, by_id[p], c) for p, c in choices.items()) \
                - data.fund.debt_cost * debt - investor_cost
        attr = {"strategic": "strategic_score", "jobs": "jobs"}[name]
        return sum(c.stake * (getattr(by_id[p], attr) or 0.0) for p, c in choices.items())

    if kind == "weighted":
        from .workbook.validate import parse_weights

        weights, _ = parse_weights(data.fund.objective_weights or "npv=1")
        return sum(w * term(k) for k, w in weights.items())
    return term(kind)


# --------------------------------------------------------------------------- tables
@dataclass
class Report:
    status: str
    objective: float | None
    gap: float | None
    bound: float | None
    selected: list[str]
    summary: list[tuple[str, Any]] = field(default_factory=list)
    portfolio: list[dict] = field(default_factory=list)
    alternatives: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    sectors: list[dict] = field(default_factory=list)
    nations: list[dict] = field(default_factory=list)
    capital: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    constraints: list[dict] = field(default_factory=list)
    run: list[tuple[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: figures still being computed (the estimated agreement figures, on another thread): a callable
    #: that waits for them and completes the report; None when it is complete. The writer calls it
    #: after the big sheets, so that the wait overlaps writing them.
    pending: Any = field(default=None, repr=False, compare=False)

    def complete(self) -> "Report":
        """Wait for any pending figures and fill them in (the report is then whole)."""
        if self.pending is not None:
            finish, self.pending = self.pending, None
            finish(self)
        return self


def constraint_rows(data: Pipeline, sol: Outcome, ideals: dict[str, float] | None = None, *,
                    committed: dict[str, float] | None = None, spend: dict[int, float] | None = None) -> list[dict]:
    """Every active rule with its limit, value, slack and whether it binds (``committed`` and
    ``spend``: committed_by_project's and spending's for the solution, if the caller has them)."""
    rows: list[dict] = []

    def add(rule: str, scope: str, sense: str, limit: float, value: float, unit: str = "") -> None:
        slack = (limit - value) if sense == "<=" else (value - limit) if sense == ">=" else -abs(value - limit)
        rows.append({"rule": rule, "scope": scope, "sense": sense, "limit": limit, "value": value,
                     "slack": slack, "binding": "yes" if abs(slack) <= TOL * max(1.0, abs(limit)) else "no",
                     "holds": "yes" if slack >= -TOL * max(1.0, abs(limit)) else "NO", "unit": unit})

    fund = data.fund
    unit = fund.currency_unit
    choices = sol.choices
    committed = committed_by_project(data, choices) if committed is None else committed
    total = sum(committed.values())
    debt = sum(sol.debt.values())
    investor_equity = sum(sol.investors.values())
    equity = fund.equity_capital + investor_equity
    add("Equity capital", "equity + debt" if (debt or data.investors) else "all projects", "<=", equity + debt,
        total, unit)
    spend = spending(data, choices) if spend is None else spend
    for b in data.budget:
        if b.capital_limit is not None:
            add("Yearly capital limit", str(b.year), "<=", b.capital_limit, spend.get(b.year, 0.0), unit)
    if fund.max_leverage > 0:
        eligible = sum(committed.get(p, 0.0) for p in data.leverage_projects())
        add("Leverage (debt / equity)", f"≤ {fund.max_leverage:g} × equity", "<=", fund.max_leverage * equity, debt,
            unit)
        add("Loan to value", f"≤ {fund.max_ltv:.0%} of leverage-eligible commitments", "<=", fund.max_ltv * eligible,
            debt, unit)
        for b in data.budget:
            if b.debt_limit is not None:
                add("Yearly debt limit", str(b.year), "<=", b.debt_limit, sol.debt.get(b.year, 0.0), unit)
        for y, d in sorted(sol.debt.items()):
            add("Debt drawn within the year's spending", str(y), "<=", spend.get(y, 0.0), d, unit)
    for i in data.investors:
        amount = sol.investors.get(i.investor, 0.0)
        if amount > TOL:
            if i.min_commitment:
                add("Investor minimum commitment", i.investor, ">=", i.min_commitment, amount, unit)
            if i.max_commitment is not None:
                add("Investor maximum commitment", i.investor, "<=", i.max_commitment, amount, unit)
            if i.max_avg_risk is not None:
                add("Investor risk appetite", f"{i.investor} (average risk ≤ {i.max_avg_risk:g})", "<=",
                    i.max_avg_risk * total, _risk_weighted(data, committed), "risk × " + unit)
    members_of: dict[str, list[str]] = {}  # sector -> its projects, in workbook order (one pass)
    if data.sectors:
        for p in data.projects:
            members_of.setdefault(p.sector, []).append(p.project_id)
    for s in data.sectors:
        members = members_of.get(s.sector, [])
        in_s = sum(committed.get(p, 0.0) for p in members)
        count = sum(1 for p in members if p in choices)
        # shares are of total commitments: limit = share × total, so an empty portfolio meets them
        if s.min_share:
            add("Sector minimum share", f"{s.sector} (≥ {s.min_share:.1%} of commitments)", ">=",
                s.min_share * total, in_s, unit)
        if s.max_share is not None and s.max_share < 1:
            add("Sector maximum share", f"{s.sector} (≤ {s.max_share:.1%} of commitments)", "<=",
                s.max_share * total, in_s, unit)
        if s.min_projects:
            add("Sector minimum projects", s.sector, ">=", s.min_projects, count, "projects")
        if s.max_projects is not None and s.max_projects < len(members):
            add("Sector maximum projects", s.sector, "<=", s.max_projects, count, "projects")
    if fund.max_avg_risk is not None:
        add("Average risk", f"≤ {fund.max_avg_risk:g} (commitment-weighted)", "<=", fund.max_avg_risk * total,
            _risk_weighted(data, committed), "risk × " + unit)
    if fund.max_project_share is not None and fund.max_project_share < 1:
        for p, v in committed.items():
            add("Project share", f"{p} (≤ {fund.max_project_share:.1%} of commitments)", "<=",
                fund.max_project_share * total, v, unit)
    spec = data.speculative_projects()
    if fund.max_speculative_share is not None and fund.max_speculative_share < 1 and spec:
        add("Speculative share", f"≤ {fund.max_speculative_share:.1%} of commitments", "<=",
            fund.max_speculative_share * total, sum(committed.get(p, 0.0) for p in spec), unit)
    jp = sum(v * (data.by_id[p].jp_content or 0.0) for p, v in committed.items())
    if fund.jp_content_min:
        add("Japanese content minimum", f"≥ {fund.jp_content_min:.1%} (commitment-weighted)", ">=",
            fund.jp_content_min * total, jp, unit)
    if fund.jp_content_max is not None and fund.jp_content_max < 1:
        add("Japanese content maximum", f"≤ {fund.jp_content_max:.1%} (commitment-weighted)", "<=",
            fund.jp_content_max * total, jp, unit)
    if fund.min_nation_satisfaction and ideals:
        values = score_values(data, choices, committed)
        for n in NATIONS:
            add("Nation satisfaction", f"{NATION_NAMES[n]} (≥ {fund.min_nation_satisfaction:.0%} of its ideal "
                f"{ideals.get(n, 0.0):,.6g})", ">=", fund.min_nation_satisfaction * ideals.get(n, 0.0), values[n],
                "score × " + unit)
    for r in data.rules:
        n = sum(1 for p in r.projects if p in choices)
        first = 1 if r.projects[0] in choices else 0
        if r.rule == "requires":
            for q in r.projects[1:]:
                add("Rule: requires", f"{r.projects[0]} requires {q}", "<=", 1 if q in choices else 0, first,
                    "projects")
        elif r.rule == "together":
            for q in r.projects[1:]:
                add("Rule: together", f"{r.projects[0]} with {q}", "=", first, 1 if q in choices else 0,
                    "projects")
        elif r.rule == "excludes":
            add("Rule: excludes", ", ".join(r.projects), "<=", 1, n, "projects")
        elif r.rule == "at_most":
            add("Rule: at most", ", ".join(r.projects), "<=", r.k, n, "projects")
        elif r.rule == "at_least":
            add("Rule: at least", ", ".join(r.projects), ">=", r.k, n, "projects")
    for p in data.projects:
        if p.decision == "must fund":
            add("Decision: must fund", p.project_id, ">=", 1, 1 if p.project_id in choices else 0, "projects")
        elif p.decision == "exclude":
            add("Decision: exclude", p.project_id, "<=", 0, 1 if p.project_id in choices else 0, "projects")
        if not data.approved(p):
            add(f"Approval ({fund.approval_rule})", p.project_id, "<=", 0, 1 if p.project_id in choices else 0,
                "projects")
        if data.screened_by_esg(p):
            add("ESG screen", p.project_id, "<=", 0, 1 if p.project_id in choices else 0, "projects")
    return rows


def _risk_weighted(data: Pipeline, committed: dict[str, float]) -> float:
    return sum(v * (data.by_id[p].risk or 0.0) for p, v in committed.items())


def rejection_reason(data: Pipeline, p: Project, sol: Outcome, binding: set[str] | None = None,
                     funded_by_sector: dict[str, int] | None = None) -> str:
    """The rule that keeps p out, in words; 'crowded out' when only better projects do.

    ``binding`` names the portfolio-wide limits that bind (Constraints sheet rule names), so a
    project of a capped sector or above a risk cap is told why, not just "crowded out".
    """
    fund = data.fund
    choices = sol.choices
    binding = binding or set()
    if funded_by_sector is None:
        funded_by_sector = Counter(data.by_id[q].sector for q in choices)
    if p.decision == "exclude":
        return "excluded by decision" + (f": {p.decision_reason}" if p.decision_reason else "")
    if not data.approved(p):
        missing = [NATION_NAMES[n] for n in data.approval_columns if p.approval(n) != "yes"]
        states = {NATION_NAMES[n]: p.approval(n) for n in data.approval_columns}
        if fund.approval_rule == "either":
            return "not approved by either government"
        return "not approved by " + " or ".join(f"{n} ({states[n]})" for n in missing)
    if data.screened_by_esg(p):
        return f"ESG screen: score {p.esg_score:g} is below {fund.min_esg_score:g}"
    for r in data.rules:
        if p.project_id not in r.projects:
            continue
        others = [q for q in r.projects if q != p.project_id]
        if r.rule == "requires" and r.projects[0] == p.project_id:
            missing = [q for q in others if q not in choices]
            if missing:
                return f"requires {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not funded"
        if r.rule == "excludes":
            taken = [q for q in others if q in choices]
            if taken:
                return f"excluded by {taken[0]} (Rules row {r.row})"
        if r.rule == "at_most":
            taken = [q for q in others if q in choices]
            if len(taken) >= (r.k or 0):
                return f"at most {r.k} of {', '.join(r.projects)} may be funded ({', '.join(taken) or 'none'} taken)"
        if r.rule == "together":
            blocked = [q for q in others if q not in choices and
                       (data.by_id[q].decision == "exclude" or not data.approved(data.by_id[q])
                        or data.screened_by_esg(data.by_id[q]))]
            if blocked:
                return f"must be funded together with {', '.join(blocked)}, which cannot be funded"
            return f"funded only together with {', '.join(others)}; the group is crowded out"
    s = data.sector_limit(p.sector)
    if s is not None and s.max_projects is not None:
        if funded_by_sector[p.sector] >= s.max_projects:
            return f"sector cap on {p.sector}: at most {s.max_projects} projects"
    if s is not None and f"Sector maximum share:{p.sector}" in binding:
        return f"sector cap on {p.sector}: at most {s.max_share:.0%} of commitments"
    if s is not None and s.speculative and "Speculative share" in binding:
        return f"speculative share cap ({fund.max_speculative_share:.0%}) is reached"
    if fund.max_avg_risk is not None and (p.risk or 0) > fund.max_avg_risk and "Average risk" in binding:
        return f"average risk cap {fund.max_avg_risk:g}: its risk {p.risk:g} would raise the average"
    if fund.jp_content_min and (p.jp_content or 0) < fund.jp_content_min and "Japanese content minimum" in binding:
        return f"Japanese content floor {fund.jp_content_min:.0%}: its content {(p.jp_content or 0):.0%} is below"
    if (fund.jp_content_max is not None and (p.jp_content or 0) > fund.jp_content_max
            and "Japanese content maximum" in binding):
        return f"Japanese content cap {fund.jp_content_max:.0%}: its content {(p.jp_content or 0):.0%} is above"
    if fund.min_nation_satisfaction:
        for n in NATIONS:
            if f"Nation satisfaction:{n}" in binding and (p.score(n) or 0) < (p.score("JP" if n == "US" else "US") or 0):
                return (f"{NATION_NAMES[n]}'s satisfaction would fall below {fund.min_nation_satisfaction:.0%} "
                        f"(it rates this project {p.score(n) or 0:g})")
    return "crowded out"


def _figure(fig) -> float | None:
    return None if fig is None else fig.value


def _basis(fig, p: Project, entering: bool = False, data: Pipeline | None = None) -> str | None:
    if fig is None:
        return None
    if fig.value is None:
        if entering:
            from .analysis.explain import npv_weight

            if npv_weight(data) is None:
                return f"not computed: the objective ({data.fund.objective}) does not count NPV"
            return "cannot enter: no portfolio with it satisfies every rule"
        return "locked: must fund" if p.decision == "must fund" else "cannot leave: every rule needs it"
    return "exact" if fig.exact else "estimated"


def _reason(data: Pipeline, p: Project, sol: Outcome, binding: set[str], blockers: list[str] | None,
            funded_by_sector: dict[str, int]) -> str:
    if blockers:  # no feasible portfolio holds it: name the rules that would have to give way
        return "no portfolio with it meets every rule; least change: loosen " + "; ".join(blockers)
    return rejection_reason(data, p, sol, binding, funded_by_sector)


def _binding_keys(rows: list[dict], data: Pipeline) -> set[str]:
    keys = set()
    for r in rows:
        if r["binding"] != "yes":
            continue
        keys.add(r["rule"])
        if r["rule"] == "Sector maximum share":
            keys.add("Sector maximum share:" + r["scope"].split(" (")[0])
        if r["rule"] == "Nation satisfaction":
            keys.add("Nation satisfaction:" + ("US" if r["scope"].startswith("the US") else "JP"))
    return keys


def nation_rows(data: Pipeline, outcome: Outcome, committed: dict[str, float], ideals: dict[str, float],
                estimated: bool = False) -> list[dict]:
    """The Nations sheet: each nation's score value against its ideal, approvals and equity."""
    fund = data.fund
    choices = outcome.choices
    total = sum(committed.values())
    values = score_values(data, choices, committed)
    sats = _satisfied(values, ideals)
    jp_weighted = sum(committed[p] * (data.by_id[p].jp_content or 0.0) for p in choices)
    nation_of = {i.investor: i.nation for i in data.investors}
    rows = []
    for n in NATIONS:
        gov_share = fund.us_equity_share if n == "US" else 1 - fund.us_equity_share
        own_investors = sum(v for i, v in outcome.investors.items() if nation_of.get(i) == n)
        rows.append({
            "nation": n, "score_value": values[n], "ideal_score_value": ideals.get(n), "satisfaction": sats[n],
            "ideal_basis": None if ideals.get(n) is None else (
                "estimated: LP relaxation bound, satisfaction at least as shown" if estimated else "exact"),
            "min_satisfaction": fund.min_nation_satisfaction,
            "approved_projects": sum(1 for p in data.projects if p.approval(n) == "yes"),
            "funded_projects_approved": sum(1 for p in choices if data.by_id[p].approval(n) == "yes"),
            "equity_share": gov_share, "government_equity": fund.equity_capital * gov_share,
            "investor_equity": own_investors, "equity": fund.equity_capital * gov_share + own_investors,
            "jp_content": (jp_weighted / total) if total > TOL else None,
        })
    return rows


def complete_agreement(rep: "Report", data: Pipeline, outcome: Outcome, ideals: dict[str, float],
                       price_of_agreement: float | None, estimated: bool) -> None:
    """Put the nations' ideals and the price of agreement, found after the report was built, into
    its Nations rows and Summary items."""
    committed = committed_by_project(data, outcome.choices)
    rep.nations = nation_rows(data, outcome, committed, ideals, estimated)
    sats = {r["nation"]: r["satisfaction"] for r in rep.nations}
    items = {"US satisfaction": sats["US"], "Japan satisfaction": sats["JP"], "price of agreement": price_of_agreement}
    rep.summary = [(k, items.get(k, v)) for k, v in rep.summary]


def build_report(data: Pipeline, outcome: Outcome, *, ideals: dict[str, float] | None = None,
                 price_of_agreement: float | None = None, alternatives: list[Outcome] | None = None,
                 removal: dict | None = None, entry: dict | None = None, blockers: dict | None = None,
                 timings: dict[str, float] | None = None, solver_version: str = "",
                 options: dict | None = None, agreement_estimated: bool = False) -> Report:
    """The run's result tables. ``agreement_estimated``: the ideals and the price of agreement are
    LP-relaxation bounds (explain_limit 0): satisfactions are then at least, and the price of
    agreement at most, the figures shown."""
    fund = data.fund
    ideals = ideals or {}
    choices: dict[str, Choice] = outcome.choices
    objective = objective_value(data, outcome, ideals=ideals) if outcome.solved else None
    committed = committed_by_project(data, choices)
    by_id = data.by_id
    npv_of = {pid: npv_value(data, by_id[pid], c) for pid, c in choices.items()}
    total = sum(committed.values())
    debt = sum(outcome.debt.values())
    investor_equity = sum(outcome.investors.values())
    equity = fund.equity_capital + investor_equity
    rep = Report(outcome.status, objective, outcome.gap, outcome.bound, list(choices))

    # Portfolio: rank 1 = largest removal cost (must-fund projects, which cannot be removed, first)
    removal = removal or {}
    entry = entry or {}
    rows = []
    for pid, c in choices.items():
        p = data.by_id[pid]
        rows.append({"project_id": pid, "name": p.name, "sector": p.sector, "stake": c.stake,
                     "start_year": c.start_year, "committed": committed[pid],
                     "npv": npv_of[pid], "npv_full": p.npv,
                     "removal_cost": _figure(removal.get(pid)), "removal_cost_basis": _basis(removal.get(pid), p),
                     "risk": p.risk, "esg_score": p.esg_score,
                     "us_approval": p.us_approval if "US" in data.approval_columns else None,
                     "jp_approval": p.jp_approval if "JP" in data.approval_columns else None,
                     "decision": p.decision,
                     "decision_reason": p.decision_reason, "decision_as_written": p.decision})
    rows.sort(key=lambda r: (r["decision"] != "must fund",
                             -(r["removal_cost"] if r["removal_cost"] is not None else float("inf")),
                             -r["npv"], r["project_id"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    rep.portfolio = [{"rank": r.pop("rank"), **r} for r in rows]

    rep.alternatives = []
    if outcome.solved:
        for k, alt in enumerate([outcome] + list(alternatives or []), 1):
            value = objective_value(data, alt, ideals=ideals)
            rep.alternatives.append({
                "portfolio": k, "objective": value, "gap": objective - value,
                "added": ", ".join(p for p in alt.choices if p not in choices),
                "removed": ", ".join(p for p in choices if p not in alt.choices),
                "projects": len(alt.choices),
                "committed": sum(committed_by_project(data, alt.choices).values()),
                "selected": ", ".join(alt.choices)})

    spend = spending(data, choices)
    rep.constraints = constraint_rows(data, outcome, ideals, committed=committed, spend=spend)
    binding = _binding_keys(rep.constraints, data)
    funded_of: dict[str, list[str]] = {}  # sector -> its funded projects, in portfolio order
    for pid in choices:
        funded_of.setdefault(by_id[pid].sector, []).append(pid)
    funded_by_sector = Counter({name: len(q) for name, q in funded_of.items()})
    rep.rejected = []
    for p in data.projects:
        if p.project_id in choices:
            continue
        rep.rejected.append({"project_id": p.project_id, "name": p.name, "sector": p.sector,
                             "capex": p.capex, "npv": p.npv, "reason": _reason(data, p, outcome, binding, (blockers or {}).get(p.project_id),
                                               funded_by_sector),
                             "break_even_npv": _figure(entry.get(p.project_id)),
                             "break_even_basis": _basis(entry.get(p.project_id), p, entering=True, data=data),
                             "decision": p.decision,
                             "decision_as_written": p.decision})

    sector_names = list(dict.fromkeys([s.sector for s in data.sectors] + [p.sector for p in data.projects]))
    candidates = Counter(p.sector for p in data.projects)
    for name in sector_names:
        lim = data.sector_limit(name)
        funded = funded_of.get(name, [])
        value = sum(committed[q] for q in funded)
        rep.sectors.append({
            "sector": name, "committed": value, "share": value / total if total > TOL else 0.0,
            "projects_funded": len(funded),
            "candidates": candidates[name], "npv": sum(npv_of[q] for q in funded),
            "min_share": lim.min_share if lim else None, "max_share": lim.max_share if lim else None,
            "min_projects": lim.min_projects if lim else None, "max_projects": lim.max_projects if lim else None,
        })

    rep.nations = nation_rows(data, outcome, committed, ideals, agreement_estimated)
    sats = {r["nation"]: r["satisfaction"] for r in rep.nations}
    # who puts in what: the two governments' equity, each investor, the fund's debt
    rep.sources = [{"source": f"{NATION_NAMES[n].replace('the US', 'US')} government equity", "kind": "equity",
                    "type": "government",
                    "nation": n, "amount": fund.equity_capital * share, "cost_rate": 0.0, "cost": 0.0,
                    "max_amount": None}
                   for n, share in (("US", fund.us_equity_share), ("JP", 1 - fund.us_equity_share))]
    for i in data.investors:
        amount = outcome.investors.get(i.investor, 0.0)
        rep.sources.append({"source": i.investor, "kind": "investor", "type": i.type, "nation": i.nation, "amount": amount,
                            "cost_rate": i.required_return, "cost": i.required_return * amount,
                            "max_amount": i.max_commitment})
    if fund.max_leverage > 0:
        rep.sources.append({"source": "fund debt", "kind": "debt", "type": "debt", "nation": None, "amount": debt,
                            "cost_rate": fund.debt_cost, "cost": fund.debt_cost * debt,
                            "max_amount": fund.max_leverage * equity})

    budget = {b.year: b for b in data.budget}
    years = sorted(set(fund.years) | set(spend) | set(budget) | set(outcome.debt))
    cumulative = 0.0
    for y in years:
        s = spend.get(y, 0.0)
        d = outcome.debt.get(y, 0.0)
        cumulative += s
        lim = budget[y].capital_limit if y in budget else None
        rep.capital.append({"year": y, "spending": s, "equity_drawn": s - d, "debt_drawn": d,
                            "capital_limit": lim, "budget_use": (s / lim) if lim else None,
                            "debt_limit": budget[y].debt_limit if y in budget else None,
                            "cumulative_spending": cumulative})

    eligible = sum(committed.get(p, 0.0) for p in data.leverage_projects())
    risks_known = all(data.by_id[p].risk is not None for p in choices)
    avg_risk = _risk_weighted(data, committed) / total if total > TOL and risks_known else None
    rep.summary = [
        ("status", outcome.status),
        ("objective", fund.objective),
        ("objective value", objective),
        ("mip gap", outcome.gap),
        ("best bound", outcome.bound),
        ("projects funded", len(choices)),
        ("commitments", total),
        ("government equity", fund.equity_capital),
        ("investor equity", investor_equity),
        ("equity", equity),
        ("equity unused", equity + debt - total),
        ("debt", debt),
        ("leverage (debt / equity)", debt / equity if equity > TOL else None),
        ("loan to value (debt / leverage-eligible commitments)", debt / eligible if eligible > TOL else None),
        ("debt cost", fund.debt_cost * debt),
        ("investor returns", sum(r["cost"] for r in rep.sources if r["kind"] == "investor")),
        ("NPV of portfolio", sum(npv_of.values())),
        ("average risk", avg_risk),
        ("Japanese content", rep.nations[0]["jp_content"]),
        ("US satisfaction", sats["US"]),
        ("Japan satisfaction", sats["JP"]),
        ("price of agreement", price_of_agreement),
        *([("agreement figures", "estimated from LP relaxations (explain_limit 0): each satisfaction is at "
            "least, and the price of agreement at most, the figure shown")] if agreement_estimated else []),
        ("currency unit", fund.currency_unit),
        ("run time (s)", sum((timings or {}).values())),
    ]
    from . import __version__

    rep.run = [("fundopt version", __version__), ("solver", "HiGHS"), ("solver version", solver_version),
               ("input file", data.source.name if data.source else ""),
               ("input SHA-256", data.source.sha256 if data.source else "")]
    for k, v in (options or {}).items():
        rep.run.append((f"option: {k}", v))
    for k, v in (timings or {}).items():
        rep.run.append((f"time: {k} (s)", round(v, 4)))
    return rep
