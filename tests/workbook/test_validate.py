"""Every check of optimizer/workbook/validate.py, each with the exact located problem it reports.

A problem is (sheet title, Excel row — 1-based, header row counted, column header as typed,
the value found, message). ``make_workbook`` puts the Projects header on row 1 (so the first
project is row 2) and writes Fund as parameter/value with ``planning_start = 2027`` on row 2,
then the given parameters from row 3 on, in order.

Checks covered (validate.py, top to bottom):
  cell coercion on every sheet (bad value; blank required value); required column missing;
  Fund: value without a parameter name, unknown parameter (did-you-mean), parameter twice,
  bad values, objective_weights syntax / term / weight / empty, jp_content_min > max,
  weighted objective without weights;
  CapexSchedule: bad column name, blank project_id, bad or negative amount, second row for a
  project, sum 0, project not on Projects; capex blank with a schedule is fine;
  Projects: no sheet, header but no rows, duplicate id, capex missing (no schedule),
  min_stake > max_stake, max_stake 0, earliest > latest start, start outside the horizon,
  npv_low > npv, npv_high < npv;
  Sectors: duplicate, min_share > max_share, min_projects > max_projects;
  Budget: duplicate year; Investors: duplicate, min > max commitment;
  Rules: unknown project, member twice, too few projects, k missing, at_least k > n;
  Scenarios: npv_scale / sector:<name> of a sector no project uses, unknown Sectors column,
  unknown column (did-you-mean), blank name, duplicate, bad Fund / npv_scale / Sectors value;
  cross-sheet: project sector not on Sectors (did-you-mean);
  reader-level: no header row, column twice, second Projects sheet (see test_reader.py too).
Not testable in reasonable time: the reader's "more than 1,100,000 rows" guard.
Unreachable: "the Fund sheet needs the columns parameter and value" (a Fund header is only
recognized when it holds both; otherwise columns A/B are read as parameter/value).
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
import xlsxwriter
from helpers import make_workbook, write_sheet

from optimizer.data import Problem
from optimizer.errors import InputError
from optimizer.workbook.validate import parse_weights, read_pipeline, validate_path

HEADER = ["project_id", "name", "sector", "capex", "npv"]


def project(pid="P1", **kw):
    return {"project_id": pid, "name": f"Project {pid}", "sector": "Energy", "capex": 10, "npv": 5, **kw}


def problems_of(tmp_path, projects=None, **kw) -> list[Problem]:
    path = make_workbook(tmp_path / "pipeline.xlsx", projects if projects is not None else [project()], **kw)
    return validate_path(path)


def one(tmp_path, projects=None, **kw) -> Problem:
    problems = problems_of(tmp_path, projects, **kw)
    assert len(problems) == 1, problems
    return problems[0]


def write(path, sheets: dict[str, tuple[list | None, list]]):
    """A workbook of raw sheets: title -> (header, rows)."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    for title, (header, rows) in sheets.items():
        write_sheet(wb, title, header, rows)
    wb.close()
    return path


def set_cells(path, sheet: str, cells: dict[str, object]):
    """Overwrite cells with openpyxl: dates get a real date format, "#DIV/0!" becomes an error cell."""
    wb = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)
    return path


PROJECTS_OK = (HEADER, [["P1", "a", "Energy", 10, 5], ["P2", "b", "Energy", 10, 5]])


# ============================================================================= good input
def test_a_good_workbook_has_no_problems(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1"), project("P2", sector="Transport")],
                         fund={"equity_capital": 100},
                         sectors=[{"sector": "Energy", "max_share": 0.8}, {"sector": "Transport"}],
                         budget=[{"year": 2027, "capital_limit": 50}],
                         investors=[{"investor": "Pension", "max_commitment": 20}],
                         rules=[{"rule": "excludes", "projects": "P1, P2"}],
                         scenarios=[{"scenario": "base"}, {"scenario": "tight", "equity_capital": 50}])
    assert validate_path(path) == []
    data = read_pipeline(path)
    assert data.ids == ("P1", "P2")
    assert data.fund.equity_capital == 100 and data.fund.planning_start == 2027
    assert data.sheets_present == ("Projects", "Fund", "Sectors", "Budget", "Rules", "Investors", "Scenarios")


def test_read_pipeline_raises_input_error_with_every_problem(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", capex=-1), project("P2", npv="lots")])
    with pytest.raises(InputError) as info:
        read_pipeline(path)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "capex"), (3, "npv")]
    assert str(info.value) == "2 problems in the input"


# ============================================================================= Projects
def test_missing_projects_sheet(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Fund": (["parameter", "value"], [["equity_capital", 100]])})
    assert validate_path(path) == [
        Problem("Projects", None, None, None, "the workbook has no Projects sheet (one row per candidate project)")]


def test_projects_header_without_rows(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": (HEADER, [])})
    assert validate_path(path) == [
        Problem("Projects", 2, None, None, "no projects: the Projects sheet has a header but no rows")]


@pytest.mark.parametrize("missing", ["name", "sector", "npv"])
def test_missing_required_column(tmp_path, missing):
    header = [h for h in HEADER if h != missing]
    rows = [[{"project_id": "P1", "name": "a", "sector": "Energy", "capex": 1, "npv": 2}[h] for h in header]]
    path = write(tmp_path / "p.xlsx", {"Projects": (header, rows)})
    assert validate_path(path) == [
        Problem("Projects", 1, missing, None, f"required column {missing} is missing from the header row")]


def test_missing_capex_column_without_a_schedule(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": (["project_id", "name", "sector", "npv"], [["P1", "a", "E", 2]])})
    assert validate_path(path) == [
        Problem("Projects", 1, "capex", None, "required column capex is missing from the header row")]


def test_missing_capex_column_is_fine_when_every_project_has_a_schedule(tmp_path):
    path = write(tmp_path / "p.xlsx", {
        "Projects": (["project_id", "name", "sector", "npv"], [["P1", "a", "E", 2], ["P2", "b", "E", 3]]),
        "CapexSchedule": (["project_id", "Y1", "Y2"], [["P1", 4, 6], ["P2", 1]]),
    })
    assert validate_path(path) == []
    data = read_pipeline(path)
    assert [(p.capex, p.schedule) for p in data.projects] == [(10.0, (4.0, 6.0)), (1.0, (1.0,))]


def test_missing_capex_column_with_a_schedule_reports_the_unscheduled_projects(tmp_path):
    path = write(tmp_path / "p.xlsx", {
        "Projects": (["project_id", "name", "sector", "npv"], [["P1", "a", "E", 2], ["P2", "b", "E", 3]]),
        "CapexSchedule": (["project_id", "Y1"], [["P1", 4]]),
    })
    assert validate_path(path) == [
        Problem("Projects", 3, "capex", None, "capex is required (or give the project a CapexSchedule row)")]


@pytest.mark.parametrize("column", ["project_id", "name", "sector", "npv"])
def test_blank_required_value(tmp_path, column):
    p = one(tmp_path, [project("P1"), project("P2", **{column: None})])
    assert p == Problem("Projects", 3, column, None, f"{column} is required")


def test_blank_required_value_of_whitespace(tmp_path):
    p = one(tmp_path, [project("P1", name="   ")])
    assert p == Problem("Projects", 2, "name", None, "name is required")


def test_blank_capex_without_schedule(tmp_path):
    p = one(tmp_path, [project("P1", capex=None)])
    assert p == Problem("Projects", 2, "capex", None, "capex is required (or give the project a CapexSchedule row)")


def test_duplicate_project_id_names_the_first_row(tmp_path):
    p = one(tmp_path, [project("P1"), project("P2"), project("P1", name="again")])
    assert p == Problem("Projects", 4, "project_id", "P1", "duplicate project_id P1 (first on row 2)")


def test_duplicate_project_id_after_number_to_text(tmp_path):
    # 101 (a number) and "101" (text) are the same id
    p = one(tmp_path, [project(101), project("101")])
    assert p == Problem("Projects", 3, "project_id", "101", "duplicate project_id 101 (first on row 2)")


@pytest.mark.parametrize("capex", [0, -5, "-5", "(2)"])
def test_capex_must_be_positive(tmp_path, capex):
    p = one(tmp_path, [project("P1", capex=capex)])
    assert p == Problem("Projects", 2, "capex", capex, "capex must be an amount > 0")


def test_text_npv(tmp_path):
    p = one(tmp_path, [project("P1"), project("P2", npv="lots")])
    assert p == Problem("Projects", 3, "npv", "lots", "npv is not a number")


def test_excel_error_cell_is_located(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1"), project("P2")])
    set_cells(path, "Projects", {"E3": "#DIV/0!"})
    assert openpyxl.load_workbook(path)["Projects"]["E3"].data_type == "e"
    assert validate_path(path) == [
        Problem("Projects", 3, "npv", "#DIV/0!", "npv is the Excel error #DIV/0!, expected a number")]


def test_date_in_a_number_column(tmp_path):
    path = set_cells(make_workbook(tmp_path / "p.xlsx", [project("P1")]), "Projects", {"D2": dt.datetime(2027, 3, 1)})
    (p,) = validate_path(path)
    assert (p.sheet, p.row, p.column) == ("Projects", 2, "capex")
    assert p.value == dt.datetime(2027, 3, 1)
    assert p.message == "capex is a date or time, expected a number"
    assert p.as_dict()["value"] == "2027-03-01 00:00:00"


def test_numbers_typed_as_text_are_accepted(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", capex="1,200", npv=" 3.5 ", jp_content="25%",
                                                       risk="2", duration="3")])
    (p,) = read_pipeline(path).projects
    assert (p.capex, p.npv, p.jp_content, p.risk, p.duration) == (1200.0, 3.5, 0.25, 2.0, 3)
    assert p.schedule == (400.0, 400.0, 400.0)


@pytest.mark.parametrize("risk", [0, 6, 5.5, "0.5"])
def test_risk_outside_1_to_5(tmp_path, risk):
    p = one(tmp_path, [project("P1", risk=risk)])
    assert p == Problem("Projects", 2, "risk", risk, "risk must be a number >= 1 and <= 5")


@pytest.mark.parametrize("column", ["jp_content", "min_stake", "max_stake"])
@pytest.mark.parametrize("value", [1.5, -0.1, "150%"])
def test_shares_outside_0_to_1(tmp_path, column, value):
    p = one(tmp_path, [project("P1", **{column: value})])
    assert p == Problem("Projects", 2, column, value, f"{column} must be a share from 0 to 1 (or 0%–100%)")


def test_share_typed_as_a_percent_number_in_text(tmp_path):
    p = one(tmp_path, [project("P1", jp_content="25")])
    assert p == Problem("Projects", 2, "jp_content", "25", "jp_content must be a share from 0 to 1 (write 25% or 0.25)")


def test_scores_and_other_ranges(tmp_path):
    problems = problems_of(tmp_path, [project("P1", us_score=11, jp_score=-1, strategic_score=101, esg_score=200,
                                              jobs=-3, duration=0)])
    assert [(p.row, p.column, p.value, p.message) for p in problems] == [
        (2, "strategic_score", 101, "strategic_score must be a number >= 0 and <= 100"),
        (2, "us_score", 11, "us_score must be a number >= 0 and <= 10"),
        (2, "jp_score", -1, "jp_score must be a number >= 0 and <= 10"),
        (2, "duration", 0, "duration must be a whole number >= 1 and <= 100"),
        (2, "esg_score", 200, "esg_score must be a number >= 0 and <= 100"),
        (2, "jobs", -3, "jobs must be a number >= 0"),
    ]


def test_duration_must_be_whole(tmp_path):
    p = one(tmp_path, [project("P1", duration="2.5")])
    assert p == Problem("Projects", 2, "duration", "2.5", "duration must be a whole number")


def test_min_stake_above_max_stake(tmp_path):
    p = one(tmp_path, [project("P1", min_stake=0.8, max_stake=0.5)])
    assert p == Problem("Projects", 2, "min_stake", 0.8, "min_stake is above max_stake (0.5)")


def test_max_stake_zero(tmp_path):
    p = one(tmp_path, [project("P1", min_stake=0, max_stake=0)])
    assert p == Problem("Projects", 2, "max_stake", 0.0,
                        "max_stake must be above 0 (use decision = exclude to leave a project out)")


def test_max_stake_zero_alone_is_one_problem(tmp_path):
    # min_stake left blank must not add a second "min_stake is above max_stake" problem
    p = one(tmp_path, [project("P1", max_stake=0)])
    assert p == Problem("Projects", 2, "max_stake", 0.0,
                        "max_stake must be above 0 (use decision = exclude to leave a project out)")


def test_max_stake_alone_means_all_or_nothing_at_that_share(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", max_stake=0.4), project("P2", min_stake=0.3),
                                               project("P3", min_stake=0.2, max_stake=0.6), project("P4")])
    stakes = [(p.min_stake, p.max_stake) for p in read_pipeline(path).projects]
    assert stakes == [(0.4, 0.4), (0.3, 1.0), (0.2, 0.6), (1.0, 1.0)]


def test_bad_min_stake_is_not_also_compared_with_max_stake(tmp_path):
    p = one(tmp_path, [project("P1", min_stake="half", max_stake=0.5)])
    assert p == Problem("Projects", 2, "min_stake", "half", "min_stake is not a number")


def test_earliest_start_after_latest_start(tmp_path):
    p = one(tmp_path, [project("P1", earliest_start=2030, latest_start=2028)])
    assert p == Problem("Projects", 2, "earliest_start", 2030, "earliest_start is after latest_start (2028)")


@pytest.mark.parametrize("column, year", [("earliest_start", 2040), ("earliest_start", 2026),
                                          ("latest_start", 2037), ("latest_start", 2020)])
def test_start_outside_the_planning_horizon(tmp_path, column, year):
    kw = {column: year}
    if column == "latest_start" and year > 2027:
        kw["earliest_start"] = 2030
    p = one(tmp_path, [project("P1", **kw)], fund={"horizon_years": 10})
    assert p == Problem("Projects", 2, column, year, f"{column} is outside the planning horizon 2027–2036")


def test_start_years_given_as_dates(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", earliest_start=0, latest_start=0)])
    set_cells(path, "Projects", {"F2": dt.datetime(2028, 1, 1), "G2": dt.date(2030, 6, 30)})
    (p,) = read_pipeline(path).projects
    assert (p.earliest_start, p.latest_start) == (2028, 2030)


def test_start_year_not_a_year(tmp_path):
    p = one(tmp_path, [project("P1", earliest_start=2028.5)])
    assert p == Problem("Projects", 2, "earliest_start", 2028.5, "earliest_start must be a year like 2027")


def test_npv_low_above_npv(tmp_path):
    p = one(tmp_path, [project("P1", npv=5, npv_low=6)])
    assert p == Problem("Projects", 2, "npv_low", 6.0, "npv_low is above npv (5)")


def test_npv_high_below_npv(tmp_path):
    p = one(tmp_path, [project("P1", npv=5, npv_high=4.5)])
    assert p == Problem("Projects", 2, "npv_high", 4.5, "npv_high is below npv (5)")


@pytest.mark.parametrize("value", ["maybe", "fund", "yes"])
def test_unknown_decision_value(tmp_path, value):
    p = one(tmp_path, [project("P1", decision=value)])
    assert p == Problem("Projects", 2, "decision", value, "decision must be one of: auto, must fund, exclude")


def test_decision_spellings(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", decision="Must Fund"), project("P2", decision="must_fund"),
                                               project("P3", decision="EXCLUDE"), project("P4")])
    assert [p.decision for p in read_pipeline(path).projects] == ["must fund", "must fund", "exclude", "auto"]


def test_bad_yes_no_and_approval(tmp_path):
    problems = problems_of(tmp_path, [project("P1", leverage_eligible="maybe", us_approval="later")])
    assert problems == [
        Problem("Projects", 2, "us_approval", "later", "us_approval must be yes, no or pending"),
        Problem("Projects", 2, "leverage_eligible", "maybe", "leverage_eligible must be yes or no"),
    ]


def test_blank_approval_is_pending_and_absent_column_is_not_checked(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", us_approval="Yes"), project("P2", us_approval=None),
                                               project("P3", us_approval="TBD")])
    data = read_pipeline(path)
    assert [p.us_approval for p in data.projects] == ["yes", "pending", "pending"]
    assert [p.jp_approval for p in data.projects] == ["pending"] * 3
    assert data.approval_columns == ("US",)
    assert [data.approved(p) for p in data.projects] == [True, False, False]


def test_sector_not_on_sectors_with_did_you_mean(tmp_path):
    p = one(tmp_path, [project("P1"), project("P2", sector="Energyy")],
            sectors=[{"sector": "Energy"}, {"sector": "Transport"}])
    assert p == Problem("Projects", 3, "sector", "Energyy",
                        "sector Energyy is not on the Sectors sheet; did you mean Energy?")


def test_sector_not_on_sectors_without_a_close_name(tmp_path):
    p = one(tmp_path, [project("P1", sector="Mining")], sectors=[{"sector": "Energy"}])
    assert p == Problem("Projects", 2, "sector", "Mining", "sector Mining is not on the Sectors sheet")


def test_sector_check_also_runs_on_a_project_with_another_problem(tmp_path):
    problems = problems_of(tmp_path, [project("P1", sector="Mining", capex=-1)], sectors=[{"sector": "Energy"}])
    assert problems == [
        Problem("Projects", 2, "capex", -1, "capex must be an amount > 0"),
        Problem("Projects", 2, "sector", "Mining", "sector Mining is not on the Sectors sheet"),
    ]


def test_a_bad_sectors_row_does_not_make_its_projects_unknown(tmp_path):
    # the Energy row has a bad min_share: that is one problem, not one more per Energy project
    p = one(tmp_path, [project("P1"), project("P2", sector="Transport")],
            sectors=[{"sector": "Energy", "min_share": "lots"}, {"sector": "Transport"}])
    assert p == Problem("Sectors", 2, "min_share", "lots", "min_share is not a number")


def test_no_sectors_sheet_means_no_sector_check(tmp_path):
    assert problems_of(tmp_path, [project("P1", sector="Anything")]) == []


# ============================================================================= Fund
def fund_book(tmp_path, rows, header=("parameter", "value")):
    return write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK, "Fund": (list(header) if header else None, rows)})


def test_unknown_fund_parameter_with_did_you_mean(tmp_path):
    p = one(tmp_path, fund={"equity_capitol": 100})
    assert p == Problem("Fund", 3, "parameter", "equity_capitol", "unknown Fund parameter; did you mean equity_capital?")


def test_unknown_fund_parameter_without_a_close_name(tmp_path):
    p = one(tmp_path, fund={"colour": "blue"})
    assert p == Problem("Fund", 3, "parameter", "colour", "unknown Fund parameter")


def test_fund_parameter_names_match_insensitively(tmp_path):
    path = fund_book(tmp_path, [["Equity Capital", 120], ["MAX-LEVERAGE", "50%"], ["planning start", 2030]])
    fund = read_pipeline(path).fund
    assert (fund.equity_capital, fund.max_leverage, fund.planning_start) == (120, 0.5, 2030)


def test_duplicate_fund_parameter(tmp_path):
    path = fund_book(tmp_path, [["equity_capital", 100], ["planning_start", 2027], ["Equity Capital", 200]])
    assert validate_path(path) == [
        Problem("Fund", 4, "parameter", "Equity Capital", "parameter equity_capital is given twice (also row 2)")]


def test_fund_value_without_a_parameter_name(tmp_path):
    path = fund_book(tmp_path, [["planning_start", 2027], [None, 55]])
    assert validate_path(path) == [Problem("Fund", 3, "parameter", 55, "a value is given without a parameter name")]


def test_fund_sheet_without_header_reads_columns_a_and_b(tmp_path):
    path = fund_book(tmp_path, [["planning_start", 2027], ["equity_capital", "lots"]], header=None)
    assert validate_path(path) == [Problem("Fund", 2, "value", "lots", "equity_capital is not a number")]


def test_fund_header_as_typed_is_reported(tmp_path):
    path = fund_book(tmp_path, [["planning_start", 2027], ["equity_capital", -1]], header=("Parameter", "Value"))
    assert validate_path(path) == [Problem("Fund", 3, "Value", -1, "equity_capital must be an amount >= 0")]


@pytest.mark.parametrize("name, value, message", [
    ("equity_capital", "lots", "equity_capital is not a number"),
    ("equity_capital", -10, "equity_capital must be an amount >= 0"),
    ("horizon_years", 2.5, "horizon_years must be a whole number"),
    ("horizon_years", 0, "horizon_years must be a whole number >= 1 and <= 100"),
    ("us_equity_share", 50, "us_equity_share must be a share from 0 to 1 (or 0%–100%)"),
    ("us_equity_share", "50", "us_equity_share must be a share from 0 to 1 (write 25% or 0.25)"),
    ("approval_rule", "all", "approval_rule must be one of: both, either, none"),
    ("objective", "profit", "objective must be one of: npv, strategic, jobs, weighted, maxmin_satisfaction"),
    ("time_limit_s", 0, "time_limit_s must be a number > 0"),
    ("mip_gap", 2, "mip_gap must be a number >= 0 and <= 1"),
    ("max_leverage", True, "max_leverage is yes/no, expected a number"),
    ("alternatives", "three", "alternatives is not a number"),
    ("max_avg_risk", 7, "max_avg_risk must be a number >= 1 and <= 5"),
    ("discount_rate", "#N/A", "discount_rate is the Excel error #N/A, expected a number"),
])
def test_bad_fund_value_types(tmp_path, name, value, message):
    p = one(tmp_path, fund={name: value})
    assert p == Problem("Fund", 3, "value", value, message)


def test_fund_values_are_read(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project()],
                         fund={"equity_capital": "1,000", "discount_rate": "6%", "approval_rule": "Either",
                               "horizon_years": "12", "planning_start": 0})
    set_cells(path, "Fund", {"B2": dt.datetime(2029, 1, 1)})
    f = read_pipeline(path).fund
    assert (f.equity_capital, f.discount_rate, f.approval_rule, f.horizon_years, f.planning_start) == (
        1000.0, pytest.approx(0.06), "either", 12, 2029)


def test_jp_content_min_above_max(tmp_path):
    p = one(tmp_path, fund={"jp_content_min": 0.6, "jp_content_max": 0.4})
    assert p == Problem("Fund", 3, "value", 0.6, "jp_content_min is above jp_content_max (0.4)")


def test_objective_weighted_without_weights(tmp_path):
    p = one(tmp_path, fund={"objective": "weighted"})
    assert p == Problem("Fund", 3, "value", "weighted",
                        "objective weighted needs objective_weights, e.g. npv=1, strategic=0.2")


def test_objective_weighted_with_weights_is_fine(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project()],
                         fund={"objective": "weighted", "objective_weights": "npv=1, strategic=0.2"})
    assert validate_path(path) == []
    assert read_pipeline(path).fund.objective_weights == "npv=1, strategic=0.2"


@pytest.mark.parametrize("weights, message", [
    ("npv 1", "objective_weights must look like npv=1, strategic=0.2 (found 'npv 1')"),
    ("npv=1, risk=2", "objective_weights names unknown term 'risk'; use npv, strategic, jobs"),
    ("npv=lots", "objective_weights: the weight of npv is not a number"),
    (", ;", "objective_weights is empty"),
])
def test_bad_objective_weights(tmp_path, weights, message):
    # one problem: a bad objective_weights is not also reported as "weighted needs objective_weights"
    p = one(tmp_path, fund={"objective": "weighted", "objective_weights": weights})
    assert p == Problem("Fund", 4, "value", weights, message)


def test_parse_weights():
    assert parse_weights("npv=1; Strategic = 0.2, jobs=1,000") == ({}, "objective_weights must look like npv=1, "
                                                                       "strategic=0.2 (found '000')")
    assert parse_weights("npv=1; Strategic = 0.2, jobs=25%") == ({"npv": 1.0, "strategic": 0.2, "jobs": 0.25}, None)


# ============================================================================= CapexSchedule
def test_capex_blank_with_a_schedule_is_fine_and_capex_is_the_schedule_sum(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1", capex=None), project("P2", capex=99)],
                         schedule={"P1": [3, 0, 4.5], "P2": [1, 1]})
    assert validate_path(path) == []
    p1, p2 = read_pipeline(path).projects
    assert (p1.capex, p1.schedule) == (7.5, (3.0, 0.0, 4.5))
    assert (p2.capex, p2.schedule) == (2.0, (1.0, 1.0))  # the schedule overrides capex


def test_schedule_for_an_unknown_project(tmp_path):
    p = one(tmp_path, [project("P1")], schedule={"P1": [5, 5], "P9": [1]})
    assert p == Problem("CapexSchedule", 3, "project_id", "P9", "project P9 is not on the Projects sheet")


def test_schedule_for_an_unknown_project_names_the_sheet_and_column_as_typed(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK,
                                       "capex schedule": (["Project ID", "Y1"], [["P1", 5], ["P9", 1]])})
    assert validate_path(path) == [
        Problem("capex schedule", 3, "Project ID", "P9", "project P9 is not on the Projects sheet")]


def test_schedule_duplicate_row(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK,
                                       "CapexSchedule": (["project_id", "Y1", "Y2"], [["P1", 5, 5], ["P2", 1],
                                                                                     ["P1", 2, 2]])})
    assert validate_path(path) == [
        Problem("CapexSchedule", 4, "project_id", "P1", "project P1 has a second schedule row (first on row 2)")]


@pytest.mark.parametrize("name", ["2028", "Y0", "Total", "capex"])
def test_schedule_bad_column_name(tmp_path, name):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK,
                                       "CapexSchedule": (["project_id", "Y1", name], [["P1", 5, 5]])})
    assert validate_path(path) == [
        Problem("CapexSchedule", 1, name, name, "schedule columns must be named Y1, Y2, … (project year)")]


def test_schedule_column_spellings(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK,
                                       "CapexSchedule": (["project_id", "Year 2", "y1", "Y 3"], [["P1", 2, 1, 3]])})
    assert validate_path(path) == []
    assert read_pipeline(path).projects[0].schedule == (1.0, 2.0, 3.0)


def test_schedule_negative_amount(tmp_path):
    p = one(tmp_path, [project("P1")], schedule={"P1": [5, -2]})
    assert p == Problem("CapexSchedule", 2, "Y2", -2, "Y2 must be an amount >= 0")


def test_schedule_text_amount(tmp_path):
    p = one(tmp_path, [project("P1")], schedule={"P1": ["lots", 2]})
    assert p == Problem("CapexSchedule", 2, "Y1", "lots", "Y1 is not a number")


def test_schedule_summing_to_zero(tmp_path):
    p = one(tmp_path, [project("P1")], schedule={"P1": [0, 0]})
    assert p == Problem("CapexSchedule", 2, "project_id", "P1", "the schedule of P1 adds up to 0; capex must be > 0")


def test_schedule_row_without_project_id(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK,
                                       "CapexSchedule": (["project_id", "Y1"], [["P1", 5], [None, 3]])})
    assert validate_path(path) == [Problem("CapexSchedule", 3, "project_id", None, "project_id is required")]


# ============================================================================= Sectors
def test_duplicate_sector(tmp_path):
    p = one(tmp_path, sectors=[{"sector": "Energy"}, {"sector": "Transport"}, {"sector": "Energy"}])
    assert p == Problem("Sectors", 4, "sector", "Energy", "sector Energy is listed twice (first on row 2)")


def test_sector_min_share_above_max_share(tmp_path):
    p = one(tmp_path, sectors=[{"sector": "Energy", "min_share": 0.5, "max_share": 0.3}])
    assert p == Problem("Sectors", 2, "min_share", 0.5, "min_share is above max_share (0.3)")


def test_sector_min_projects_above_max_projects(tmp_path):
    p = one(tmp_path, sectors=[{"sector": "Energy", "min_projects": 3, "max_projects": 1}])
    assert p == Problem("Sectors", 2, "min_projects", 3, "min_projects is above max_projects (1)")


def test_sector_bad_values(tmp_path):
    problems = problems_of(tmp_path, sectors=[{"sector": "Energy", "max_share": 2, "max_projects": 1.5,
                                               "speculative": "perhaps"}])
    assert problems == [
        Problem("Sectors", 2, "max_share", 2, "max_share must be a share from 0 to 1 (or 0%–100%)"),
        Problem("Sectors", 2, "max_projects", 1.5, "max_projects must be a whole number"),
        Problem("Sectors", 2, "speculative", "perhaps", "speculative must be yes or no"),
    ]


def test_sector_blank_name(tmp_path):
    p = one(tmp_path, sectors=[{"sector": "Energy"}, {"sector": None, "max_share": 0.5}])
    assert p == Problem("Sectors", 3, "sector", None, "sector is required")


# ============================================================================= Budget
def test_duplicate_budget_year(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project()],
                         budget=[{"year": 2027, "capital_limit": 10}, {"year": 2028, "capital_limit": 10},
                                 {"year": 0, "capital_limit": 5}])
    (p,) = validate_path(set_cells(path, "Budget", {"A4": dt.datetime(2027, 1, 1)}))
    assert p == Problem("Budget", 4, "year", 2027, "year 2027 is listed twice (first on row 2)")


def test_budget_bad_values(tmp_path):
    problems = problems_of(tmp_path, budget=[{"year": "next", "capital_limit": -1}])
    assert problems == [
        Problem("Budget", 2, "year", "next", "year is not a number"),
        Problem("Budget", 2, "capital_limit", -1, "capital_limit must be an amount >= 0"),
    ]


# ============================================================================= Investors
def test_duplicate_investor(tmp_path):
    p = one(tmp_path, investors=[{"investor": "Pension"}, {"investor": "Pension", "max_commitment": 5}])
    assert p == Problem("Investors", 3, "investor", "Pension", "investor Pension is listed twice (first on row 2)")


def test_investor_min_above_max(tmp_path):
    p = one(tmp_path, investors=[{"investor": "Pension", "min_commitment": 20, "max_commitment": 10}])
    assert p == Problem("Investors", 2, "min_commitment", 20.0, "min_commitment is above max_commitment (10)")


def test_investor_bad_type(tmp_path):
    p = one(tmp_path, investors=[{"investor": "Pension", "type": "bank"}])
    assert p == Problem("Investors", 2, "type", "bank", "type must be one of: government, institutional, retail")


def test_investor_nation_names(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project()],
                         investors=[{"investor": "A", "nation": "Japan"}, {"investor": "B", "nation": "usa"},
                                    {"investor": "C", "nation": "Korea"}])
    assert [i.nation for i in read_pipeline(path).investors] == ["JP", "US", "Korea"]


# ============================================================================= Rules
def rule_problem(tmp_path, rule: dict) -> Problem:
    return one(tmp_path, [project("P1"), project("P2"), project("P3")], rules=[rule])


def test_rule_unknown_project(tmp_path):
    p = rule_problem(tmp_path, {"rule": "requires", "projects": "P1, P9"})
    assert p == Problem("Rules", 2, "projects", "P1, P9", "rule names project P9, which is not on the Projects sheet")


def test_rule_duplicate_member(tmp_path):
    p = rule_problem(tmp_path, {"rule": "together", "projects": "P1, P2, P1"})
    assert p == Problem("Rules", 2, "projects", "P1, P2, P1", "rule names P1 more than once")


@pytest.mark.parametrize("kind", ["requires", "excludes", "together"])
def test_rule_with_too_few_projects(tmp_path, kind):
    p = rule_problem(tmp_path, {"rule": kind, "projects": "P1"})
    assert p == Problem("Rules", 2, "projects", "P1", f"a {kind} rule needs at least two projects")


@pytest.mark.parametrize("kind", ["at_most", "at_least"])
def test_rule_k_missing(tmp_path, kind):
    p = one(tmp_path, [project("P1"), project("P2")],
            rules=[{"rule": "excludes", "projects": "P1,P2", "k": None}, {"rule": kind, "projects": "P1, P2"}])
    assert p == Problem("Rules", 3, "k", None, f"an {kind} rule needs k")


def test_rule_k_column_absent(tmp_path):
    p = rule_problem(tmp_path, {"rule": "at_most", "projects": "P1, P2"})
    assert p == Problem("Rules", 2, "k", None, "an at_most rule needs k")


def test_rule_at_least_more_than_its_projects(tmp_path):
    p = rule_problem(tmp_path, {"rule": "at_least", "projects": "P1, P2", "k": 3})
    assert p == Problem("Rules", 2, "k", 3, "at_least 3 of 2 projects can never hold")


def test_rules_sheet_missing_its_projects_column(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK, "Rules": (["rule", "k"], [["at_most", 1]])})
    assert validate_path(path) == [
        Problem("Rules", 1, "projects", None, "required column projects is missing from the header row")]


def test_sheet_without_its_only_required_column_has_no_header(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": PROJECTS_OK, "Budget": (["when", "capital_limit"], [[2027, 5]])})
    assert validate_path(path) == [
        Problem("Budget", None, "year", None, "no header row found: the sheet needs the column year "
                                              "(looked in the first 30 rows)")]


def test_rule_unknown_kind(tmp_path):
    p = rule_problem(tmp_path, {"rule": "needs", "projects": "P1, P2"})
    assert p == Problem("Rules", 2, "rule", "needs",
                        "rule must be one of: requires, excludes, at_most, at_least, together")


def test_rules_are_read(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1"), project("P2"), project("P3")],
                         rules=[{"rule": "Requires", "projects": "P1; P2,P3"}, {"rule": "at most", "projects": "P1,P2",
                                                                              "k": 1}])
    r1, r2 = read_pipeline(path).rules
    assert (r1.rule, r1.projects, r1.row, r1.k) == ("requires", ("P1", "P2", "P3"), 2, None)
    assert (r2.rule, r2.projects, r2.row, r2.k) == ("at_most", ("P1", "P2"), 3, 1)


def test_rule_naming_a_project_with_other_problems_is_not_unknown(tmp_path):
    p = one(tmp_path, [project("P1"), project("P2", capex=-1)], rules=[{"rule": "excludes", "projects": "P1, P2"}])
    assert p == Problem("Projects", 3, "capex", -1, "capex must be an amount > 0")


# ============================================================================= Scenarios
def test_scenarios_are_read(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project()], sectors=[{"sector": "Energy"}],
                         scenarios=[{"scenario": "base"},
                                    {"scenario": "tight", "Equity Capital": 100, "sector:Energy:max_share": "40%",
                                     "npv_scale:Energy": 0.9}])
    assert validate_path(path) == []
    base, tight = read_pipeline(path).scenarios
    assert (base.scenario, base.row, base.values) == ("base", 2, ())
    assert (tight.scenario, tight.row) == ("tight", 3)
    assert dict(tight.values) == {"equity_capital": 100.0, "sector:('Energy', 'max_share')": 0.4,
                                  "npv_scale:Energy": 0.9}


def test_scenario_unknown_column_with_did_you_mean(tmp_path):
    p = one(tmp_path, scenarios=[{"scenario": "a", "equity_capitol": 100}])
    assert p == Problem("Scenarios", 1, "equity_capitol", "equity_capitol",
                        "unknown scenario column: use a Fund parameter, sector:<name>:<column> or npv_scale:<sector>"
                        "; did you mean equity_capital?")


def test_scenario_bad_sector_column(tmp_path):
    p = one(tmp_path, scenarios=[{"scenario": "a", "sector:Energy:ceiling": 0.5}])
    assert p == Problem("Scenarios", 1, "sector:Energy:ceiling", "sector:Energy:ceiling",
                        "unknown Sectors column ceiling")


@pytest.mark.parametrize("header", ["sector:Mining:max_share", "npv_scale:Mining"])
def test_scenario_sector_no_project_uses(tmp_path, header):
    p = one(tmp_path, scenarios=[{"scenario": "a", header: 0.5}])
    assert p == Problem("Scenarios", 1, header, header, "sector Mining is not used by any project")


def test_scenario_sector_of_a_project_with_another_problem_is_used(tmp_path):
    p = one(tmp_path, [project("P1", capex=-1), project("P2", sector="Transport")],
            scenarios=[{"scenario": "a", "npv_scale:Energy": 0.5}])
    assert p == Problem("Projects", 2, "capex", -1, "capex must be an amount > 0")


def test_scenario_duplicate(tmp_path):
    p = one(tmp_path, scenarios=[{"scenario": "a"}, {"scenario": "b"}, {"scenario": " a "}])
    assert p == Problem("Scenarios", 4, "scenario", "a", "scenario a is listed twice (first on row 2)")


def test_scenario_blank_name(tmp_path):
    p = one(tmp_path, scenarios=[{"scenario": "a", "equity_capital": 100}, {"scenario": None, "equity_capital": 50}])
    assert p == Problem("Scenarios", 3, "scenario", None, "scenario name is required")


@pytest.mark.parametrize("header, value, message", [
    ("equity_capital", "lots", "equity_capital is not a number"),
    ("objective", "profit", "objective must be one of: npv, strategic, jobs, weighted, maxmin_satisfaction"),
    ("objective_weights", "npv=x", "objective_weights: the weight of npv is not a number"),
    ("npv_scale:Energy", "big", "npv scale is not a number"),
    ("sector:Energy:max_share", 3, "max_share must be a share from 0 to 1 (or 0%–100%)"),
    ("sector:Energy:speculative", "perhaps", "speculative must be yes or no"),
])
def test_scenario_bad_value(tmp_path, header, value, message):
    p = one(tmp_path, scenarios=[{"scenario": "base"}, {"scenario": "s", header: value}])
    assert p == Problem("Scenarios", 3, header, value, message)


# ============================================================================= one pass
def test_all_problems_across_sheets_are_collected_in_one_pass(tmp_path):
    path = make_workbook(
        tmp_path / "p.xlsx",
        [project("P1"), project("P2", capex=-3), project("P1"), project("P3", npv="lots")],
        fund={"equity_capitol": 100},
        sectors=[{"sector": "Energy", "min_share": 0.6, "max_share": 0.2}],
        rules=[{"rule": "requires", "projects": "P1, P7"}],
        budget=[{"year": 2027}, {"year": 2027}],
        scenarios=[{"scenario": "x", "colour": 1}],
    )
    problems = validate_path(path)
    assert problems == [
        Problem("Projects", 3, "capex", -3, "capex must be an amount > 0"),
        Problem("Projects", 4, "project_id", "P1", "duplicate project_id P1 (first on row 2)"),
        Problem("Projects", 5, "npv", "lots", "npv is not a number"),
        Problem("Fund", 3, "parameter", "equity_capitol", "unknown Fund parameter; did you mean equity_capital?"),
        Problem("Sectors", 2, "min_share", 0.6, "min_share is above max_share (0.2)"),
        Problem("Budget", 3, "year", 2027, "year 2027 is listed twice (first on row 2)"),
        Problem("Rules", 2, "projects", "P1, P7", "rule names project P7, which is not on the Projects sheet"),
        Problem("Scenarios", 1, "colour", "colour",
                "unknown scenario column: use a Fund parameter, sector:<name>:<column> or npv_scale:<sector>"),
    ]


def test_problems_are_in_sheet_order_even_for_sheets_titled_differently(tmp_path):
    path = write(tmp_path / "p.xlsx", {
        "Rules": (["rule", "projects"], [["requires", "P1, P9"]]),
        "Settings": (["parameter", "value"], [["colour", "blue"]]),  # an alias of Fund
        " projects": (HEADER, [["P1", "a", "Energy", 10, "x"], ["P2", "b", "Energy", 10, 5]]),
    })
    assert [(p.sheet, p.row) for p in validate_path(path)] == [(" projects", 2), ("Settings", 2), ("Rules", 2)]


def test_problem_as_dict_and_text():
    p = Problem("Projects", 4, "capex", -3, "capex must be an amount > 0")
    assert p.as_dict() == {"sheet": "Projects", "row": 4, "column": "capex", "value": -3,
                           "message": "capex must be an amount > 0"}
    assert str(p) == "Projects row 4, column capex: capex must be an amount > 0 (found -3)"


def test_risk_is_required_when_a_risk_cap_is_on(tmp_path):
    from helpers import make_workbook
    from optimizer.workbook.validate import validate_path

    projects = [{"project_id": "A", "name": "a", "sector": "S", "capex": 1, "npv": 1, "risk": 2},
                {"project_id": "B", "name": "b", "sector": "S", "capex": 1, "npv": 1, "risk": None}]
    path = make_workbook(tmp_path / "fund.xlsx", projects, fund={"max_avg_risk": 3})
    [problem] = validate_path(path)
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("Projects", 3, "risk", None)
    assert problem.message == "risk is required because Fund max_avg_risk is set"
    path = make_workbook(tmp_path / "investor.xlsx", projects,
                         investors=[{"investor": "Pension", "max_commitment": 5, "max_avg_risk": 2.5}])
    [problem] = validate_path(path)
    assert problem.row == 3 and problem.message == "risk is required because investor Pension has a max_avg_risk"
