"""Write ``inputs/pipeline.xlsx``: the fund's realistic sample pipeline.

Run from the repository root::

    python3 inputs/make_sample.py            # writes inputs/pipeline.xlsx
    python3 inputs/make_sample.py OUT.xlsx   # writes elsewhere

Everything below is hand-written data (no randomness), so the workbook is the same on
every run. Money is in USD bn. The layout follows SPEC.md section 1: a ``Projects`` sheet
with a title block above its header row, plus ``CapexSchedule``, ``Fund``, ``Sectors``,
``Budget``, ``Investors``, ``Rules`` and ``Scenarios``.

Every rule family of ``models/`` is on in the sample and shows at the optimum: start
windows and partial stakes, the yearly budget, sector caps, the average-risk cap, loan to
value and yearly debt limits, investors, the two-nation satisfaction floor, rules,
approvals, the ESG screen and the committee's locks (see the comment above ``FUND``).

Before writing, the script checks its own data (ranges, NPV bands, schedule sums) and
checks that one hand-chosen 0/1 portfolio (``FEASIBLE_PORTFOLIO``) satisfies the equity
(with investors, without debt), yearly budget, sector, risk-screen, approval, ESG, decision
and rule constraints, so the sample is known to be feasible without a solver. The nations'
satisfaction floor is not part of that check: it needs each nation's ideal portfolio, which
only the solver finds (``fundopt run inputs/pipeline.xlsx --verify``).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "pipeline.xlsx"

TITLE = "US–Japan Strategic Investment Fund — candidate pipeline"
SUBTITLE = "Prepared for the investment committee, money in USD bn"

# --------------------------------------------------------------------------------------
# Fund
# --------------------------------------------------------------------------------------
# Every rule family is switched on, and the sample is tuned so that each one shows at the
# optimum (`fundopt run inputs/pipeline.xlsx`): the fund borrows (debt_cost 0.05 against
# projects returning 10-30 % of capex) until the loan-to-value cap binds, the 2027 budget
# and the AI sector cap bind, the average-risk cap of 2.8 binds (the retail fund's own cap,
# so all four investors stay in), and min_nation_satisfaction 0.979 binds for the US (the
# objective falls from 82.38 to 82.20 with it). Large projects with partial stakes absorb
# each binding limit, which keeps every re-solve of the run fast.
FUND = [
    ("currency_unit", "USD bn"),
    ("equity_capital", 300),
    ("us_equity_share", 0.5),
    ("planning_start", 2027),
    ("horizon_years", 10),
    ("discount_rate", 0.06),
    ("max_leverage", 0.5),
    ("debt_cost", 0.05),
    ("max_ltv", 0.6),
    ("max_project_share", 0.12),
    ("max_avg_risk", 2.8),
    ("max_speculative_share", 0.08),
    ("jp_content_min", 0.35),
    ("jp_content_max", 0.65),
    ("min_esg_score", 40),
    ("approval_rule", "both"),
    ("min_nation_satisfaction", 0.979),
    ("alternatives", 3),
    ("min_difference", 1),
    ("explain_limit", 100),
    ("time_limit_s", 60),
    ("mip_gap", 0.0001),
]

# --------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------
PROJECT_COLUMNS = [
    "project_id", "name", "sector", "capex", "npv", "npv_low", "npv_high", "risk",
    "strategic_score", "us_score", "jp_score", "us_approval", "jp_approval", "jp_content",
    "state", "leverage_eligible", "min_stake", "max_stake", "earliest_start",
    "latest_start", "duration", "esg_score", "jobs", "decision", "decision_reason",
    "notes",
]

# Hand-written rows. Fields, in order:
#   id, name, sector, capex, npv, risk, strategic, us_score, jp_score,
#   us_approval, jp_approval, jp_content, state, leverage_eligible,
#   stake (None = all or nothing, else (min_stake, max_stake)),
#   window (None = no window, else (earliest_start, latest_start)),
#   duration, esg, jobs, decision, decision_reason, notes
# capex None means "see CapexSchedule" (filled in from the schedule's row sum).
# npv_low / npv_high are derived below from npv, capex and risk.
AI, REN, G5, SC, MFG, SPC, BIO, QC, DEC = (
    "AI", "Renewable Energy", "5G", "Smart Cities", "Advanced Manufacturing", "Space",
    "Biotech", "Quantum Computing", "Decarbonization",
)
_ = None
PROJECT_ROWS = [
    # ---- AI ------------------------------------------------------------------------
    ("AI-01", "Arizona AI supercompute campus", AI, 36.0, 9.8, 3, 92, 9.1, 7.4,
     "yes", "yes", 0.18, "Arizona", "yes", (0.25, 1), _, 4, 62, 4200,
     "auto", _, "Power purchase agreement with Salt River Project in negotiation"),
    ("AI-02", "Tokyo sovereign LLM training cluster", AI, 12.5, 4.1, 3, 85, 6.8, 9.2,
     "yes", "yes", 0.72, "Tokyo", "yes", _, _, 3, 66, 1500, _, _, _),
    ("AI-03", "Virginia hyperscale data-center corridor", AI, 30.0, 8.6, 2, 78, 8.5, 6.0,
     "yes", "yes", 0.12, "Virginia", "yes", _, _, 3, 48, 3100,
     "exclude", "Sponsor under export-control review; excluded pending the outcome", _),
    ("AI-04", "Texas AI inference edge network", AI, 9.0, 2.7, 3, 70, 8.0, 6.1,
     "yes", "yes", 0.15, "Texas", "yes", _, _, 3, 55, 1300, _, _, _),
    ("AI-05", "Kyushu AI chip design center", AI, 4.5, 1.6, 3, 74, 6.5, 8.7,
     "yes", "yes", 0.80, "Fukuoka", "no", _, _, 2, 71, 900, "auto", _, _),
    ("AI-06", "Joint AI safety and evaluation institute", AI, 1.2, 0.3, 1, 88, 8.2, 8.4,
     "yes", "yes", 0.45, "Maryland", "no", _, _, 2, 82, 350, _, _, _),
    ("AI-07", "Ohio robotics foundation-model lab", AI, 3.8, 0.9, 4, 64, 7.2, 6.6,
     "yes", "yes", 0.25, "Ohio", "no", _, _, 3, 60, 700, _, _, _),
    ("AI-08", "Nagoya autonomous-factory AI platform", AI, 6.2, 2.2, 3, 72, 6.0, 8.8,
     "pending", "yes", 0.85, "Aichi", "no", _, _, 3, 68, 1100, _, _, _),
    ("AI-09", "Oregon liquid-cooled AI campus", AI, 20.0, 3.4, 2, 60, 7.8, 5.9,
     "yes", "yes", 0.10, "Oregon", "yes", _, _, 3, 38, 2200, _, _,
     "ESG screen: water draw on the Columbia basin"),
    ("AI-10", "Osaka sovereign AI cloud region", AI, 14.0, 3.9, 2, 76, 6.6, 8.9,
     "yes", "yes", 0.70, "Osaka", "yes", _, _, 3, 64, 1400, _, _, _),
    # ---- Renewable Energy ---------------------------------------------------------
    ("REN-01", "Hokkaido offshore wind tranche 1", REN, 18.0, 3.9, 3, 86, 6.4, 9.3,
     "yes", "yes", 0.78, "Hokkaido", "no", _, (2027, 2029), 4, 88, 2600, _, _,
     "Lenders want an operating record before the wind farm backs debt"),
    ("REN-02", "Hokkaido–Honshu HVDC grid link", REN, 9.5, 1.1, 2, 80, 6.0, 9.0,
     "yes", "yes", 0.82, "Hokkaido", "yes", _, _, 4, 84, 1200, _, _,
     "Grid connection needed by the Hokkaido wind tranches"),
    ("REN-03", "Hokkaido offshore wind tranche 2", REN, 20.0, 3.3, 3, 70, 6.0, 8.8,
     "yes", "pending", 0.80, "Hokkaido", "yes", _, (2030, 2032), 4, 86, 2400, _, _,
     "-- flagged by audit: cost estimate under review"),
    ("REN-04", "Texas Gulf Coast offshore wind", REN, 24.0, 2.9, 4, 66, 7.4, 6.2,
     "yes", "yes", 0.20, "Texas", "no", (0.25, 1), (2028, 2030), 5, 80, 3000, _, _, _),
    ("REN-05", "Nevada utility-scale solar and storage", REN, 7.5, 2.6, 2, 72, 8.1, 6.5,
     "yes", "yes", 0.22, "Nevada", "no", _, _, 2, 90, 1100, "auto", _, _),
    ("REN-06", "Kyushu geothermal expansion", REN, 3.2, 0.9, 2, 68, 5.8, 8.4,
     "yes", "yes", 0.90, "Oita", "no", _, _, 3, 87, 450, _, _, _),
    ("REN-07", "Midwest transmission backbone (SPP–MISO)", REN, 32.0, 3.8, 2, 82, 8.8, 5.5,
     "yes", "yes", 0.15, "Iowa", "yes", (0.25, 1), _, 5, 78, 5200, _, _, _),
    ("REN-08", "Akita floating wind demonstrator", REN, 2.4, -0.2, 4, 58, 4.9, 8.1,
     "yes", "yes", 0.88, "Akita", "no", _, _, 2, 85, 300, _, _, _),
    ("REN-09", "Chiba grid-scale battery fleet", REN, 5.6, 1.5, 2, 70, 6.1, 8.3,
     "yes", "yes", 0.70, "Chiba", "yes", _, _, 2, 83, 600, _, _, _),
    # ---- 5G ------------------------------------------------------------------------
    ("5G-01", "Open RAN rural rollout (Mountain West)", G5, 16.0, 2.0, 3, 76, 8.6, 6.9,
     "yes", "yes", 0.35, "Montana", "no", _, _, 4, 70, 2800, _, _, _),
    ("5G-02", "Tokyo–Osaka 5G standalone core", G5, 6.8, 1.9, 2, 74, 6.2, 8.9,
     "yes", "yes", 0.75, "Osaka", "no", _, _, 3, 72, 900, _, _, _),
    ("5G-03", "Trans-Pacific subsea cable (Oregon–Chiba)", G5, 3.6, 1.0, 2, 84, 8.4, 8.6,
     "yes", "yes", 0.50, "Oregon", "yes", _, _, 2, 74, 500,
     "must fund", "Designated a joint national-security priority by both governments", _),
    ("5G-04", "6G research consortium", G5, 1.5, 0.2, 4, 80, 7.5, 7.8,
     "yes", "yes", 0.50, "California", "no", _, _, 3, 76, 400, _, _, _),
    ("5G-05", "Private 5G for West Coast ports", G5, 2.2, 0.6, 2, 62, 7.1, 5.4,
     "no", "yes", 0.40, "California", "yes", _, _, 2, 69, 350, _, _,
     "US declined: port cybersecurity review of the radio vendor"),
    ("5G-06", "Okinawa resilient 5G backbone", G5, 1.8, 0.1, 3, 66, 5.0, 8.0,
     "yes", "yes", 0.90, "Okinawa", "no", _, _, 2, 73, 250, _, _, _),
    # ---- Smart Cities --------------------------------------------------------------
    ("SC-01", "Osaka–Kansai smart port", SC, 12.0, 2.4, 2, 78, 5.8, 9.0,
     "yes", "yes", 0.80, "Osaka", "yes", _, _, 4, 75, 1800, _, _, _),
    ("SC-02", "Detroit connected-mobility district", SC, 4.2, 0.7, 3, 64, 7.6, 5.9,
     "yes", "yes", 0.25, "Michigan", "no", _, _, 3, 70, 800, _, _, _),
    ("SC-03", "Fukuoka digital-twin city platform", SC, 1.6, 0.4, 2, 60, 5.2, 7.8,
     "yes", "yes", 0.85, "Fukuoka", "no", _, _, 2, 78, 200, "auto", _, _),
    ("SC-04", "Phoenix water-smart district", SC, 3.4, 0.6, 2, 70, 7.9, 5.6,
     "yes", "pending", 0.20, "Arizona", "no", _, _, 3, 81, 500, _, _, _),
    ("SC-05", "Sendai resilient microgrid town", SC, 2.1, 0.3, 2, 66, 5.5, 8.2,
     "yes", "yes", 0.85, "Miyagi", "yes", _, _, 2, 84, 300, _, _, _),
    ("SC-06", "Atlanta autonomous transit loop", SC, 5.0, -0.3, 4, 52, 6.8, 5.0,
     "yes", "yes", 0.30, "Georgia", "no", _, _, 3, 66, 700, _, _, _),
    ("SC-07", "Yokohama waterfront smart district", SC, 6.0, 1.2, 3, 62, 5.4, 8.5,
     "yes", "yes", 0.78, "Kanagawa", "yes", _, (2027, 2029), 3, 77, 900, _, _, _),
    ("SC-08", "Tokyo Bay resilient megacity grid", SC, 10.0, 1.6, 3, 72, 5.6, 9.1,
     "yes", "yes", 0.85, "Tokyo", "yes", _, (2028, 2030), 4, 80, 1500, _, _, _),
    # ---- Advanced Manufacturing ----------------------------------------------------
    ("MFG-01", "Ohio advanced-packaging fab", MFG, 26.0, 6.4, 3, 90, 9.2, 7.6,
     "yes", "yes", 0.30, "Ohio", "yes", (0.5, 1), _, 4, 64, 3600, _, _,
     "Competes with MFG-02 for the same anchor tenant"),
    ("MFG-02", "Arizona advanced-packaging fab", MFG, 27.0, 6.0, 3, 88, 9.0, 7.4,
     "yes", "yes", 0.28, "Arizona", "yes", _, (2027, 2028), 4, 61, 3500, _, _, _),
    ("MFG-03", "Kumamoto 2nm logic fab", MFG, None, 8.0, 3, 94, 7.2, 9.6,
     "yes", "yes", 0.65, "Kumamoto", "yes", _, _, 5, 70, 5000,
     "must fund", "Cornerstone of the bilateral semiconductor accord (IC minute 2026-07)", _),
    ("MFG-04", "New York HBM memory fab", MFG, 30.0, 5.5, 4, 84, 8.8, 7.0,
     "yes", "yes", 0.25, "New York", "yes", (0.25, 1), _, 4, 63, 4000, _, _,
     "Memory-price cycle: risk 4"),
    ("MFG-05", "Tennessee EV battery gigafactory", MFG, 7.8, 1.6, 2, 70, 8.0, 7.2,
     "yes", "yes", 0.45, "Tennessee", "yes", _, _, 3, 67, 2500, _, _, _),
    ("MFG-06", "Aichi hydrogen fuel-cell truck line", MFG, 3.0, 0.5, 3, 64, 6.0, 8.4,
     "yes", "yes", 0.85, "Aichi", "no", _, _, 2, 79, 800, _, _, _),
    ("MFG-07", "Texas rare-earth magnet plant", MFG, 2.6, 0.5, 3, 86, 9.0, 8.0,
     "yes", "yes", 0.40, "Texas", "yes", _, _, 2, 52, 600, _, _, _),
    ("MFG-08", "Arizona photoresist and specialty chemicals plant", MFG, 1.4, 0.4, 2, 76,
     8.2, 8.5, "yes", "yes", 0.70, "Arizona", "yes", _, _, 2, 58, 300, _, _, _),
    ("MFG-09", "Philadelphia shipyard modernization", MFG, 9.0, 0.8, 3, 80, 8.5, 7.9,
     "yes", "yes", 0.50, "Pennsylvania", "yes", _, _, 4, 60, 3000, _, _, _),
    ("MFG-10", "Georgia EV and battery-materials campus", MFG, 15.0, 2.8, 3, 72, 8.1, 7.7,
     "yes", "yes", 0.55, "Georgia", "yes", _, (2028, 2030), 4, 62, 4100, _, _, _),
    # ---- Space ---------------------------------------------------------------------
    ("SPC-01", "Texas Gulf commercial launch site", SPC, 3.5, 0.6, 4, 72, 8.0, 6.2,
     "yes", "yes", 0.20, "Texas", "no", _, _, 3, 58, 700, _, _, _),
    ("SPC-02", "Florida heavy-lift launch complex", SPC, 5.0, 1.0, 4, 74, 8.3, 6.0,
     "yes", "yes", 0.15, "Florida", "no", _, _, 3, 56, 900, _, _, _),
    ("SPC-03", "Hokkaido Spaceport launch site (Taiki)", SPC, 1.8, 0.2, 4, 68, 5.5, 8.6,
     "yes", "yes", 0.85, "Hokkaido", "no", _, _, 2, 74, 300, _, _, _),
    ("SPC-04", "Joint lunar logistics lander program", SPC, 6.5, -0.5, 5, 70, 7.4, 7.9,
     "", "yes", 0.45, "Alabama", "no", _, _, 4, 65, 1200, _, _,
     "US sign-off not yet requested"),
    ("SPC-05", "LEO optical-relay constellation", SPC, 16.0, 3.4, 4, 76, 8.0, 7.5,
     "yes", "yes", 0.40, "Colorado", "no", (0.25, 1), (2027, 2029), 3, 67, 800, _, _, _),
    ("SPC-06", "In-orbit servicing demonstrator", SPC, 1.2, 0.1, 5, 60, 6.5, 7.6,
     "yes", "yes", 0.55, "Ibaraki", "no", _, _, 2, 72, 150, _, _, _),
    # ---- Biotech -------------------------------------------------------------------
    ("BIO-01", "mRNA vaccine surge-capacity plant", BIO, 2.8, 0.8, 2, 84, 8.2, 8.0,
     "yes", "yes", 0.40, "North Carolina", "no", _, _, 2, 80, 900, _, _, _),
    ("BIO-02", "Kobe iPS cell-therapy manufacturing hub", BIO, 1.9, 0.5, 4, 78, 6.0, 9.1,
     "yes", "yes", 0.85, "Hyogo", "no", _, _, 3, 83, 400, _, _, _),
    ("BIO-03", "Boston–Tokyo biologics CDMO", BIO, 4.5, 1.3, 3, 72, 7.6, 7.8,
     "yes", "yes", 0.45, "Massachusetts", "no", _, _, 3, 76, 1100, _, _, _),
    ("BIO-04", "Precision-fermentation bioindustrial park", BIO, 2.2, 0.3, 3, 62, 7.0, 6.6,
     "yes", "pending", 0.30, "Iowa", "no", _, _, 2, 77, 500, _, _, _),
    ("BIO-05", "Active pharmaceutical ingredient onshoring", BIO, 3.6, 0.7, 2, 80, 8.7, 7.2,
     "yes", "yes", 0.30, "Indiana", "no", _, _, 3, 71, 1000, _, _, _),
    ("BIO-06", "Genomic medicine data commons", BIO, 0.8, 0.15, 2, 66, 7.2, 7.5,
     "yes", "yes", 0.50, "Maryland", "no", _, _, 2, 85, 120, _, _, _),
    ("BIO-07", "Gene-edited crop platform", BIO, 1.5, -0.1, 4, 48, 6.3, 5.2,
     "yes", "no", 0.35, "Missouri", "no", _, _, 2, 62, 250, _, _,
     "Japan declined: regulatory status of gene-edited food imports"),
    # ---- Quantum Computing ---------------------------------------------------------
    ("QC-01", "Quantum error-correction testbed", QC, 1.8, 0.4, 5, 90, 8.4, 8.6,
     "yes", "yes", 0.50, "Colorado", "no", _, _, 3, 79, 250, _, _, _),
    ("QC-02", "Tsukuba superconducting quantum fab", QC, 2.5, 0.3, 5, 82, 6.6, 9.2,
     "yes", "yes", 0.85, "Ibaraki", "no", _, _, 3, 78, 300, _, _, _),
    ("QC-03", "Chicago quantum network backbone", QC, 1.2, 0.1, 4, 74, 8.0, 6.8,
     "yes", "yes", 0.30, "Illinois", "no", _, _, 2, 81, 150, _, _, _),
    ("QC-04", "Photonic quantum computer scale-up", QC, 3.8, 0.7, 5, 70, 7.6, 7.0,
     "pending", "yes", 0.40, "California", "no", _, _, 3, 77, 400, _, _, _),
    ("QC-05", "Quantum cryogenics supply chain", QC, 0.9, 0.2, 4, 72, 7.4, 8.0,
     "yes", "yes", 0.60, "Kanagawa", "no", _, _, 2, 75, 200, _, _, _),
    ("QC-06", "Post-quantum cryptography migration program", QC, 0.6, 0.1, 2, 86, 8.8, 8.7,
     "yes", "yes", 0.40, "Virginia", "no", _, _, 2, 88, 180, "auto", _, _),
    # ---- Decarbonization -----------------------------------------------------------
    ("DEC-01", "Texas small modular reactor", DEC, 18.0, 2.6, 4, 84, 8.6, 8.2,
     "yes", "yes", 0.45, "Texas", "no", (0.5, 1), (2029, 2031), 5, 73, 2200, _, _,
     "First-of-a-kind reactor: lenders will not take it as collateral"),
    ("DEC-02", "Aichi hydrogen refuelling corridor", DEC, 2.4, 0.2, 3, 66, 5.6, 8.4,
     "yes", "yes", 0.90, "Aichi", "yes", _, _, 2, 82, 400, _, _,
     "Only useful together with MFG-06"),
    ("DEC-03", "Louisiana blue-ammonia export terminal", DEC, 11.0, 2.6, 3, 68, 7.8, 8.0,
     "yes", "yes", 0.55, "Louisiana", "yes", _, _, 3, 45, 1300,
     "exclude", "=Offtake agreement withdrawn by the anchor buyer (IC minute 2026-11)", _),
    ("DEC-04", "Wyoming direct-air-capture hub", DEC, 4.5, -0.4, 5, 58, 7.0, 5.8,
     "yes", "yes", 0.25, "Wyoming", "no", _, _, 3, 74, 600, _, _, _),
    ("DEC-05", "Hekinan ammonia co-firing retrofit", DEC, 1.8, 0.3, 3, 60, 4.8, 7.9,
     "yes", "", 0.90, "Aichi", "yes", _, _, 2, 35, 200, _, _,
     "ESG screen: extends coal plant life"),
    ("DEC-06", "Gulf Coast CCS pipeline network", DEC, 6.5, 1.1, 3, 70, 7.8, 6.4,
     "yes", "yes", 0.30, "Texas", "yes", _, _, 3, 68, 900, _, _, _),
    ("DEC-07", "Minnesota green-steel DRI plant", DEC, 5.5, 0.8, 3, 74, 7.6, 8.1,
     "yes", "yes", 0.60, "Minnesota", "no", _, (2027, 2029), 3, 76, 1400, _, _, _),
    ("DEC-08", "Kawasaki liquefied-hydrogen import terminal", DEC, 4.0, 0.4, 4, 72, 5.5,
     8.8, "yes", "yes", 0.80, "Kanagawa", "yes", _, _, 3, 70, 500, _, _, _),
    ("DEC-09", "Pacific Northwest sustainable aviation fuel refinery", DEC, 3.0, 0.6, 3, 64,
     7.4, 6.9, "yes", "yes", 0.40, "Washington", "no", _, _, 2, 75, 450, _, _, _),
    ("DEC-10", "Alaska LNG export with carbon capture", DEC, 38.0, 4.6, 4, 66, 8.0, 8.3,
     "yes", "no", 0.40, "Alaska", "yes", (0.25, 1), (2028, 2030), 5, 42, 6000, _, _,
     "Japan: awaiting METI review of offtake volumes"),
    # ---- Added at the autumn pipeline review (kept at the end of the sheet) ------------
    ("REN-10", "Gulf of Maine floating wind", REN, 14.0, 2.2, 3, 70, 7.6, 7.0,
     "yes", "yes", 0.55, "Maine", "no", (0.5, 1), (2030, 2032), 4, 86, 1800, _, _, _),
    ("5G-07", "Guam–Okinawa subsea cable extension", G5, 5.0, 1.0, 2, 78, 8.0, 8.2,
     "yes", "yes", 0.60, "Guam", "yes", _, (2030, 2032), 2, 74, 300, _, _, _),
    ("DEC-11", "Trans-Pacific clean-ammonia carrier fleet", DEC, 9.0, 1.5, 3, 68, 6.8, 8.6,
     "yes", "yes", 0.75, "Nagasaki", "no", _, (2029, 2031), 3, 72, 1100, _, _, _),
    ("SC-09", "Houston–Nagoya smart-logistics corridor", SC, 7.0, 1.1, 3, 64, 7.4, 7.6,
     "yes", "yes", 0.50, "Texas", "yes", _, (2030, 2032), 3, 70, 900, _, _,
     "Flagged leverage-eligible, but Smart Cities may not back debt (Sectors)"),
    ("MFG-11", "US–Japan critical-minerals strategic stockpile", MFG, 12.0, 1.4, 2, 80, 8.4,
     8.2, "yes", "yes", 0.50, "Nevada", "no", (0.25, 1), _, 1, 70, 150, _, _,
     "One-off purchase in the first year; the fund may take 25-100 %"),
    ("BIO-08", "Pandemic-preparedness vaccine reserve network", BIO, 25.0, 1.5, 3, 76, 6.0,
     6.0, "yes", "yes", 0.45, "Maryland", "no", (0.25, 1), (2029, 2029), 3, 82, 1100, _, _,
     "Warm-base capacity: a low return, so the fund sizes its stake (25-100 %) last"),
]

# CapexSchedule: project_id -> capex in Y1..Yk (multiples of 0.25, so sums are exact).
CAPEX_SCHEDULE = {
    "AI-01": [6.0, 10.0, 12.0, 8.0],
    "REN-01": [2.5, 5.0, 6.5, 4.0],
    "REN-07": [3.0, 5.0, 8.0, 8.0, 8.0],
    "MFG-01": [4.0, 8.0, 9.0, 5.0],
    "MFG-02": [4.5, 8.5, 9.0, 5.0],
    "MFG-03": [4.5, 7.5, 10.0, 10.0, 8.0],
    "MFG-04": [5.0, 9.0, 10.0, 6.0],
    "5G-01": [2.75, 4.25, 5.0, 4.0],
    "SC-01": [1.5, 3.0, 4.25, 3.25],
    "DEC-01": [1.5, 3.0, 4.5, 5.0, 4.0],
    "DEC-10": [3.0, 6.5, 9.5, 11.0, 8.0],
}

# --------------------------------------------------------------------------------------
# Sectors, Budget, Investors, Rules, Scenarios
# --------------------------------------------------------------------------------------
SECTOR_COLUMNS = ["sector", "min_share", "max_share", "min_projects", "max_projects",
                  "speculative", "leverage_allowed"]
# Lenders take only network infrastructure (grids, cables, pipelines) as collateral: AI,
# Advanced Manufacturing and Smart Cities may not back debt whatever the project's flag says.
# The AI cap of 16 % binds: the Arizona campus (AI-01) is taken at a partial stake.
SECTORS = [
    (AI, 0.05, 0.16, 1, 8, "no", "no"),
    (REN, 0.10, 0.35, 2, 10, "no", "yes"),
    (G5, _, 0.15, 1, _, "no", "yes"),
    (SC, _, 0.15, _, 8, "no", "no"),
    (MFG, 0.10, 0.35, 1, 10, "no", "no"),
    (SPC, _, 0.10, _, _, "yes", "no"),
    (BIO, _, 0.10, 1, _, "no", "no"),
    (QC, _, 0.05, 1, _, "yes", "no"),
    (DEC, 0.05, 0.25, 1, 8, "no", "yes"),
]

BUDGET_COLUMNS = ["year", "capital_limit", "debt_limit"]
# Tight in the first year: most projects have no start window and so start in 2027, and
# they want more than 80 bn that year; the cap binds and the one-year stockpile (MFG-11)
# is taken at a partial stake. Debt may be drawn up to 30 bn a year.
BUDGET = [(2027, 80, 30), (2028, 120, 30)] + [(y, 120, 30) for y in range(2029, 2037)]

INVESTOR_COLUMNS = ["investor", "type", "nation", "min_commitment", "max_commitment",
                    "required_return", "max_avg_risk"]
INVESTORS = [
    ("Japan public pension reserve", "institutional", "JP", 0, 40, 0.03, 3.2),
    ("US state teachers' pension pool", "institutional", "US", 0, 30, 0.035, 3.0),
    ("US retail infrastructure fund", "retail", "US", 0, 10, 0.04, 2.8),
    ("Japan development bank co-investment", "government", "JP", 0, 20, 0.02, _),
]

RULE_COLUMNS = ["rule", "projects", "k"]
RULES = [
    ("requires", "REN-01, REN-02", _),          # wind tranche 1 needs the HVDC grid link
    ("requires", "REN-03, REN-01, REN-02", _),  # tranche 2 builds on tranche 1 and the link
    ("excludes", "MFG-01, MFG-02", _),          # two competing packaging-fab sites
    ("at_most", "SPC-01, SPC-02, SPC-03", 2),   # at most two of the three launch sites
    ("at_least", "QC-01, QC-02, QC-05", 1),     # the joint quantum programme needs a hub
    ("together", "MFG-06, DEC-02", _),          # fuel-cell trucks and their refuelling corridor
]

SCENARIO_COLUMNS = ["scenario", "equity_capital", "max_leverage", "us_equity_share",
                    "npv_scale:Quantum Computing", "sector:Space:max_share"]
SCENARIOS = [
    ("base", 300, 0.5, 0.5, 1.0, 0.10),
    ("Leverage capped at 0.3", 300, 0.3, 0.5, 1.0, 0.10),
    ("Quantum NPVs halve", 300, 0.5, 0.5, 0.5, 0.10),
    ("Japan share 40%", 300, 0.5, 0.6, 1.0, 0.10),
]

# --------------------------------------------------------------------------------------
# A hand-chosen feasible 0/1 portfolio: project_id -> start year (stake 1 for all). It is
# funded by government equity plus every investor at its maximum (400 bn) and draws no
# debt; 399.9 bn committed, average risk 2.80.
# --------------------------------------------------------------------------------------
FEASIBLE_PORTFOLIO = {
    # AI (63.7, under the 16 % cap)
    "AI-01": 2027, "AI-02": 2027, "AI-06": 2027, "AI-10": 2027,
    # Renewable Energy (89.8): wind tranche 1 with its grid link; Maine wind from 2030
    "REN-01": 2027, "REN-02": 2027, "REN-05": 2027, "REN-06": 2027, "REN-07": 2027,
    "REN-09": 2027, "REN-10": 2030,
    # 5G (15.4): the must-fund subsea cable and its Guam–Okinawa extension
    "5G-02": 2027, "5G-03": 2027, "5G-07": 2030,
    # Smart Cities (38.7)
    "SC-01": 2027, "SC-03": 2027, "SC-05": 2027, "SC-07": 2028, "SC-08": 2028,
    "SC-09": 2030,
    # Advanced Manufacturing (132.2): the must-fund Kumamoto fab, Ohio (not Arizona)
    "MFG-01": 2027, "MFG-03": 2027, "MFG-04": 2027, "MFG-05": 2027, "MFG-08": 2027,
    "MFG-10": 2028, "MFG-11": 2027,
    # Space (21.0), Biotech (13.6), Quantum Computing (1.5)
    "SPC-02": 2027, "SPC-05": 2028,
    "BIO-01": 2027, "BIO-02": 2027, "BIO-03": 2027, "BIO-05": 2027, "BIO-06": 2027,
    "QC-05": 2027, "QC-06": 2027,
    # Decarbonization (24.0)
    "DEC-06": 2027, "DEC-07": 2028, "DEC-09": 2027, "DEC-11": 2029,
}


# ======================================================================================
# Building the tables
# ======================================================================================
def _r2(x: float) -> float:
    return round(x + 0.0, 2)


def build_projects() -> list[dict]:
    """Turn PROJECT_ROWS into dicts keyed by PROJECT_COLUMNS (None = blank cell)."""
    projects = []
    for row in PROJECT_ROWS:
        (pid, name, sector, capex, npv, risk, strategic, us_s, jp_s, us_a, jp_a, jpc,
         state, lev, stake, window, duration, esg, jobs, decision, reason, notes) = row
        if pid in CAPEX_SCHEDULE:
            sched_total = sum(CAPEX_SCHEDULE[pid])
            if capex is not None and capex != sched_total:
                raise ValueError(f"{pid}: capex {capex} != schedule sum {sched_total}")
            capex = sched_total
            duration = len(CAPEX_SCHEDULE[pid])
        # Uncertainty band widens with risk: 5% of capex plus 4% per risk point, skewed
        # so the downside is a little larger than the upside.
        spread = capex * (0.05 + 0.04 * risk)
        npv_low = _r2(npv - 1.2 * spread)
        npv_high = _r2(npv + spread)
        min_stake, max_stake = stake if stake else (None, None)
        earliest, latest = window if window else (None, None)
        projects.append({
            "project_id": pid, "name": name, "sector": sector, "capex": capex,
            "npv": npv, "npv_low": npv_low, "npv_high": npv_high, "risk": risk,
            "strategic_score": strategic, "us_score": us_s, "jp_score": jp_s,
            "us_approval": us_a or None, "jp_approval": jp_a or None, "jp_content": jpc,
            "state": state, "leverage_eligible": lev, "min_stake": min_stake,
            "max_stake": max_stake, "earliest_start": earliest, "latest_start": latest,
            "duration": duration, "esg_score": esg, "jobs": jobs, "decision": decision,
            "decision_reason": reason, "notes": notes,
        })
    return projects


# ======================================================================================
# Self-checks (pure Python, no solver)
# ======================================================================================
def check_data(projects: list[dict]) -> None:
    """Assert the sample data obeys the ranges the brief and SPEC section 1 ask for."""
    ids = [p["project_id"] for p in projects]
    assert len(ids) == len(set(ids)), "duplicate project_id"
    assert len(projects) >= 64, len(projects)
    sector_names = [s[0] for s in SECTORS]
    counts = defaultdict(int)
    for p in projects:
        pid = p["project_id"]
        counts[p["sector"]] += 1
        assert p["sector"] in sector_names, pid
        assert 0.5 <= p["capex"] <= 40, pid
        ratio = p["npv"] / p["capex"]
        assert -0.1 <= ratio <= 0.6, (pid, ratio)
        assert p["npv_low"] < p["npv"] < p["npv_high"], pid
        assert p["risk"] in (1, 2, 3, 4, 5), pid
        assert 0 <= p["strategic_score"] <= 100, pid
        assert 0 <= p["us_score"] <= 10 and 0 <= p["jp_score"] <= 10, pid
        for col in ("us_approval", "jp_approval"):
            assert p[col] in (None, "yes", "no", "pending"), pid
        assert 0 <= p["jp_content"] <= 1, pid
        assert p["leverage_eligible"] in ("yes", "no"), pid
        if p["min_stake"] is not None:
            assert 0 < p["min_stake"] <= p["max_stake"] <= 1, pid
        if p["earliest_start"] is not None:
            assert 2027 <= p["earliest_start"] <= p["latest_start"], pid
            assert p["latest_start"] + p["duration"] - 1 <= 2036, pid
        assert 1 <= p["duration"] <= 5, pid
        assert 30 <= p["esg_score"] <= 95, pid
        assert p["decision"] in (None, "auto", "must fund", "exclude"), pid
        if p["decision"] in ("must fund", "exclude"):
            assert p["decision_reason"], pid
        if p["decision"] == "must fund":
            assert p["us_approval"] == p["jp_approval"] == "yes", pid
            assert p["esg_score"] >= 40, pid
    assert set(counts) == set(sector_names), counts
    assert all(n >= 5 for n in counts.values()), counts
    for pid, row in CAPEX_SCHEDULE.items():
        assert pid in ids, pid
        assert all(round(v, 2) == v and v >= 0 for v in row), pid
    total = sum(p["capex"] for p in projects)
    equity = dict(FUND)["equity_capital"]
    assert 2.0 * equity <= total <= 2.5 * equity, total


def spending_by_year(p: dict, start: int, stake: float = 1.0) -> dict[int, float]:
    """Spending of project p starting in `start`: its schedule, or capex/duration a year."""
    if p["project_id"] in CAPEX_SCHEDULE:
        row = CAPEX_SCHEDULE[p["project_id"]]
    else:
        row = [p["capex"] / p["duration"]] * p["duration"]
    return {start + k: stake * v for k, v in enumerate(row)}


def check_portfolio(projects: list[dict], portfolio: dict[str, int]) -> dict:
    """Check that `portfolio` (project_id -> start year, stake 1) obeys the hard rules.

    Rules checked: approvals (approval_rule both), ESG screen, committee decisions,
    start windows, total commitments <= equity_capital + the investors whose risk appetite
    the portfolio meets (at their max_commitment; no debt), yearly spending <= Budget
    capital_limit, sector min/max shares and counts, every Rules row, and the Fund's risk
    screens: max_avg_risk, max_project_share, max_speculative_share, jp_content_min/max.
    Not checked: min_nation_satisfaction, whose ideal portfolios need a solver (run
    `fundopt run inputs/pipeline.xlsx --verify` for that), and the leverage rules, which
    a portfolio without debt cannot break.
    Returns a small summary; raises AssertionError naming the first broken rule.
    """
    fund = dict(FUND)
    by_id = {p["project_id"]: p for p in projects}
    start_year = fund["planning_start"]
    chosen = set(portfolio)
    assert chosen <= set(by_id), chosen - set(by_id)

    committed = {pid: by_id[pid]["capex"] for pid in chosen}
    total = sum(committed.values())
    avg_risk = sum(committed[pid] * by_id[pid]["risk"] for pid in chosen) / total
    investors = [(name, mx) for name, _t, _n, _mn, mx, _rr, cap in INVESTORS
                 if cap is None or avg_risk <= cap + 1e-9]
    equity = fund["equity_capital"] + sum(mx for _name, mx in investors)
    assert total <= equity + 1e-9, f"total {total} > equity {equity}"

    for pid in chosen:
        p = by_id[pid]
        assert p["us_approval"] == "yes" and p["jp_approval"] == "yes", f"{pid} approval"
        assert p["esg_score"] >= fund["min_esg_score"], f"{pid} ESG"
        assert p["decision"] != "exclude", f"{pid} excluded"
        assert p["min_stake"] is None or p["max_stake"] == 1, f"{pid} stake"
        t = portfolio[pid]
        lo = p["earliest_start"] or start_year
        hi = p["latest_start"] or start_year
        assert lo <= t <= hi, f"{pid} start {t} outside {lo}-{hi}"
        share = committed[pid] / total
        assert share <= fund["max_project_share"] + 1e-9, f"{pid} share {share:.3f}"
    for p in projects:
        if p["decision"] == "must fund":
            assert p["project_id"] in chosen, f"must fund {p['project_id']} missing"

    assert avg_risk <= fund["max_avg_risk"] + 1e-9, f"average risk {avg_risk:.3f}"
    jp_content = sum(committed[pid] * by_id[pid]["jp_content"] for pid in chosen) / total
    assert fund["jp_content_min"] - 1e-9 <= jp_content <= fund["jp_content_max"] + 1e-9, (
        f"Japanese content {jp_content:.3f}")
    speculative = {s for s, *_rest, spec, _lev in SECTORS if spec == "yes"}
    spec_total = sum(committed[pid] for pid in chosen if by_id[pid]["sector"] in speculative)
    spec_share = spec_total / total
    assert spec_share <= fund["max_speculative_share"] + 1e-9, f"speculative {spec_share:.3f}"

    spend: dict[int, float] = defaultdict(float)
    for pid in sorted(chosen):  # a fixed order, so the printed sums never differ by rounding
        for y, v in spending_by_year(by_id[pid], portfolio[pid]).items():
            spend[y] += v
    limits = {y: cap for y, cap, _debt in BUDGET}
    for y, v in spend.items():
        assert y in limits, f"spending in {y} outside the budget years"
        assert v <= limits[y] + 1e-9, f"{y}: spend {v:.2f} > {limits[y]}"

    by_sector: dict[str, float] = defaultdict(float)
    n_sector: dict[str, int] = defaultdict(int)
    for pid in chosen:
        by_sector[by_id[pid]["sector"]] += committed[pid]
        n_sector[by_id[pid]["sector"]] += 1
    for s, mn, mx, nmin, nmax, _spec, _lev in SECTORS:
        share = by_sector[s] / total
        if mn is not None:
            assert share >= mn - 1e-9, f"{s} share {share:.3f} < {mn}"
        if mx is not None:
            assert share <= mx + 1e-9, f"{s} share {share:.3f} > {mx}"
        if nmin is not None:
            assert n_sector[s] >= nmin, f"{s} count {n_sector[s]} < {nmin}"
        if nmax is not None:
            assert n_sector[s] <= nmax, f"{s} count {n_sector[s]} > {nmax}"

    for rule, ids_text, k in RULES:
        ids = [x.strip() for x in ids_text.split(",")]
        n_in = sum(i in chosen for i in ids)
        if rule == "requires":
            assert ids[0] not in chosen or all(i in chosen for i in ids[1:]), ids_text
        elif rule == "excludes":
            assert n_in <= 1, ids_text
        elif rule == "at_most":
            assert n_in <= k, ids_text
        elif rule == "at_least":
            assert n_in >= k, ids_text
        elif rule == "together":
            assert n_in in (0, len(ids)), ids_text
        else:
            raise AssertionError(f"unknown rule {rule}")

    return {
        "projects": len(chosen),
        "committed": round(total, 2),
        "npv": round(sum(by_id[p]["npv"] for p in chosen), 2),
        "equity": equity,
        "avg_risk": round(avg_risk, 3),
        "jp_content": round(jp_content, 3),
        "speculative_share": round(spec_share, 3),
        "spend": {y: round(spend[y], 2) for y in sorted(spend)},
        "sector_share": {s: round(by_sector[s] / total, 3) for s, *_ in SECTORS},
    }


# ======================================================================================
# Writing the workbook
# ======================================================================================
def _write_cell(ws, r: int, c: int, value, fmt=None) -> None:
    """Numbers as numbers, text always as text (so '=...' or '-- ...' never becomes a
    formula), None as an empty (but formatted) cell."""
    if value is None or value == "":
        ws.write_blank(r, c, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(r, c, "yes" if value else "no", fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def _write_table(ws, header_row: int, columns: list[str], rows: list, header_fmt,
                 widths: dict[str, int] | None = None, formats: dict | None = None) -> None:
    widths = widths or {}
    formats = formats or {}
    for c, col in enumerate(columns):
        ws.write_string(header_row, c, col, header_fmt)
        ws.set_column(c, c, widths.get(col, max(12, len(col) + 2)))
    for r, row in enumerate(rows, start=header_row + 1):
        values = [row.get(col) for col in columns] if isinstance(row, dict) else list(row)
        for c, col in enumerate(columns):
            _write_cell(ws, r, c, values[c] if c < len(values) else None, formats.get(col))
    ws.freeze_panes(header_row + 1, 1)


def write_workbook(path: Path, projects: list[dict]) -> None:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({
        "title": TITLE,
        "subject": "Sample candidate pipeline for fundopt",
        "comments": "Generated by inputs/make_sample.py; money in USD bn",
        "created": datetime(2026, 1, 5),  # fixed, so every run writes the same bytes
    })
    header = wb.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF",
                            "border": 1, "text_wrap": True, "valign": "top"})
    title = wb.add_format({"bold": True, "font_size": 14})
    subtitle = wb.add_format({"italic": True, "font_color": "#595959"})
    money = wb.add_format({"num_format": "#,##0.00"})
    share = wb.add_format({"num_format": "0.00"})
    pct = wb.add_format({"num_format": "0%"})
    one_dec = wb.add_format({"num_format": "0.0"})
    integer = wb.add_format({"num_format": "#,##0"})
    year = wb.add_format({"num_format": "0"})

    # ---- Projects (title block, blank row, header on row 4) -------------------------
    ws = wb.add_worksheet("Projects")
    ws.write_string(0, 0, TITLE, title)
    ws.write_string(1, 0, SUBTITLE, subtitle)
    header_row = 3
    widths = {"project_id": 11, "name": 44, "sector": 22, "state": 15,
              "decision": 11, "decision_reason": 60, "notes": 52}
    formats = {"capex": money, "npv": money, "npv_low": money, "npv_high": money,
               "us_score": one_dec, "jp_score": one_dec, "jp_content": share,
               "min_stake": share, "max_stake": share, "earliest_start": year,
               "latest_start": year, "jobs": integer}
    _write_table(ws, header_row, PROJECT_COLUMNS, projects, header, widths, formats)
    ws.set_row(header_row, 30)
    last = header_row + len(projects)
    col = PROJECT_COLUMNS.index
    yes_no = {"validate": "list", "source": ["yes", "no"]}
    approval = {"validate": "list", "source": ["yes", "no", "pending"]}
    decision = {"validate": "list", "source": ["auto", "must fund", "exclude"]}
    for name, rule in (("us_approval", approval), ("jp_approval", approval),
                       ("leverage_eligible", yes_no), ("decision", decision)):
        ws.data_validation(header_row + 1, col(name), last, col(name), rule)
    ws.autofilter(header_row, 0, last, len(PROJECT_COLUMNS) - 1)
    ws.freeze_panes(header_row + 1, 2)

    # ---- CapexSchedule ---------------------------------------------------------------
    ws = wb.add_worksheet("CapexSchedule")
    width = max(len(v) for v in CAPEX_SCHEDULE.values())
    cols = ["project_id"] + [f"Y{k}" for k in range(1, width + 1)]
    rows = [[pid] + vals + [None] * (width - len(vals)) for pid, vals in CAPEX_SCHEDULE.items()]
    _write_table(ws, 0, cols, rows, header, {"project_id": 12},
                 {c: money for c in cols[1:]})

    # ---- Fund ------------------------------------------------------------------------
    ws = wb.add_worksheet("Fund")
    _write_table(ws, 0, ["parameter", "value"], FUND, header,
                 {"parameter": 22, "value": 12})

    # ---- Sectors ---------------------------------------------------------------------
    ws = wb.add_worksheet("Sectors")
    _write_table(ws, 0, SECTOR_COLUMNS, SECTORS, header, {"sector": 24},
                 {"min_share": pct, "max_share": pct})

    # ---- Budget ----------------------------------------------------------------------
    ws = wb.add_worksheet("Budget")
    _write_table(ws, 0, BUDGET_COLUMNS, BUDGET, header, {"year": 8},
                 {"capital_limit": money, "debt_limit": money, "year": year})

    # ---- Investors -------------------------------------------------------------------
    ws = wb.add_worksheet("Investors")
    _write_table(ws, 0, INVESTOR_COLUMNS, INVESTORS, header, {"investor": 38},
                 {"min_commitment": money, "max_commitment": money})

    # ---- Rules -----------------------------------------------------------------------
    ws = wb.add_worksheet("Rules")
    _write_table(ws, 0, RULE_COLUMNS, RULES, header, {"projects": 30, "k": 6})
    ws.data_validation(1, 0, 200, 0, {"validate": "list", "source":
                                      ["requires", "excludes", "at_most", "at_least",
                                       "together"]})

    # ---- Scenarios -------------------------------------------------------------------
    ws = wb.add_worksheet("Scenarios")
    _write_table(ws, 0, SCENARIO_COLUMNS, SCENARIOS, header,
                 {"scenario": 26, "npv_scale:Quantum Computing": 27,
                  "sector:Space:max_share": 23})

    wb.close()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    projects = build_projects()
    check_data(projects)
    summary = check_portfolio(projects, FEASIBLE_PORTFOLIO)
    write_workbook(out, projects)
    total = sum(p["capex"] for p in projects)
    print(f"wrote {out}: {len(projects)} projects, total capex {total:.2f} USD bn")
    print(f"feasible portfolio checked: {summary['projects']} projects, committed "
          f"{summary['committed']} of {summary['equity']} equity, NPV {summary['npv']}, "
          f"average risk {summary['avg_risk']}, Japanese content {summary['jp_content']}, "
          f"speculative share {summary['speculative_share']}")
    print(f"  spend by year: {summary['spend']}")
    print(f"  sector shares: {summary['sector_share']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
