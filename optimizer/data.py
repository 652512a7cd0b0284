"""Frozen, validated plain data: what the model is built from.

Nothing here imports Pyomo or openpyxl. A :class:`Pipeline` is what a reader produces from a
workbook and what a batch worker receives; it pickles cheaply.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

NATIONS = ("US", "JP")
NATION_NAMES = {"US": "the US", "JP": "Japan"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as an analyst finds it in Excel."""

    sheet: str
    row: int | None
    column: str | None
    value: Any
    message: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "value": _plain(self.value), "message": self.message}

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        shown = "" if self.value is None else f" (found {_plain(self.value)!r})"
        return f"{where}: {self.message}{shown}"


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    sector: str
    capex: float
    npv: float
    #: spending per project year when fully funded (Y1 = start year); sums to capex
    schedule: tuple[float, ...]
    row: int = 0
    npv_low: float | None = None
    npv_high: float | None = None
    risk: float | None = None
    strategic_score: float | None = None
    us_score: float | None = None
    jp_score: float | None = None
    us_approval: str = "pending"
    jp_approval: str = "pending"
    jp_content: float | None = None
    state: str | None = None
    leverage_eligible: bool = False
    min_stake: float = 1.0
    max_stake: float = 1.0
    earliest_start: int | None = None
    latest_start: int | None = None
    duration: int = 1
    esg_score: float | None = None
    jobs: float | None = None
    decision: str = "auto"
    decision_reason: str | None = None

    def approval(self, nation: str) -> str:
        return self.us_approval if nation == "US" else self.jp_approval

    def score(self, nation: str) -> float | None:
        return self.us_score if nation == "US" else self.jp_score


@dataclass(frozen=True)
class Fund:
    currency_unit: str = "USD bn"
    equity_capital: float = 300.0
    us_equity_share: float = 0.5
    planning_start: int = field(default_factory=lambda: _dt.date.today().year)
    horizon_years: int = 10
    discount_rate: float = 0.06
    max_leverage: float = 0.0
    debt_cost: float = 0.05
    max_ltv: float = 0.6
    max_project_share: float | None = None
    max_avg_risk: float | None = None
    min_esg_score: float | None = None
    approval_rule: str = "both"
    min_nation_satisfaction: float | None = None
    jp_content_min: float | None = None
    jp_content_max: float | None = None
    max_speculative_share: float | None = None
    objective: str = "npv"
    objective_weights: str | None = None
    alternatives: int = 3
    min_difference: int = 1
    explain_limit: int = 100
    time_limit_s: float = 60.0
    mip_gap: float = 0.0001

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.planning_start, self.planning_start + self.horizon_years))


@dataclass(frozen=True)
class SectorLimit:
    sector: str
    row: int = 0
    min_share: float | None = None
    max_share: float | None = None
    min_projects: int | None = None
    max_projects: int | None = None
    speculative: bool = False
    leverage_allowed: bool = True


@dataclass(frozen=True)
class BudgetYear:
    year: int
    row: int = 0
    capital_limit: float | None = None
    debt_limit: float | None = None


@dataclass(frozen=True)
class Investor:
    investor: str
    row: int = 0
    type: str = "institutional"
    nation: str | None = None
    min_commitment: float = 0.0
    max_commitment: float | None = None
    required_return: float = 0.0
    max_avg_risk: float | None = None


@dataclass(frozen=True)
class Rule:
    rule: str
    projects: tuple[str, ...]
    row: int = 0
    k: int | None = None

    def describe(self) -> str:
        ids = ", ".join(self.projects)
        if self.rule == "requires":
            return f"{self.projects[0]} requires {', '.join(self.projects[1:])}"
        if self.rule in ("at_most", "at_least"):
            return f"{self.rule.replace('_', ' ')} {self.k} of {ids}"
        return f"{self.rule} {ids}"


@dataclass(frozen=True)
class Scenario:
    scenario: str
    row: int
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class SourceSheet:
    """An input sheet as it was, to be carried over whole into the output workbook."""

    title: str
    rows: tuple[tuple[Any, ...], ...]
    header_row: int | None = None  # 1-based row of the header, when found


@dataclass(frozen=True)
class Source:
    name: str
    sha256: str
    sheets: tuple[SourceSheet, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    projects: tuple[Project, ...]
    fund: Fund = field(default_factory=Fund)
    sectors: tuple[SectorLimit, ...] = ()
    budget: tuple[BudgetYear, ...] = ()
    investors: tuple[Investor, ...] = ()
    rules: tuple[Rule, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    #: nations whose approval column is present (an absent column is not checked)
    approval_columns: tuple[str, ...] = ()
    #: which optional sheets the workbook had
    sheets_present: tuple[str, ...] = ()
    source: Source | None = None
    #: headers of the Projects columns the reader does not know (carried through unchanged)
    extra_columns: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.project_id for p in self.projects)

    def project(self, pid: str) -> Project:
        return self.by_id[pid]

    @cached_property
    def by_id(self) -> dict[str, Project]:
        """Projects by id (made once: cached_property keeps it in the instance, so later reads
        are a plain attribute lookup — reports read it a hundred thousand times at 10,000 projects)."""
        return {p.project_id: p for p in self.projects}

    def sector_limit(self, sector: str) -> SectorLimit | None:
        for s in self.sectors:
            if s.sector == sector:
                return s
        return None

    def with_fund(self, **changes) -> "Pipeline":
        return replace(self, fund=replace(self.fund, **changes))

    def approved(self, p: Project) -> bool:
        """SPEC §1: blank or pending is not approved; an absent column is not checked."""
        known = self._approvals.get(id(p))
        return self._approved(p) if known is None else known

    @cached_property
    def _approvals(self) -> dict[int, bool]:
        """Each of its projects' approval, worked out once (reports ask it twice a project). Keyed
        by identity: the pipeline holds its projects, so no other object has one of these ids."""
        return {id(p): self._approved(p) for p in self.projects}

    def _approved(self, p: Project) -> bool:
        rule = self.fund.approval_rule
        checked = [p.approval(n) == "yes" for n in self.approval_columns]
        if rule == "none" or not checked:
            return True
        return all(checked) if rule == "both" else any(checked)

    def screened_by_esg(self, p: Project) -> bool:
        floor = self.fund.min_esg_score
        return floor is not None and p.esg_score is not None and p.esg_score < floor

    def leverage_projects(self) -> list[str]:
        """Projects that may back debt: leverage_eligible and in a sector that allows leverage."""
        out = []
        for p in self.projects:
            s = self.sector_limit(p.sector)
            if p.leverage_eligible and (s is None or s.leverage_allowed):
                out.append(p.project_id)
        return out

    def speculative_projects(self) -> list[str]:
        spec = {s.sector for s in self.sectors if s.speculative}
        return [p.project_id for p in self.projects if p.sector in spec]

    def delay_factor(self, p: Project, start: int) -> float:
        """SPEC §2: each year after earliest_start divides the NPV by (1 + discount_rate)."""
        first = p.earliest_start if p.earliest_start is not None else self.fund.planning_start
        return (1.0 + self.fund.discount_rate) ** -(start - first)

    def start_years(self, p: Project) -> tuple[int, ...]:
        """Years the project may start in (SPEC §2: no window = planning_start)."""
        first = p.earliest_start if p.earliest_start is not None else self.fund.planning_start
        last = p.latest_start if p.latest_start is not None else first
        return tuple(range(first, last + 1))
