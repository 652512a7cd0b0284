"""The input workbook contract, declared once.

Every sheet and column of the input workbook (SPEC §1) is described here: its name, the
aliases it may go by, its type, its allowed range, its default and a line of help text.
The reader, the validator and ``fundopt template`` all read this table, so they cannot drift.

Types
-----
text      any text (numbers are read as their text form)
money     a number in the fund's currency unit
number    any number
int       a whole number
year      a calendar year (1900–2300)
share     a number in [0, 1]; "25%" reads as 0.25
yesno     yes / no (also y/n, true/false, 1/0)
approval  yes / no / pending (blank = pending)
choice    one of ``choices``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize(name: object) -> str:
    """Sheet and column names match case-insensitively, ignoring spaces, ``_`` and ``-``.

    Called for every header, sheet title and choice cell, so each distinct name is worked out
    once (a regular expression per call is too slow for a 10,000-row sheet).
    """
    try:
        return _normalize_cached(name)
    except TypeError:  # unhashable: not a cell value, but normalize never refuses
        return _SEPARATORS.sub("", str(name)).lower()


@lru_cache(maxsize=16384, typed=True)  # typed: 1, 1.0 and True are different names
def _normalize_cached(name: object) -> str:
    return _SEPARATORS.sub("", str(name)).lower()


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    help: str
    required: bool = False
    default: object = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> set[str]:
        return set(_column_keys(self.name, self.aliases))

    @property
    def range_text(self) -> str:
        if self.choices:
            return " / ".join(self.choices)
        if self.type == "share":
            return "a share from 0 to 1 (or 0%–100%)"
        if self.type == "yesno":
            return "yes / no"
        if self.type == "approval":
            return "yes / no / pending"
        low = "" if self.min is None else (f"> {self.min:g}" if self.min_exclusive else f">= {self.min:g}")
        high = "" if self.max is None else f"<= {self.max:g}"
        kind = {"int": "a whole number", "year": "a year", "money": "an amount",
                "number": "a number", "text": "text"}.get(self.type, self.type)
        bounds = " and ".join(b for b in (low, high) if b)
        return f"{kind} {bounds}".strip()


@dataclass(frozen=True)
class Sheet:
    name: str
    help: str
    columns: tuple[Column, ...]
    required: bool = False
    #: "table": a header row then one record per row; "params": parameter / value pairs
    kind: str = "table"
    aliases: tuple[str, ...] = ()
    #: columns named by pattern (CapexSchedule Y1, Y2, ...; Scenarios free columns)
    open_columns: bool = False

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


YES_NO = ("yes", "no")
APPROVALS = ("yes", "no", "pending")
DECISIONS = ("auto", "must fund", "exclude")
RULE_KINDS = ("requires", "excludes", "at_most", "at_least", "together")
APPROVAL_RULES = ("both", "either", "none")
OBJECTIVES = ("npv", "strategic", "jobs", "weighted", "maxmin_satisfaction")
INVESTOR_TYPES = ("government", "institutional", "retail")
NATIONS = ("US", "JP")

PROJECTS = Sheet(
    "Projects",
    "One row per candidate project.",
    (
        Column("project_id", "text", "Unique key of the project.", required=True, aliases=("id", "project")),
        Column("name", "text", "Project name.", required=True, aliases=("project_name",)),
        Column("sector", "text", "Sector; must appear on Sectors when that sheet exists.", required=True),
        Column("capex", "money", "Total investment if fully funded (or give a CapexSchedule row).",
               required=True, min=0, min_exclusive=True, aliases=("capital", "investment")),
        Column("npv", "money", "Net present value of the full project at planning start, if it starts at its earliest start.",
               required=True),
        Column("npv_low", "money", "Pessimistic NPV (uncertainty analysis)."),
        Column("npv_high", "money", "Optimistic NPV (uncertainty analysis)."),
        Column("risk", "number", "Risk score, 1 (safe) to 5 (speculative).", min=1, max=5),
        Column("strategic_score", "number", "Committee's strategic value score, 0–100.", min=0, max=100),
        Column("us_score", "number", "US government's rating of the project, 0–10.", min=0, max=10),
        Column("jp_score", "number", "Japanese government's rating of the project, 0–10.", min=0, max=10),
        Column("us_approval", "approval", "US sign-off: yes / no / pending (blank = pending, not approved)."),
        Column("jp_approval", "approval", "Japan's sign-off: yes / no / pending (blank = pending, not approved)."),
        Column("jp_content", "share", "Share of spend going to Japanese partners and suppliers, 0–1."),
        Column("state", "text", "US state or region."),
        Column("leverage_eligible", "yesno", "May back fund debt (default no).", default="no"),
        Column("min_stake", "share", "Smallest share of the project the fund may take (default 1).", default=1.0),
        Column("max_stake", "share", "Largest share of the project the fund may take (default 1).", default=1.0),
        Column("earliest_start", "year", "Earliest start year (default: planning_start).", min=1900, max=2300),
        Column("latest_start", "year", "Latest start year (default: earliest_start).", min=1900, max=2300),
        Column("duration", "int", "Years over which capex is spread evenly when no schedule is given (default 1).",
               default=1, min=1, max=100),
        Column("esg_score", "number", "Ethics / ESG screen score, 0–100.", min=0, max=100),
        Column("jobs", "number", "Jobs created.", min=0),
        Column("decision", "choice", "Committee lock: auto / must fund / exclude (default auto).",
               default="auto", choices=DECISIONS, aliases=("lock",)),
        Column("decision_reason", "text", "Why the project was locked (kept for the audit trail)."),
    ),
    required=True,
    aliases=("Pipeline", "Candidates"),
)

CAPEX_SCHEDULE = Sheet(
    "CapexSchedule",
    "Capex by project year: Y1 is the start year, Y2 the year after, … Overrides capex.",
    (
        Column("project_id", "text", "Project key from Projects.", required=True, aliases=("id", "project")),
    ),
    open_columns=True,
)

FUND = Sheet(
    "Fund",
    "Fund-wide parameters: one row per parameter, with its value.",
    (
        Column("currency_unit", "text", "Label for all money.", default="USD bn"),
        Column("equity_capital", "money", "Equity the two governments commit.", default=300.0, min=0),
        Column("us_equity_share", "share", "US government's share of government equity.", default=0.5),
        Column("planning_start", "year", "First year of the horizon (default: the current year).", min=1900, max=2300),
        Column("horizon_years", "int", "Years in the planning horizon.", default=10, min=1, max=100),
        Column("discount_rate", "number", "Used to discount NPV when a start is delayed.", default=0.06, min=0, max=1),
        Column("max_leverage", "number", "Max debt / equity; 0 = no debt.", default=0.0, min=0, max=10),
        Column("debt_cost", "number", "Present-value cost per unit of debt drawn.", default=0.05, min=0, max=1),
        Column("max_ltv", "share", "Debt may not exceed this share of leverage-eligible investment.", default=0.6),
        Column("max_project_share", "share", "Cap on any one project's share of total commitments."),
        Column("max_avg_risk", "number", "Cap on commitment-weighted average risk.", min=1, max=5),
        Column("min_esg_score", "number", "Projects below this ESG score are screened out.", min=0, max=100),
        Column("approval_rule", "choice", "Which governments must approve a project: both / either / none.",
               default="both", choices=APPROVAL_RULES),
        Column("min_nation_satisfaction", "share",
               "Each nation must get at least this share of the score value of its own ideal portfolio."),
        Column("jp_content_min", "share", "Lower bound on commitment-weighted Japanese content."),
        Column("jp_content_max", "share", "Upper bound on commitment-weighted Japanese content."),
        Column("max_speculative_share", "share", "Cap on the share of commitments in speculative sectors."),
        Column("objective", "choice", "What to maximize.", default="npv", choices=OBJECTIVES),
        Column("objective_weights", "text", "Weights when objective = weighted, e.g. npv=1, strategic=0.2."),
        Column("alternatives", "int", "How many ranked portfolios to report.", default=3, min=1, max=100),
        Column("min_difference", "int", "Projects by which two reported portfolios must differ.", default=1, min=1),
        Column("explain_limit", "int", "Most exact re-solves for removal costs and break-even NPVs (0: all estimated).",
               default=100, min=0),
        Column("time_limit_s", "number", "Solver time limit per solve, in seconds.", default=60.0, min=0,
               min_exclusive=True),
        Column("mip_gap", "number", "Relative optimality gap (0 = proven optimal).", default=0.0001, min=0, max=1),
    ),
    kind="params",
    aliases=("Parameters", "Settings"),
)

SECTORS = Sheet(
    "Sectors",
    "Sector limits. Shares are of total commitments.",
    (
        Column("sector", "text", "Sector name, as used on Projects.", required=True),
        Column("min_share", "share", "Smallest share of total commitments in this sector."),
        Column("max_share", "share", "Largest share of total commitments in this sector."),
        Column("min_projects", "int", "Fewest projects funded in this sector.", min=0),
        Column("max_projects", "int", "Most projects funded in this sector.", min=0),
        Column("speculative", "yesno", "Counts toward max_speculative_share (default no).", default="no"),
        Column("leverage_allowed", "yesno", "Projects of this sector may back debt (default yes).", default="yes"),
    ),
)

BUDGET = Sheet(
    "Budget",
    "Caps per calendar year on spending and on debt drawn.",
    (
        Column("year", "year", "Calendar year.", required=True, min=1900, max=2300),
        Column("capital_limit", "money", "Most spending on projects in this year.", min=0),
        Column("debt_limit", "money", "Most debt drawn in this year.", min=0),
    ),
)

INVESTORS = Sheet(
    "Investors",
    "Capital beyond the two governments.",
    (
        Column("investor", "text", "Investor name.", required=True),
        Column("type", "choice", "government / institutional / retail.", choices=INVESTOR_TYPES, default="institutional"),
        Column("nation", "text", "Investor's nation (US, JP or other)."),
        Column("min_commitment", "money", "Least this investor puts in.", min=0, default=0.0),
        Column("max_commitment", "money", "Most this investor puts in.", min=0),
        Column("required_return", "number", "Cost per unit committed, charged in the objective.", min=0, default=0.0),
        Column("max_avg_risk", "number", "Portfolio average risk this investor accepts while it is in.", min=1, max=5),
    ),
)

RULES = Sheet(
    "Rules",
    "Interdependencies between projects.",
    (
        Column("rule", "choice", "requires / excludes / at_most / at_least / together.", required=True,
               choices=RULE_KINDS, aliases=("type", "kind")),
        Column("projects", "text", "Comma-separated project ids; for requires, the first requires all the others.",
               required=True),
        Column("k", "int", "Count for at_most / at_least.", min=0),
    ),
)

SCENARIOS = Sheet(
    "Scenarios",
    "One row per scenario for fundopt batch: any Fund parameter, sector:<name>:<column>, npv_scale:<sector>.",
    (Column("scenario", "text", "Scenario name.", required=True),),
    open_columns=True,
)

SHEETS: tuple[Sheet, ...] = (PROJECTS, CAPEX_SCHEDULE, FUND, SECTORS, BUDGET, INVESTORS, RULES, SCENARIOS)


def find_sheet(name: str) -> Sheet | None:
    key = normalize(name)
    for s in SHEETS:
        if key == normalize(s.name) or key in {normalize(a) for a in s.aliases}:
            return s
    return None


@lru_cache(maxsize=None)
def _column_keys(name: str, aliases: tuple[str, ...]) -> frozenset[str]:
    """The normalized names a column answers to (asked for every row by the validator)."""
    return frozenset({normalize(name), *(normalize(a) for a in aliases)})


SCHEDULE_COLUMN = re.compile(r"^y(?:ear)?(\d{1,3})$")
