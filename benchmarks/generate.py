"""Seeded generator of realistic fundopt pipeline workbooks, at any size.

One command (from the repository root)::

    python benchmarks/generate.py OUT.xlsx --projects 500 --seed 1 \
        [--alternatives K] [--explain-limit N] [--with FAMILY ...] [--without FAMILY ...]

``python benchmarks/generate.py --list-families`` lists the rule families and which are on by
default. The same seed and options always give the same workbook contents.

What it writes (SPEC §1): a ``Projects`` sheet under a two-line title block (the fund's nine
sectors, realistic names such as "Hokkaido offshore wind farm (phase 2)", capex, NPV and its
low/high band, risk, strategic / US / JP scores, approvals yes/no/pending, Japanese content,
state, leverage eligibility, start windows, ESG, jobs, committee locks, a free ``notes``
column), ``CapexSchedule`` (every project's capex over 1–5 project years), ``Fund``,
``Sectors`` (min/max shares and counts, speculative and leverage flags), ``Budget`` (yearly
capital and debt limits), ``Investors`` and ``Rules``. Project sizes are those of the sample
pipeline (USD bn, median a few bn, up to 40); ``equity_capital`` is scaled with the pipeline
(total capex / ``--capex-ratio``, 2.2 by default, as in the sample) and the yearly budgets with
it (20 %, 27 %, then 33 % of equity a year, as in the sample's 60 / 80 / 100 of 300), so that
every size is a comparably constrained portfolio problem.

Large workbooks are written with XlsxWriter's ``constant_memory`` mode (``--constant-memory``
auto: on from 5,000 projects).

Also importable: :func:`make_pipeline` returns an :class:`Instance` (numpy arrays + sheet
tables; the benchmarks build their raw-HiGHS references from it) and :func:`write_workbook`
writes one.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PLANNING_START = 2027
HORIZON = 10

# --------------------------------------------------------------------------------------
# The fund's nine sectors: code, median capex (USD bn), capex spread (lognormal sigma),
# risk distribution (weights of risk 1..5), NPV/capex mean, Sectors-sheet limits
# (min_share, max_share, min_projects, speculative, leverage_allowed), facility names.
# --------------------------------------------------------------------------------------
SECTORS = {
    "AI": dict(code="AI", median=7.0, sigma=0.9, risk=(0.05, 0.25, 0.45, 0.2, 0.05), ratio=0.22,
               min_share=0.05, max_share=0.30, min_projects=1, speculative=False, leverage=True,
               facilities=["AI supercompute campus", "sovereign LLM training cluster", "hyperscale data-center corridor",
                           "AI inference edge network", "AI chip design center", "AI safety and evaluation institute",
                           "robotics foundation-model lab", "autonomous-factory AI platform", "liquid-cooled AI campus",
                           "sovereign AI cloud region", "AI drug-discovery compute center", "GPU cloud exchange"]),
    "Renewable Energy": dict(code="REN", median=8.0, sigma=0.8, risk=(0.05, 0.4, 0.35, 0.15, 0.05), ratio=0.16,
                             min_share=0.10, max_share=0.35, min_projects=2, speculative=False, leverage=True,
                             facilities=["offshore wind farm", "HVDC grid link", "utility-scale solar and storage",
                                         "geothermal expansion", "transmission backbone", "floating wind demonstrator",
                                         "grid-scale battery fleet", "pumped-hydro storage plant",
                                         "agrivoltaic solar park", "green-hydrogen electrolyser"]),
    "5G": dict(code="5G", median=3.5, sigma=0.8, risk=(0.05, 0.4, 0.35, 0.15, 0.05), ratio=0.17,
               min_share=None, max_share=0.15, min_projects=1, speculative=False, leverage=True,
               facilities=["Open RAN rural rollout", "5G standalone core", "subsea cable landing",
                           "6G research consortium", "private 5G port network", "resilient 5G backbone",
                           "satellite-to-phone gateway", "fiber backhaul ring"]),
    "Smart Cities": dict(code="SC", median=4.0, sigma=0.7, risk=(0.05, 0.4, 0.35, 0.15, 0.05), ratio=0.14,
                         min_share=None, max_share=0.15, min_projects=None, speculative=False, leverage=True,
                         facilities=["smart port", "connected-mobility district", "digital-twin city platform",
                                     "water-smart district", "resilient microgrid town", "autonomous transit loop",
                                     "waterfront smart district", "resilient megacity grid"]),
    "Advanced Manufacturing": dict(code="MFG", median=8.0, sigma=0.9, risk=(0.02, 0.3, 0.5, 0.15, 0.03), ratio=0.18,
                                   min_share=0.10, max_share=0.35, min_projects=1, speculative=False, leverage=True,
                                   facilities=["advanced-packaging fab", "2nm logic fab", "HBM memory fab",
                                               "EV battery gigafactory", "hydrogen fuel-cell truck line",
                                               "rare-earth magnet plant", "photoresist and specialty chemicals plant",
                                               "shipyard modernization", "battery-materials campus",
                                               "precision machine-tool works"]),
    "Space": dict(code="SPC", median=3.0, sigma=0.8, risk=(0.0, 0.05, 0.2, 0.45, 0.3), ratio=0.12,
                  min_share=None, max_share=0.10, min_projects=None, speculative=True, leverage=False,
                  facilities=["commercial launch site", "heavy-lift launch complex", "lunar logistics lander program",
                              "LEO optical-relay constellation", "in-orbit servicing demonstrator",
                              "space situational-awareness radar"]),
    "Biotech": dict(code="BIO", median=2.2, sigma=0.7, risk=(0.05, 0.3, 0.3, 0.25, 0.1), ratio=0.2,
                    min_share=None, max_share=0.10, min_projects=1, speculative=False, leverage=False,
                    facilities=["mRNA vaccine surge-capacity plant", "iPS cell-therapy manufacturing hub",
                                "biologics CDMO", "precision-fermentation bioindustrial park",
                                "active pharmaceutical ingredient plant", "genomic medicine data commons",
                                "gene-edited crop platform"]),
    "Quantum Computing": dict(code="QC", median=1.5, sigma=0.7, risk=(0.0, 0.05, 0.15, 0.4, 0.4), ratio=0.15,
                              min_share=None, max_share=0.05, min_projects=1, speculative=True, leverage=False,
                              facilities=["quantum error-correction testbed", "superconducting quantum fab",
                                          "quantum network backbone", "photonic quantum computer scale-up",
                                          "quantum cryogenics supply chain", "post-quantum cryptography program"]),
    "Decarbonization": dict(code="DEC", median=5.0, sigma=0.9, risk=(0.02, 0.2, 0.45, 0.25, 0.08), ratio=0.12,
                            min_share=0.05, max_share=0.25, min_projects=1, speculative=False, leverage=True,
                            facilities=["small modular reactor", "hydrogen refuelling corridor",
                                        "blue-ammonia export terminal", "direct-air-capture hub",
                                        "ammonia co-firing retrofit", "CCS pipeline network", "green-steel DRI plant",
                                        "liquefied-hydrogen import terminal", "sustainable aviation fuel refinery"]),
}
SECTOR_NAMES = list(SECTORS)

US_PLACES = ["Arizona", "Texas", "Ohio", "Virginia", "Oregon", "Nevada", "Iowa", "Montana", "California", "Michigan",
             "Georgia", "New York", "Tennessee", "Pennsylvania", "Florida", "Colorado", "Alabama", "North Carolina",
             "Massachusetts", "Indiana", "Illinois", "Louisiana", "Wyoming", "Minnesota", "Washington", "Alaska",
             "Utah", "New Mexico", "South Carolina", "Kentucky"]
JP_PLACES = ["Hokkaido", "Tokyo", "Osaka", "Fukuoka", "Aichi", "Kumamoto", "Oita", "Akita", "Chiba", "Okinawa",
             "Miyagi", "Kanagawa", "Hyogo", "Ibaraki", "Hiroshima", "Niigata", "Shizuoka", "Nagasaki", "Kyoto", "Mie"]
REASONS_EXCLUDE = ["Sponsor under export-control review", "Offtake agreement withdrawn by the anchor buyer",
                   "Permitting stalled at state level", "Partner failed due diligence"]
REASONS_MUST = ["Designated a joint national-security priority by both governments",
                "Cornerstone of the bilateral semiconductor accord", "Treaty commitment (IC minute)"]

#: rule families: name -> (on by default, what it writes)
FAMILIES = {
    "schedule": (True, "CapexSchedule rows (1–5 project years) for every project (off: capex + duration)"),
    "windows": (True, "start windows (earliest_start..latest_start) on --windows of the projects"),
    "budget": (True, "Budget sheet: yearly capital_limit (and debt_limit with leverage)"),
    "sectors": (True, "Sectors sheet: min/max shares, speculative and leverage flags"),
    "sector_counts": (True, "min_projects / max_projects on the Sectors sheet"),
    "approvals": (True, "us_approval / jp_approval columns (yes / no / pending, some blank)"),
    "scores": (True, "us_score / jp_score columns (the nations' ratings)"),
    "esg": (True, "min_esg_score 40 on Fund (esg_score is always written)"),
    "locks": (True, "decision column: a few exclude and must fund locks with reasons"),
    "leverage": (True, "max_leverage 0.5, max_ltv 0.6, debt_cost 0.05; leverage_eligible projects"),
    "investors": (True, "Investors sheet: four co-investors with required returns and risk caps"),
    "rules": (True, "Rules sheet: requires / excludes / at_most / at_least / together (about n/12 rules)"),
    "agreement": (False, "min_nation_satisfaction (--satisfaction, default 0.7) on Fund"),
    "stakes": (False, "min_stake 0.25 / max_stake 1 on a fifth of the large projects"),
    "risk_cap": (False, "max_avg_risk 3.2 on Fund"),
}


@dataclass
class Instance:
    """A generated pipeline: what the workbook holds, as arrays and small tables."""

    ids: list[str]
    names: list[str]
    sector: np.ndarray           # int index into SECTOR_NAMES (or into sector_names)
    capex: np.ndarray            # float, = schedule row sum
    npv: np.ndarray
    schedule: np.ndarray         # (n, 5): spending per project year Y1..Y5 (zeros after the duration)
    earliest: np.ndarray         # int, start window (planning_start when no window)
    latest: np.ndarray
    windowed: np.ndarray         # bool: earliest/latest written
    columns: dict                # extra Projects columns: name -> list (None = blank)
    fund: dict                   # Fund sheet (ordered)
    sector_names: list = field(default_factory=lambda: list(SECTOR_NAMES))
    sectors_table: list = field(default_factory=list)   # list of dicts (Sectors sheet), [] = no sheet
    budget_table: list = field(default_factory=list)    # list of dicts (Budget sheet)
    investors_table: list = field(default_factory=list)
    rules_table: list = field(default_factory=list)
    schedule_rows: bool = True   # write CapexSchedule (else capex + duration columns only)
    families: frozenset = frozenset()
    title: str = "US–Japan Strategic Investment Fund — candidate pipeline"

    @property
    def n(self) -> int:
        return len(self.ids)

    def approved(self) -> np.ndarray:
        """approval_rule both: every approval column present must say yes."""
        ok = np.ones(self.n, dtype=bool)
        for col in ("us_approval", "jp_approval"):
            if col in self.columns:
                ok &= np.array([v == "yes" for v in self.columns[col]])
        return ok

    def allowed(self) -> np.ndarray:
        """Projects that may be selected at all: approved, ESG-screened, not excluded."""
        ok = self.approved()
        floor = self.fund.get("min_esg_score")
        if floor is not None and "esg_score" in self.columns:
            ok &= np.array([v is None or v >= floor for v in self.columns["esg_score"]])
        if "decision" in self.columns:
            ok &= np.array([v != "exclude" for v in self.columns["decision"]])
        return ok


def _choice(rng, weights) -> int:
    return int(rng.choice(len(weights), p=np.asarray(weights) / sum(weights)))


def _profile(rng, d: int) -> np.ndarray:
    """A ramp-up / ramp-down spending profile over d years, summing to 1."""
    if d == 1:
        return np.ones(1)
    k = np.arange(d)
    w = 1.0 + k * (d - 1 - k) + rng.uniform(0.0, 0.6, d)
    w[0] *= 0.6  # the first year is partial
    return w / w.sum()


def make_pipeline(n: int, seed: int = 1, families=None, *, alternatives: int | None = None,
                  explain_limit: int | None = None, windows: float = 0.3, satisfaction: float = 0.7,
                  capex_ratio: float = 2.2, time_limit_s: float | None = None, mip_gap: float | None = None,
                  planning_start: int = PLANNING_START) -> Instance:
    """Generate a pipeline of ``n`` projects. ``families``: set of family names that are on
    (default: those marked on in FAMILIES)."""
    fam = frozenset(families if families is not None else [f for f, (on, _) in FAMILIES.items() if on])
    unknown = fam - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families: {', '.join(sorted(unknown))}")
    rng = np.random.default_rng(seed)
    last_year = planning_start + HORIZON - 1

    # sector mix: the big-ticket sectors are more frequent
    mix = np.array([0.14, 0.15, 0.09, 0.1, 0.15, 0.08, 0.1, 0.08, 0.11])
    sector = rng.choice(len(SECTOR_NAMES), size=n, p=mix / mix.sum())
    # make sure every sector has projects (min_projects rows need them)
    for s in range(min(n, len(SECTOR_NAMES))):
        if not (sector == s).any():
            sector[s] = s

    ids, names = [], []
    counters = {s: 0 for s in SECTOR_NAMES}
    nation = np.empty(n, dtype=object)
    places = []
    for i, s in enumerate(sector):
        name = SECTOR_NAMES[s]
        spec = SECTORS[name]
        counters[name] += 1
        ids.append(f"{spec['code']}-{counters[name]:04d}" if n >= 1000 else f"{spec['code']}-{counters[name]:03d}")
        u = rng.random()
        if u < 0.5:
            place, nat = US_PLACES[rng.integers(len(US_PLACES))], "US"
        elif u < 0.9:
            place, nat = JP_PLACES[rng.integers(len(JP_PLACES))], "JP"
        else:
            place, nat = ("Trans-Pacific" if rng.random() < 0.5 else "Joint US–Japan"), "both"
        nation[i] = nat
        places.append(place)
        fac = spec["facilities"][rng.integers(len(spec["facilities"]))]
        phase = rng.integers(1, 5)
        names.append(f"{place} {fac}" + (f" (phase {phase})" if phase > 1 else ""))

    # capex, duration and schedule
    med = np.array([SECTORS[SECTOR_NAMES[s]]["median"] for s in sector])
    sig = np.array([SECTORS[SECTOR_NAMES[s]]["sigma"] for s in sector])
    raw_capex = np.clip(med * np.exp(sig * rng.standard_normal(n)), 0.3, 40.0)
    duration = np.clip(np.rint(1 + 4 * np.log(raw_capex / 0.3) / np.log(40 / 0.3) + rng.normal(0, 0.7, n)),
                       1, 5).astype(int)
    schedule = np.zeros((n, 5))
    for i in range(n):
        d = duration[i]
        amounts = np.round(raw_capex[i] * _profile(rng, d), 2)
        amounts[amounts <= 0] = 0.01
        schedule[i, :d] = amounts
    if "schedule" not in fam:
        # capex / duration per year (what fundopt does without a schedule row)
        for i in range(n):
            d = duration[i]
            schedule[i, :d] = round(float(schedule[i, :d].sum()), 2) / d
    capex = schedule.sum(axis=1)
    if "schedule" not in fam:
        capex = np.array([round(float(c), 2) for c in capex])

    # risk, NPV and its band
    risk = np.array([_choice(rng, SECTORS[SECTOR_NAMES[s]]["risk"]) + 1 for s in sector])
    mean_ratio = np.array([SECTORS[SECTOR_NAMES[s]]["ratio"] for s in sector])
    ratio = np.clip(mean_ratio + 0.03 * (risk - 3) + rng.normal(0, 0.09, n), -0.1, 0.6)
    npv = np.round(capex * ratio, 2)
    spread = capex * (0.05 + 0.04 * risk)
    npv_low = np.round(npv - 1.2 * spread, 2)
    npv_high = np.round(npv + spread, 2)

    # scores, content, ESG, jobs
    strategic = np.clip(np.rint(rng.normal(72, 10, n)), 30, 98)
    us_bias = np.array([1.2 if v == "US" else (-1.0 if v == "JP" else 0.6) for v in nation])
    us_score = np.round(np.clip(rng.normal(6.9, 0.8, n) + us_bias, 3.0, 9.8), 1)
    jp_score = np.round(np.clip(rng.normal(6.9, 0.8, n) - us_bias + 0.2, 3.0, 9.8), 1)
    jp_content = np.round(np.clip(np.where(nation == "JP", rng.normal(0.8, 0.07, n),
                                           np.where(nation == "US", rng.normal(0.3, 0.12, n),
                                                    rng.normal(0.5, 0.1, n))), 0.0, 1.0), 2)
    esg = np.clip(np.rint(rng.normal(70, 12, n)), 30, 95)
    jobs = np.rint(capex * rng.uniform(80, 250, n) / 10) * 10

    # approvals
    def approvals(bias):
        out = []
        for b in bias:
            u = rng.random()
            p_yes = 0.86 + 0.04 * b
            if u < p_yes:
                out.append("yes")
            elif u < p_yes + 0.07:
                out.append("pending")
            elif u < p_yes + 0.08:
                out.append(None)  # blank = pending
            else:
                out.append("no")
        return out

    us_approval = approvals(us_bias / 1.2)
    jp_approval = approvals(-us_bias / 1.2)

    # leverage eligibility
    lev_sector = np.array([SECTORS[SECTOR_NAMES[s]]["leverage"] for s in sector])
    leverage_eligible = np.where(lev_sector & (rng.random(n) < 0.75) | (~lev_sector & (rng.random(n) < 0.2)),
                                 "yes", "no")

    # start windows: a share of projects may start in one of 2–4 years
    earliest = np.full(n, planning_start)
    latest = np.full(n, planning_start)
    windowed = np.zeros(n, dtype=bool)
    if "windows" in fam:
        for i in np.flatnonzero(rng.random(n) < windows):
            d = duration[i]
            es = planning_start + int(rng.integers(0, 4))
            ls = es + int(rng.integers(1, 4))
            ls = min(ls, last_year - d + 1)
            es = min(es, ls)
            if ls > es:
                earliest[i], latest[i], windowed[i] = es, ls, True

    # locks (decision column)
    decision = [None] * n
    reason = [None] * n
    if "locks" in fam:
        for i in np.flatnonzero(rng.random(n) < 0.006):
            decision[i] = "exclude"
            reason[i] = REASONS_EXCLUDE[rng.integers(len(REASONS_EXCLUDE))]
        candidates = [i for i in range(n) if decision[i] is None and not windowed[i] and capex[i] < 3
                      and us_approval[i] == "yes" and jp_approval[i] == "yes" and esg[i] >= 45 and npv[i] > 0]
        k = min(len(candidates), max(1, n // 250) if n >= 50 else 0)
        for i in rng.choice(candidates, size=k, replace=False) if k else []:
            decision[i] = "must fund"
            reason[i] = REASONS_MUST[rng.integers(len(REASONS_MUST))]
        for i in range(n):
            if decision[i] is None and rng.random() < 0.3:
                decision[i] = "auto"

    # partial stakes
    min_stake = [None] * n
    max_stake = [None] * n
    if "stakes" in fam:
        for i in np.flatnonzero((capex > 15) & (rng.random(n) < 0.2)):
            min_stake[i], max_stake[i] = 0.25, 1.0

    notes = [None] * n
    for i in np.flatnonzero(rng.random(n) < 0.05):
        notes[i] = ["Power purchase agreement in negotiation", "-- flagged by audit: cost estimate under review",
                    "Grid connection needed", "=Partner consortium still forming"][rng.integers(4)]

    columns: dict = {
        "npv_low": list(npv_low), "npv_high": list(npv_high), "risk": list(risk), "strategic_score": list(strategic),
    }
    if "scores" in fam or "agreement" in fam:
        columns["us_score"] = list(us_score)
        columns["jp_score"] = list(jp_score)
    if "approvals" in fam:
        columns["us_approval"] = us_approval
        columns["jp_approval"] = jp_approval
    columns["jp_content"] = list(jp_content)
    columns["state"] = places
    columns["leverage_eligible"] = list(leverage_eligible)
    if "stakes" in fam:
        columns["min_stake"] = min_stake
        columns["max_stake"] = max_stake
    columns["earliest_start"] = [int(earliest[i]) if windowed[i] else None for i in range(n)]
    columns["latest_start"] = [int(latest[i]) if windowed[i] else None for i in range(n)]
    columns["duration"] = list(duration)
    columns["esg_score"] = list(esg)
    columns["jobs"] = list(jobs)
    if "locks" in fam:
        columns["decision"] = decision
        columns["decision_reason"] = reason
    columns["notes"] = notes

    equity = round(float(capex.sum()) / capex_ratio, 1)
    fund = {"currency_unit": "USD bn", "equity_capital": equity, "us_equity_share": 0.5,
            "planning_start": planning_start, "horizon_years": HORIZON, "discount_rate": 0.06}
    if "leverage" in fam:
        fund.update(max_leverage=0.5, debt_cost=0.05, max_ltv=0.6)
    if "esg" in fam:
        fund["min_esg_score"] = 40
    if "risk_cap" in fam:
        fund["max_avg_risk"] = 3.2
    fund["approval_rule"] = "both"
    if "agreement" in fam:
        fund["min_nation_satisfaction"] = satisfaction
    if alternatives is not None:
        fund["alternatives"] = alternatives
    fund["min_difference"] = 1
    if explain_limit is not None:
        fund["explain_limit"] = explain_limit
    if time_limit_s is not None:
        fund["time_limit_s"] = time_limit_s
    if mip_gap is not None:
        fund["mip_gap"] = mip_gap

    sectors_table = []
    if "sectors" in fam:
        counts = np.bincount(sector, minlength=len(SECTOR_NAMES))
        for s, name in enumerate(SECTOR_NAMES):
            spec = SECTORS[name]
            row = {"sector": name, "min_share": spec["min_share"], "max_share": spec["max_share"]}
            if "sector_counts" in fam:
                row["min_projects"] = spec["min_projects"]
                row["max_projects"] = (int(math.ceil(0.6 * counts[s])) + 1
                                       if name in ("AI", "Smart Cities", "Decarbonization", "Renewable Energy")
                                       else None)
            row["speculative"] = "yes" if spec["speculative"] else "no"
            row["leverage_allowed"] = "yes" if spec["leverage"] else "no"
            sectors_table.append(row)

    budget_table = []
    if "budget" in fam:
        for k, y in enumerate(range(planning_start, planning_start + HORIZON)):
            share = (0.20, 0.27)[k] if k < 2 else 0.33
            row = {"year": y, "capital_limit": round(equity * share, 1)}
            if "leverage" in fam:
                row["debt_limit"] = round(equity * 0.1, 1)
            budget_table.append(row)

    investors_table = []
    if "investors" in fam:
        for name, typ, nat, mx, ret, cap in (
                ("Japan public pension reserve", "institutional", "JP", 40, 0.03, 3.2),
                ("US state teachers' pension pool", "institutional", "US", 30, 0.035, 3.0),
                ("US retail infrastructure fund", "retail", "US", 10, 0.04, 2.8),
                ("Japan development bank co-investment", "government", "JP", 20, 0.02, None)):
            investors_table.append({"investor": name, "type": typ, "nation": nat, "min_commitment": 0,
                                    "max_commitment": round(equity * mx / 300, 1), "required_return": ret,
                                    "max_avg_risk": cap})

    rules_table = []
    if "rules" in fam and n >= 12:
        # disjoint groups of projects of one sector, so no rule combination is infeasible
        used = {i for i in range(n) if decision[i] in ("must fund", "exclude")}
        by_sector = {s: [i for i in rng.permutation(np.flatnonzero(sector == s)) if i not in used]
                     for s in range(len(SECTOR_NAMES))}
        allowed = [us_approval[i] == "yes" and jp_approval[i] == "yes" and esg[i] >= 40 for i in range(n)]
        for _ in range(n // 12):
            s = int(rng.integers(len(SECTOR_NAMES)))
            pool = by_sector[s]
            kind = ["requires", "requires", "excludes", "at_most", "at_least", "together"][rng.integers(6)]
            size = 2 if kind in ("requires", "excludes", "together") else 3
            if kind == "requires" and rng.random() < 0.3:
                size = 3
            if kind == "at_least":
                group = [i for i in pool if allowed[i]][:size]
            else:
                group = pool[:size]
            if len(group) < size:
                continue
            for i in group:
                pool.remove(i)
            row = {"rule": kind, "projects": ", ".join(ids[i] for i in group), "k": None}
            if kind == "at_most":
                row["k"] = 2
            elif kind == "at_least":
                row["k"] = 1
            rules_table.append(row)

    return Instance(ids=ids, names=names, sector=sector, capex=capex, npv=npv, schedule=schedule,
                    earliest=earliest, latest=latest, windowed=windowed, columns=columns, fund=fund,
                    sectors_table=sectors_table, budget_table=budget_table, investors_table=investors_table,
                    rules_table=rules_table, schedule_rows="schedule" in fam, families=fam)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
def _cell(ws, r: int, c: int, v, fmt=None) -> None:
    if v is None:
        return
    if isinstance(v, str):
        ws.write_string(r, c, v, fmt)
    elif isinstance(v, (bool, np.bool_)):
        ws.write_string(r, c, "yes" if v else "no", fmt)
    else:
        f = float(v)
        ws.write_number(r, c, int(f) if f.is_integer() and abs(f) < 1e15 else f, fmt)


def _table(wb, title: str, header: list[str], rows, header_fmt, title_rows=()) -> None:
    ws = wb.add_worksheet(title)
    r = 0
    for tr in title_rows:
        _cell(ws, r, 0, tr)
        r += 1
    if title_rows:
        r += 1  # a blank row between the title block and the header
    for c, h in enumerate(header):
        ws.write_string(r, c, h, header_fmt)
    ws.freeze_panes(r + 1, 1)
    for row in rows:
        r += 1
        for c, v in enumerate(row):
            _cell(ws, r, c, v)


def write_workbook(inst: Instance, path: str | Path, constant_memory: bool | None = None) -> Path:
    """Write the instance as a pipeline workbook (XlsxWriter; constant_memory for big ones)."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if constant_memory is None:
        constant_memory = inst.n >= 5000
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": bool(constant_memory), "strings_to_formulas": False,
                                         "strings_to_numbers": False, "strings_to_urls": False})
    hdr = wb.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF"})
    pcols = ["project_id", "name", "sector", "capex", "npv"] + list(inst.columns)
    if inst.schedule_rows and "duration" in pcols:
        pcols.remove("duration")  # the schedule gives the years
    cols = [inst.columns.get(c) for c in pcols[5:]]

    def project_rows():
        for i in range(inst.n):
            yield [inst.ids[i], inst.names[i], inst.sector_names[inst.sector[i]], round(float(inst.capex[i]), 6),
                   float(inst.npv[i])] + [col[i] for col in cols]

    _table(wb, "Projects", pcols, project_rows(), hdr,
           title_rows=(inst.title, f"Generated by benchmarks/generate.py: {inst.n:,} projects, money in "
                                   f"{inst.fund.get('currency_unit', 'USD bn')}"))
    if inst.schedule_rows:
        width = int(max(1, (inst.schedule > 0).sum(axis=1).max()))
        _table(wb, "CapexSchedule", ["project_id"] + [f"Y{k + 1}" for k in range(width)],
               ([inst.ids[i]] + [float(v) if v else None for v in inst.schedule[i, :width]] for i in range(inst.n)),
               hdr)
    _table(wb, "Fund", ["parameter", "value"], [[k, v] for k, v in inst.fund.items()], hdr)
    for title, table in (("Sectors", inst.sectors_table), ("Budget", inst.budget_table),
                         ("Investors", inst.investors_table), ("Rules", inst.rules_table)):
        if table:
            header = list(dict.fromkeys(k for row in table for k in row))
            _table(wb, title, header, ([row.get(k) for k in header] for row in table), hdr)
    wb.close()
    return path


def parse_families(with_: list[str] | None, without: list[str] | None) -> set[str]:
    fam = {f for f, (on, _) in FAMILIES.items() if on}
    for group, add in ((with_ or [], True), (without or [], False)):
        for item in group:
            for f in (x.strip() for x in item.split(",") if x.strip()):
                if f == "all":
                    fam = set(FAMILIES) if add else set()
                    continue
                if f not in FAMILIES:
                    raise SystemExit(f"unknown family {f!r}; known: {', '.join(FAMILIES)}")
                (fam.add if add else fam.discard)(f)
    return fam


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="output workbook (.xlsx)")
    ap.add_argument("--projects", "-n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--alternatives", type=int, default=None, help="Fund alternatives (default: not written, 3)")
    ap.add_argument("--explain-limit", type=int, default=None, help="Fund explain_limit (default: not written, 100)")
    ap.add_argument("--time-limit", type=float, default=None, help="Fund time_limit_s")
    ap.add_argument("--mip-gap", type=float, default=None, help="Fund mip_gap")
    ap.add_argument("--with", dest="with_", action="append", help="turn families on (comma list, or all)")
    ap.add_argument("--without", action="append", help="turn families off (comma list, or all)")
    ap.add_argument("--windows", type=float, default=0.3, help="share of projects with a start window")
    ap.add_argument("--satisfaction", type=float, default=0.7, help="min_nation_satisfaction with agreement")
    ap.add_argument("--capex-ratio", type=float, default=2.2, help="total capex / equity_capital")
    ap.add_argument("--constant-memory", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--list-families", action="store_true")
    a = ap.parse_args(argv)
    if a.list_families:
        for f, (on, text) in FAMILIES.items():
            print(f"{f:14s} {'on ' if on else 'off'}  {text}")
        return 0
    if not a.out:
        ap.error("the output path is required")
    fam = parse_families(a.with_, a.without)
    t0 = time.perf_counter()
    inst = make_pipeline(a.projects, a.seed, fam, alternatives=a.alternatives, explain_limit=a.explain_limit,
                         windows=a.windows, satisfaction=a.satisfaction, capex_ratio=a.capex_ratio,
                         time_limit_s=a.time_limit, mip_gap=a.mip_gap)
    t1 = time.perf_counter()
    cm = {"auto": None, "on": True, "off": False}[a.constant_memory]
    write_workbook(inst, a.out, cm)
    t2 = time.perf_counter()
    print(f"wrote {a.out}: {inst.n:,} projects, total capex {inst.capex.sum():,.1f} USD bn, equity "
          f"{inst.fund['equity_capital']:,.1f}; families: {', '.join(sorted(fam))} "
          f"(generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
