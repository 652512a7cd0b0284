"""An exhaustive reference for the fund's families, independent of ``models/`` and ``optimizer``.

``reference_fund(projects, fund=..., sectors=..., budget=..., rules=..., schedule=...,
investors=...)`` takes the very arguments :func:`helpers.make_workbook` takes (the raw rows an
analyst types) and applies SPEC §1–§2 with its own arithmetic. It imports nothing from
``models/`` or ``optimizer``; HiGHS is used only through highspy's raw LP API.

Discrete choices are enumerated exhaustively: every project is out or starts in one year of
its window (``earliest_start`` … ``latest_start``; ``planning_start`` when it has none), and
every investor is in or out. Combinations that break an integer-only rule (locks, approvals,
the ESG screen, Rules, sector counts) are pruned before anything else. For each remaining
combination the continuous part is exact:

- when every selected project has a fixed stake (``min_stake = max_stake``; ``max_stake``
  alone means all or nothing at that share), the stake-only rules are checked directly, and
  when the fund's own equity pays for the portfolio its value is final (debt and investors only
  ever cost);
- otherwise (a varying stake, or equity short) an LP is solved with highspy for every
  investor subset: stakes in [min_stake, max_stake], each investor in the subset commits in
  [min_commitment, max_commitment] and its ``max_avg_risk`` holds, debt per year ≥ 0.

Combinations are taken best bound first (bound = the stakes' best NPV, financing costs ≥ 0)
and the search stops when no bound can beat the best value found, so the result is exact.

Rules (SPEC §2), in the reference's own words:

- stake[p] ∈ [min_stake, max_stake] when funded; committed[p] = stake × capex; capex is the
  ``CapexSchedule`` row sum when there is one, else ``capex``; spending of a project starting in
  t is its row (or capex / duration for duration years) placed from t on, times its stake;
- NPV of a project started in t = stake × npv / (1 + discount_rate)^(t − first year of window);
- equity = equity_capital + Σ investor commitments; Σ committed ≤ equity + debt;
  debt ≤ max_leverage × equity; debt ≤ max_ltv × Σ committed of projects that are
  leverage_eligible in a sector whose leverage_allowed is not "no"; debt drawn in year y ≤ that
  year's spending and ≤ the year's ``debt_limit``; no debt when max_leverage is 0;
- Budget: spending in year y ≤ ``capital_limit``;
- Sectors: shares of total commitments within min_share … max_share, funded count within
  min_projects … max_projects; ``speculative`` sectors together ≤ ``max_speculative_share``;
- commitment-weighted average risk ≤ ``max_avg_risk`` (and ≤ each investor's while it is in);
  each project ≤ ``max_project_share`` of commitments; commitment-weighted jp_content (blank =
  0) within ``jp_content_min`` … ``jp_content_max``;
- locks, approvals (only "yes" approves; an absent column is not checked; both / either /
  none), ESG screen, Rules (requires / excludes / at_most / at_least / together);
- V[n] = Σ score_n × committed (blank score = 0); the ideal V*[n] is the same search with V[n]
  as objective and the satisfaction rule off; with ``min_nation_satisfaction`` θ each nation
  needs V[n] ≥ θ × V*[n];
- objective: Σ NPV after delay − debt_cost × debt − Σ required_return × commitment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Sequence

import highspy
import numpy as np

EPS = 1e-7  # feasibility tolerance, matched to HiGHS's primal feasibility tolerance
INF = highspy.kHighsInf
PLANNING_START = 2027  # make_workbook's default
NATIONS = ("US", "JP")


# --------------------------------------------------------------------------- reading raw rows
def _word(v: Any) -> str:
    return "" if v is None else str(v).strip().lower()


def _given(v: Any) -> bool:
    return v is not None and not (isinstance(v, str) and not v.strip())


def _num(v: Any, default: float | None = None) -> float | None:
    return float(v) if _given(v) else default


def _ids(text: Any) -> list[str]:
    return [s.strip() for s in str(text).replace(";", ",").split(",") if s.strip()]


@dataclass
class _Project:
    pid: str
    sector: str
    capex: float
    npv: float
    row: tuple[float, ...]  # spending per project year when fully funded
    years: tuple[int, ...]  # start window
    min_stake: float
    max_stake: float
    risk: float
    jp: float
    score: dict
    lev: bool  # may back debt (eligible and its sector allows leverage)
    spec: bool  # in a speculative sector
    out: bool  # excluded, unapproved or screened
    must: bool

    @property
    def varies(self) -> bool:
        return self.min_stake < self.max_stake


@dataclass
class _Investor:
    name: str
    lo: float
    hi: float
    rate: float
    risk_cap: float | None


@dataclass
class Instance:
    """The raw rows turned into plain numbers (the reference's own reading)."""

    projects: list[_Project]
    investors: list[_Investor]
    equity: float
    discount: float
    leverage: float
    ltv: float
    debt_cost: float
    capital_limit: dict
    debt_limit: dict
    sectors: list[dict]
    rules: list[tuple[str, list[int], int | None]]
    max_avg_risk: float | None
    max_project_share: float | None
    max_spec_share: float | None
    jp_min: float | None
    jp_max: float | None
    theta: float | None
    #: rules switched off, for measuring which rules bind (only "debt_use" so far; the others are
    #: switched off by clearing their data)
    off: frozenset = frozenset()


def read_instance(projects: Sequence[dict], *, fund: dict | None = None, sectors: Sequence[dict] | None = None,
                  budget: Sequence[dict] | None = None, rules: Sequence[dict] | None = None,
                  schedule: dict[str, Sequence[float]] | None = None, investors: Sequence[dict] | None = None,
                  **_ignored) -> Instance:
    fund = {"planning_start": PLANNING_START, **(fund or {})}
    schedule = schedule or {}
    start0 = int(fund["planning_start"])
    approval_rule = _word(fund.get("approval_rule")) or "both"
    min_esg = _num(fund.get("min_esg_score"))
    columns = [c for c in ("us_approval", "jp_approval") if any(c in p for p in projects)]
    srows = {str(s["sector"]): s for s in sectors or ()}

    out: list[_Project] = []
    for p in projects:
        pid = str(p["project_id"])
        if pid in schedule:
            row = tuple(float(a or 0.0) for a in schedule[pid])
        else:
            duration = int(p["duration"]) if _given(p.get("duration")) else 1
            row = tuple([float(p["capex"]) / duration] * duration)
        first = int(p["earliest_start"]) if _given(p.get("earliest_start")) else start0
        last = int(p["latest_start"]) if _given(p.get("latest_start")) else first
        hi = _num(p.get("max_stake"), 1.0)
        lo = _num(p.get("min_stake"), hi if _given(p.get("max_stake")) else 1.0)
        decision = _word(p.get("decision"))
        blocked = decision == "exclude"
        if columns and approval_rule != "none":
            yes = [_word(p.get(c)) == "yes" for c in columns]
            blocked |= not (all(yes) if approval_rule == "both" else any(yes))
        esg = _num(p.get("esg_score"))
        if min_esg is not None and esg is not None and esg < min_esg:
            blocked = True
        srow = srows.get(str(p["sector"]), {})
        out.append(_Project(
            pid=pid, sector=str(p["sector"]), capex=sum(row), npv=float(p["npv"]), row=row,
            years=tuple(range(first, last + 1)), min_stake=lo, max_stake=hi,
            risk=_num(p.get("risk"), 0.0), jp=_num(p.get("jp_content"), 0.0),
            score={"US": _num(p.get("us_score"), 0.0), "JP": _num(p.get("jp_score"), 0.0)},
            lev=_word(p.get("leverage_eligible")) == "yes" and _word(srow.get("leverage_allowed")) != "no",
            spec=_word(srow.get("speculative")) == "yes", out=blocked, must=decision == "must fund"))

    index = {p.pid: j for j, p in enumerate(out)}
    invs = [_Investor(str(i["investor"]), _num(i.get("min_commitment"), 0.0), _num(i.get("max_commitment"), INF),
                      _num(i.get("required_return"), 0.0), _num(i.get("max_avg_risk")))
            for i in investors or ()]
    caps, debts = {}, {}
    for b in budget or ():
        if _given(b.get("capital_limit")):
            caps[int(b["year"])] = float(b["capital_limit"])
        if _given(b.get("debt_limit")):
            debts[int(b["year"])] = float(b["debt_limit"])
    theta = _num(fund.get("min_nation_satisfaction"))
    return Instance(
        projects=out, investors=invs, equity=_num(fund.get("equity_capital"), 300.0),
        discount=_num(fund.get("discount_rate"), 0.06), leverage=_num(fund.get("max_leverage"), 0.0),
        ltv=_num(fund.get("max_ltv"), 0.6), debt_cost=_num(fund.get("debt_cost"), 0.05),
        capital_limit=caps, debt_limit=debts,
        sectors=[{"sector": str(s["sector"]), "min_share": _num(s.get("min_share")),
                  "max_share": _num(s.get("max_share")),
                  "min_projects": None if not _given(s.get("min_projects")) else int(s["min_projects"]),
                  "max_projects": None if not _given(s.get("max_projects")) else int(s["max_projects"])}
                 for s in sectors or ()],
        rules=[(_word(r["rule"]), [index[q] for q in _ids(r["projects"])],
                int(r["k"]) if _given(r.get("k")) else None) for r in rules or ()],
        max_avg_risk=_num(fund.get("max_avg_risk")), max_project_share=_num(fund.get("max_project_share")),
        max_spec_share=_num(fund.get("max_speculative_share")), jp_min=_num(fund.get("jp_content_min")),
        jp_max=_num(fund.get("jp_content_max")), theta=theta if theta else None)


# --------------------------------------------------------------------------- the result
@dataclass
class Choice:
    stake: float
    start_year: int


@dataclass
class FundReference:
    objective: float
    #: one optimal portfolio: project id -> Choice
    choices: dict
    debt: float
    commitments: dict  # investor -> amount
    #: each nation's ideal V*[n] (only when min_nation_satisfaction is on)
    ideals: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    @property
    def selected(self) -> frozenset:
        return frozenset(self.choices)


def reference_fund(projects: Sequence[dict], **workbook) -> FundReference | None:
    """The best portfolio by exhaustive search, or None when none satisfies every rule."""
    return solve_instance(read_instance(projects, **workbook))


def solve_instance(inst: Instance) -> FundReference | None:
    search = _Search(inst)
    ideals: dict = {}
    if inst.theta is not None:
        for n in NATIONS:
            best = search.run(objective=n)
            if best is None:
                return None
            ideals[n] = max(0.0, best[0])
    best = search.run(objective="npv", ideals=ideals)
    if best is None:
        return None
    value, choices, debt, commits = best
    return FundReference(value, choices, debt, commits, ideals, dict(search.stats))


def ideal_values(projects: Sequence[dict], **workbook) -> dict | None:
    """Each nation's V*[n] (satisfaction rule off), or None when no portfolio obeys the rules."""
    inst = read_instance(projects, **workbook)
    search = _Search(inst)
    out = {}
    for n in NATIONS:
        best = search.run(objective=n)
        if best is None:
            return None
        out[n] = max(0.0, best[0])
    return out


# --------------------------------------------------------------------------- the search
class _Search:
    def __init__(self, inst: Instance):
        self.inst = inst
        self.stats = {"combinations": 0, "screened": 0, "direct": 0, "lps": 0}
        self._highs = None
        ps = inst.projects
        n = len(ps)
        # options per project: 0 = out, k ≥ 1 = starts in years[k - 1]
        options = []
        for p in ps:
            if p.out:
                options.append([0] if not p.must else [])
            else:
                options.append(list(range(1, len(p.years) + 1)) if p.must else list(range(len(p.years) + 1)))
        if any(not o for o in options):
            self.combos = np.zeros((0, n), dtype=int)
        else:
            self.combos = np.array(list(itertools.product(*options)), dtype=int).reshape(-1, n)
        self.stats["combinations"] = len(self.combos)
        sel = self.combos > 0
        ok = np.ones(len(self.combos), dtype=bool)
        for kind, members, k in inst.rules:
            inside = sel[:, members]
            count = inside.sum(axis=1)
            if kind == "requires":
                ok &= ~inside[:, 0] | (count == len(members))
            elif kind == "excludes":
                ok &= count <= 1
            elif kind == "at_most":
                ok &= count <= k
            elif kind == "at_least":
                ok &= count >= k
            elif kind == "together":
                ok &= (count == 0) | (count == len(members))
            else:
                raise ValueError(f"unknown rule {kind}")
        for s in inst.sectors:
            member = np.array([p.sector == s["sector"] for p in ps], dtype=bool)
            count = (sel & member).sum(axis=1)
            if s["min_projects"] is not None:
                ok &= count >= s["min_projects"]
            if s["max_projects"] is not None:
                ok &= count <= s["max_projects"]
        self.combos, self.sel = self.combos[ok], sel[ok]
        self.stats["screened"] = len(self.combos)

        # calendar years touched, and per (project, option) spending per unit stake
        years = set(inst.capital_limit) | set(inst.debt_limit)
        for p in ps:
            for t in p.years:
                years.update(t + k for k in range(len(p.row)))
        self.years = sorted(years)
        ypos = {y: i for i, y in enumerate(self.years)}
        self.spend_unit = []  # [p] -> array (options, years)
        for p in ps:
            a = np.zeros((len(p.years) + 1, len(self.years)))
            for o, t in enumerate(p.years, 1):
                for k, amount in enumerate(p.row):
                    a[o, ypos[t + k]] += amount
            self.spend_unit.append(a)
        self.delay = [np.array([0.0] + [(1.0 + inst.discount) ** -(t - p.years[0]) for t in p.years]) for p in ps]

    # ----------------------------------------------------------------------- helpers
    def _objective_unit(self, objective: str) -> np.ndarray:
        """(combos, projects): objective per unit stake of each selected project's option."""
        ps = self.inst.projects
        cols = []
        for j, p in enumerate(ps):
            o = self.combos[:, j]
            if objective == "npv":
                cols.append(p.npv * self.delay[j][o])
            else:
                cols.append(np.where(o > 0, p.score[objective] * p.capex, 0.0))
        return np.stack(cols, axis=1) if cols else np.zeros((len(self.combos), 0))

    def _stake_rows(self, ideals: dict) -> list[tuple[np.ndarray, float, float, str]]:
        """Stake-only rules as (coefficient per unit committed of each project, lo, hi, scale kind):
        lo ≤ Σ_p coef[p] × committed[p] ≤ hi (capital and budget rules come separately)."""
        inst = self.inst
        ps = inst.projects
        n = len(ps)
        rows = []
        ones = np.ones(n)
        for s in inst.sectors:
            member = np.array([1.0 if p.sector == s["sector"] else 0.0 for p in ps])
            if s["min_share"] is not None:
                rows.append((member - s["min_share"] * ones, 0.0, INF, "total"))
            if s["max_share"] is not None:
                rows.append((member - s["max_share"] * ones, -INF, 0.0, "total"))
        risk = np.array([p.risk for p in ps])
        if inst.max_avg_risk is not None:
            rows.append((risk - inst.max_avg_risk, -INF, 0.0, "total"))
        if inst.max_project_share is not None:
            for j in range(n):
                e = np.zeros(n)
                e[j] = 1.0
                rows.append((e - inst.max_project_share * ones, -INF, 0.0, "total"))
        if inst.max_spec_share is not None:
            spec = np.array([1.0 if p.spec else 0.0 for p in ps])
            rows.append((spec - inst.max_spec_share * ones, -INF, 0.0, "total"))
        jp = np.array([p.jp for p in ps])
        if inst.jp_min is not None:
            rows.append((jp - inst.jp_min, 0.0, INF, "total"))
        if inst.jp_max is not None:
            rows.append((jp - inst.jp_max, -INF, 0.0, "total"))
        for n_ in ideals:
            if inst.theta is not None:
                score = np.array([p.score[n_] for p in ps])
                rows.append((score, inst.theta * ideals[n_], INF, "ideal"))
        return rows

    # ----------------------------------------------------------------------- main loop
    def run(self, objective: str = "npv", ideals: dict | None = None):
        """Best (value, choices, debt, commitments) with ``objective`` 'npv' or a nation (its
        V[n], no financing costs); None when nothing is feasible."""
        inst = self.inst
        ideals = ideals or {}
        ps = inst.projects
        K, n = self.combos.shape
        if K == 0:
            return None
        sel = self.sel
        varies = np.array([p.varies for p in ps], dtype=bool)
        capex = np.array([p.capex for p in ps])
        lo_stake = np.array([p.min_stake for p in ps])
        hi_stake = np.array([p.max_stake for p in ps])
        unit = self._objective_unit(objective)  # per unit stake
        upper = np.where(sel, np.maximum(unit * lo_stake, unit * hi_stake), 0.0).sum(axis=1)
        has_varying = (sel & varies).any(axis=1)

        # combinations whose stakes are all fixed: every stake-only rule checked directly
        stake = np.where(sel, hi_stake, 0.0)
        committed = stake * capex
        total = committed.sum(axis=1)
        spend = np.zeros((K, len(self.years)))
        for j in range(n):
            spend += self.spend_unit[j][self.combos[:, j]] * hi_stake[j]
        fine = np.ones(K, dtype=bool)
        for y, cap in inst.capital_limit.items():
            fine &= spend[:, self.years.index(y)] <= cap + EPS * max(1.0, abs(cap))
        rows = self._stake_rows(ideals)
        for coef, lo, hi, kind in rows:
            value = committed @ coef
            scale = np.maximum(1.0, total) if kind == "total" else max(1.0, abs(lo))
            if lo > -INF:
                fine &= value >= lo - EPS * scale
            if hi < INF:
                fine &= value <= hi + EPS * scale
        candidates = has_varying | fine  # fixed combinations breaking a stake-only rule are out
        own = total <= inst.equity + EPS * max(1.0, inst.equity)
        direct = ~has_varying & fine & own  # final: equity alone pays, financing only costs
        self.stats["direct"] += int(direct.sum())

        best = None
        if direct.any():
            values = np.where(direct, upper, -np.inf)
            i = int(np.argmax(values))
            best = (float(values[i]), self._choices(i, stake[i]), 0.0, {})
        # the rest, best bound first, each with an exact LP per investor subset
        todo = np.flatnonzero(candidates & ~direct)
        todo = todo[np.argsort(-upper[todo], kind="stable")]
        subsets = [c for r in range(len(inst.investors) + 1)
                   for c in itertools.combinations(range(len(inst.investors)), r)]
        for i in todo:
            if best is not None and upper[i] <= best[0] + 1e-9:
                break
            if not has_varying[i] and inst.leverage <= 0 and not inst.investors:
                continue  # equity short and nothing to finance it with
            for subset in subsets:
                got = self._lp(int(i), subset, unit[i], rows, objective)
                if got is not None and (best is None or got[0] > best[0] + 1e-12):
                    best = got
        return best

    def _choices(self, i: int, stakes) -> dict:
        ps = self.inst.projects
        return {p.pid: Choice(float(stakes[j]), p.years[self.combos[i, j] - 1])
                for j, p in enumerate(ps) if self.combos[i, j] > 0}

    def _lp(self, i: int, subset: tuple, unit: np.ndarray, rows, objective: str):
        """Exact optimum of combination i with investors ``subset`` in (others out)."""
        inst = self.inst
        ps = inst.projects
        picked = [j for j in range(len(ps)) if self.combos[i, j] > 0]
        vary = [j for j in picked if ps[j].varies]
        fixed = [j for j in picked if not ps[j].varies]
        spend_unit = {j: self.spend_unit[j][self.combos[i, j]] for j in picked}
        spend_fixed = sum((spend_unit[j] * ps[j].max_stake for j in fixed), np.zeros(len(self.years)))
        spend_max = sum((spend_unit[j] * ps[j].max_stake for j in picked), np.zeros(len(self.years)))
        debt_years = [k for k in range(len(self.years))
                      if spend_max[k] > 0 or "debt_use" in inst.off] if inst.leverage > 0 else []
        invs = [inst.investors[k] for k in subset]
        nv, ni, nd = len(vary), len(invs), len(debt_years)
        ncol = nv + ni + nd
        if ncol == 0:
            return None  # fixed stakes, no financing: already judged directly
        S = slice(0, nv)
        C = slice(nv, nv + ni)
        D = slice(nv + ni, ncol)
        capex = np.array([p.capex for p in ps])
        A, lo, hi = [], [], []

        def stake_part(coef_per_stake: np.ndarray) -> tuple[np.ndarray, float, float]:
            """Σ_p coef[p] × stake[p] over picked projects: (row over stake columns, constant, scale)."""
            r = np.zeros(ncol)
            r[S] = coef_per_stake[vary]
            const = float(sum(coef_per_stake[j] * ps[j].max_stake for j in fixed))
            scale = float(sum(abs(coef_per_stake[j]) * ps[j].max_stake for j in picked))
            return r, const, scale

        def add(r: np.ndarray, const: float, l: float, h: float, scale: float) -> bool:
            """l ≤ r·x + const ≤ h; False when it cannot hold (a row without variables)."""
            tol = EPS * max(1.0, scale, abs(l) if l > -INF else 0.0, abs(h) if h < INF else 0.0)
            if not np.any(r):
                return (l == -INF or const >= l - tol) and (h == INF or const <= h + tol)
            A.append(r)
            lo.append(l - const if l > -INF else -INF)
            hi.append(h - const if h < INF else INF)
            return True

        # capital: Σ committed − Σ commit − Σ debt ≤ equity_capital
        r, const, scale = stake_part(capex)
        r[C] = -1.0
        r[D] = -1.0
        if not add(r, const, -INF, inst.equity, scale):
            return None
        if nd:
            r = np.zeros(ncol)
            r[D] = 1.0
            r[C] = -inst.leverage
            add(r, 0.0, -INF, inst.leverage * inst.equity, 0.0)
            lev = np.array([1.0 if p.lev else 0.0 for p in ps])
            r, const, scale = stake_part(-inst.ltv * capex * lev)
            r[D] = 1.0
            if not add(r, const, -INF, 0.0, scale):
                return None
            for c, k in enumerate(debt_years if "debt_use" not in inst.off else ()):  # debt ≤ that year's spending
                coef = np.array([spend_unit[j][k] if j in spend_unit else 0.0 for j in range(len(ps))])
                r, const, scale = stake_part(-coef)
                r[nv + ni + c] = 1.0
                add(r, const, -INF, 0.0, scale)
        for y, cap in inst.capital_limit.items():
            k = self.years.index(y)
            coef = np.array([spend_unit[j][k] if j in spend_unit else 0.0 for j in range(len(ps))])
            r, const, scale = stake_part(coef)
            if not add(r, const, -INF, cap, scale):
                return None
        for coef, l, h, _kind in rows:
            r, const, scale = stake_part(coef * capex)
            if not add(r, const, l, h, scale):
                return None
        risk = np.array([p.risk for p in ps])
        for inv in invs:
            if inv.risk_cap is not None:
                r, const, scale = stake_part((risk - inv.risk_cap) * capex)
                if not add(r, const, -INF, 0.0, scale):
                    return None

        cost = np.zeros(ncol)
        cost[S] = unit[vary]
        offset = float(sum(unit[j] * ps[j].max_stake for j in fixed))
        if objective == "npv":
            cost[C] = [-inv.rate for inv in invs]
            cost[D] = -inst.debt_cost
        col_lo = np.concatenate([[ps[j].min_stake for j in vary], [inv.lo for inv in invs], np.zeros(nd)])
        col_hi = np.concatenate([[ps[j].max_stake for j in vary], [inv.hi for inv in invs],
                                 [inst.debt_limit.get(self.years[k], INF) for k in debt_years]])
        if np.any(col_lo > col_hi):
            return None
        x = self._solve(cost, col_lo, col_hi, np.array(A).reshape(-1, ncol), np.array(lo), np.array(hi))
        self.stats["lps"] += 1
        if x is None:
            return None
        value = float(cost @ x) + offset
        stakes = {j: ps[j].max_stake for j in fixed}
        stakes.update({j: float(x[c]) for c, j in enumerate(vary)})
        choices = {ps[j].pid: Choice(stakes[j], ps[j].years[self.combos[i, j] - 1]) for j in picked}
        commits = {inv.name: float(x[nv + c]) for c, inv in enumerate(invs)}
        return value, choices, float(x[D].sum()), commits

    def _solve(self, cost, col_lo, col_hi, A, row_lo, row_hi):
        if self._highs is None:
            self._highs = highspy.Highs()
            self._highs.setOptionValue("output_flag", False)
            self._highs.setOptionValue("presolve", "off")
        h = self._highs
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
        lp.col_cost_ = cost.astype(float)
        lp.col_lower_ = col_lo.astype(float)
        lp.col_upper_ = col_hi.astype(float)
        lp.row_lower_ = row_lo.astype(float)
        lp.row_upper_ = row_hi.astype(float)
        lp.sense_ = highspy.ObjSense.kMaximize
        starts, index, values = [0], [], []
        for c in range(A.shape[1]):
            nz = np.flatnonzero(A[:, c])
            index.extend(nz.tolist())
            values.extend(A[nz, c].tolist())
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(values, dtype=float)
        h.clearModel()
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return np.array(h.getSolution().col_value)
        if status in (highspy.HighsModelStatus.kInfeasible,):
            return None
        raise RuntimeError(f"reference LP ended with {h.modelStatusToString(status)}")


def portfolio_value(inst: Instance, choices: dict, debt: float, commits: dict) -> float:
    """The SPEC §2 objective of a given portfolio (for cross-checks)."""
    by = {p.pid: p for p in inst.projects}
    npv = sum(c.stake * by[pid].npv * (1 + inst.discount) ** -(c.start_year - by[pid].years[0])
              for pid, c in choices.items())
    rates = {i.name: i.rate for i in inst.investors}
    return npv - inst.debt_cost * debt - sum(rates[k] * v for k, v in commits.items())


__all__ = ["FundReference", "Instance", "read_instance", "reference_fund", "solve_instance", "ideal_values",
           "portfolio_value"]
