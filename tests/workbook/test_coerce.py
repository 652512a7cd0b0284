"""Cell coercion (optimizer/workbook/coerce.py): one cell in, a typed value or a message out."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from optimizer.workbook.coerce import coerce, format_text, is_blank, parse_number
from optimizer.workbook.schema import FUND, PROJECTS, RULES, SECTORS, Column

CAPEX = PROJECTS.column("capex")          # money > 0
NPV = PROJECTS.column("npv")              # money, any sign
RISK = PROJECTS.column("risk")            # number 1..5
JP_CONTENT = PROJECTS.column("jp_content")  # share
DURATION = PROJECTS.column("duration")    # int 1..100
EARLIEST = PROJECTS.column("earliest_start")  # year
LEVERAGE = PROJECTS.column("leverage_eligible")  # yesno
US_APPROVAL = PROJECTS.column("us_approval")  # approval
DECISION = PROJECTS.column("decision")    # choice
PROJECT_ID = PROJECTS.column("project_id")  # text
NUMBER = Column("x", "number", "")
MONEY = Column("m", "money", "")


def ok(value, column):
    v, err = coerce(value, column)
    assert err is None, f"{value!r} as {column.type}: unexpected error {err!r}"
    return v


def bad(value, column) -> str:
    v, err = coerce(value, column)
    assert v is None and err, f"{value!r} as {column.type} should be refused, got {v!r}"
    return err


# ----------------------------------------------------------------------------- numbers typed as text
@pytest.mark.parametrize("text, expected", [
    ("1,200", 1200.0),
    ("1,234,567.5", 1234567.5),
    (" 3.5 ", 3.5),
    ("(1.5)", -1.5),
    ("$2", 2.0),
    ("-$2", -2.0),
    ("($1.5)", -1.5),
    ("$1,200.50", 1200.5),
    ("¥30", 30.0),
    ("-4", -4.0),
    ("+4", 4.0),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("25%", 0.25),
    (" 12.5 % ", 0.125),
])
def test_numbers_typed_as_text_are_read(text, expected):
    assert ok(text, NPV) == pytest.approx(expected)
    assert isinstance(ok(text, NPV), float)


def test_percent_reads_as_a_fraction_in_any_number_column():
    assert ok("6%", FUND.column("discount_rate")) == pytest.approx(0.06)
    assert ok("25%", JP_CONTENT) == pytest.approx(0.25)
    assert ok("100%", JP_CONTENT) == pytest.approx(1.0)


def test_real_numbers_pass_through():
    assert ok(7, NPV) == 7.0
    assert ok(-2.5, NPV) == -2.5
    assert ok(0, NPV) == 0.0


@pytest.mark.parametrize("text", ["lots", "1.2.3", "12abc", "--1", "1,2e", "€"])
def test_text_that_is_not_a_number_is_refused(text):
    assert bad(text, NPV) == "is not a number"


@pytest.mark.parametrize("error", ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"])
def test_excel_error_values_name_the_error(error):
    assert bad(error, NPV) == f"is the Excel error {error}, expected a number"
    assert bad(f" {error.lower()} ", CAPEX) == f"is the Excel error {error}, expected a number"


@pytest.mark.parametrize("column", [PROJECT_ID, LEVERAGE, US_APPROVAL, DECISION, EARLIEST, JP_CONTENT])
def test_excel_errors_are_named_in_every_column_type(column):
    assert "Excel error #DIV/0!" in bad("#DIV/0!", column)


def test_nan_and_infinity_are_refused():
    assert bad(math.nan, NPV) == "is not a finite number"
    assert bad(math.inf, NPV) == "is not a finite number"
    assert bad("inf", NPV) == "is not a number"


# ----------------------------------------------------------------------------- dates, booleans
@pytest.mark.parametrize("value", [dt.datetime(2028, 1, 1), dt.date(2028, 5, 3), dt.time(12, 0),
                                   dt.timedelta(days=2)])
def test_dates_in_number_columns_are_refused(value):
    assert bad(value, NPV) == "is a date or time, expected a number"
    assert bad(value, CAPEX) == "is a date or time, expected a number"
    assert bad(value, DURATION) == "is a date or time, expected a number"


@pytest.mark.parametrize("value", [dt.datetime(2028, 1, 1), dt.date(2028, 7, 15), dt.datetime(2030, 12, 31, 9, 30)])
def test_years_given_as_dates_are_read_as_their_year(value):
    v = ok(value, EARLIEST)
    assert v == value.year and isinstance(v, int)


def test_years_as_numbers_and_text():
    assert ok(2028, EARLIEST) == 2028
    assert ok(2028.0, EARLIEST) == 2028
    assert ok(" 2028 ", EARLIEST) == 2028
    assert bad(2028.5, EARLIEST) == "must be a year like 2027"
    assert bad(1800, EARLIEST) == "must be a year >= 1900 and <= 2300"
    assert bad(dt.datetime(1850, 1, 1), EARLIEST) == "must be a year >= 1900 and <= 2300"


@pytest.mark.parametrize("value", [True, False])
def test_booleans_in_number_columns_are_refused(value):
    assert bad(value, NPV) == "is yes/no, expected a number"
    assert bad(value, JP_CONTENT) == "is yes/no, expected a number"
    assert bad(value, DURATION) == "is yes/no, expected a number"


# ----------------------------------------------------------------------------- yes / no, approvals
@pytest.mark.parametrize("value", ["yes", "Yes", " YES ", "y", "Y", "true", "TRUE", "1", 1, 1.0, True, "x"])
def test_yes_variants(value):
    assert ok(value, LEVERAGE) is True


@pytest.mark.parametrize("value", ["no", "No", " NO ", "n", "false", "False", "0", 0, 0.0, False])
def test_no_variants(value):
    assert ok(value, LEVERAGE) is False


@pytest.mark.parametrize("value", ["maybe", "2", 2, "pending"])
def test_yesno_refuses_other_words(value):
    assert bad(value, LEVERAGE) == "must be yes or no"


@pytest.mark.parametrize("value, expected", [
    ("yes", "yes"), ("Approved", "yes"), (True, "yes"), (1, "yes"), ("Y", "yes"),
    ("no", "no"), ("Rejected", "no"), ("denied", "no"), (False, "no"), (0, "no"),
    ("pending", "pending"), ("Pending", "pending"), ("TBD", "pending"), ("?", "pending"), ("open", "pending"),
])
def test_approval_variants(value, expected):
    assert ok(value, US_APPROVAL) == expected


def test_blank_approval_is_no_value_here_and_pending_in_validation():
    # coerce leaves the blank alone; build_pipeline turns it into "pending" (see test_validate)
    assert coerce(None, US_APPROVAL) == (None, None)
    assert coerce("   ", US_APPROVAL) == (None, None)
    assert bad("maybe", US_APPROVAL) == "must be yes, no or pending"


# ----------------------------------------------------------------------------- choices
@pytest.mark.parametrize("value", ["must fund", "Must Fund", "MUST FUND", "must_fund", "must-fund", " mustfund "])
def test_choice_matching_ignores_case_spaces_underscores_hyphens(value):
    assert ok(value, DECISION) == "must fund"


def test_choice_returns_the_canonical_spelling():
    assert ok("Exclude", DECISION) == "exclude"
    assert ok("AUTO", DECISION) == "auto"
    assert ok("At Most", RULES.column("rule")) == "at_most"
    assert ok("maxmin satisfaction", FUND.column("objective")) == "maxmin_satisfaction"


def test_unknown_choice_lists_the_choices():
    assert bad("maybe", DECISION) == "must be one of: auto, must fund, exclude"


# ----------------------------------------------------------------------------- shares
def test_share_given_as_a_percent_number_in_text_is_refused():
    assert bad("25", JP_CONTENT) == "must be a share from 0 to 1 (write 25% or 0.25)"
    assert bad("100", JP_CONTENT) == "must be a share from 0 to 1 (write 25% or 0.25)"


def test_share_out_of_range():
    assert bad(25, JP_CONTENT) == "must be a share from 0 to 1 (or 0%–100%)"
    assert bad(-0.1, JP_CONTENT) == "must be a share from 0 to 1 (or 0%–100%)"
    assert bad("150%", JP_CONTENT) == "must be a share from 0 to 1 (or 0%–100%)"
    assert bad("250", JP_CONTENT) == "must be a share from 0 to 1 (or 0%–100%)"


def test_share_in_range():
    assert ok("0.25", JP_CONTENT) == pytest.approx(0.25)
    assert ok("1", JP_CONTENT) == 1.0
    assert ok(0, JP_CONTENT) == 0.0


# ----------------------------------------------------------------------------- integers and ranges
def test_int_refuses_fractions():
    assert bad("2.5", DURATION) == "must be a whole number"
    assert bad(2.5, DURATION) == "must be a whole number"
    v = ok("3", DURATION)
    assert v == 3 and isinstance(v, int)
    assert ok(4.0, DURATION) == 4 and isinstance(ok(4.0, DURATION), int)


def test_ranges_use_the_schema_bounds():
    assert bad(0, CAPEX) == "must be an amount > 0"
    assert bad(-5, CAPEX) == "must be an amount > 0"
    assert bad("(5)", CAPEX) == "must be an amount > 0"
    assert ok("0.001", CAPEX) == pytest.approx(0.001)
    assert bad(6, RISK) == "must be a number >= 1 and <= 5"
    assert bad(0.5, RISK) == "must be a number >= 1 and <= 5"
    assert ok(5, RISK) == 5.0
    assert bad(0, DURATION) == "must be a whole number >= 1 and <= 100"
    assert bad(-1, SECTORS.column("min_projects")) == "must be a whole number >= 0"


# ----------------------------------------------------------------------------- text and blanks
def test_text_columns_read_numbers_as_their_text():
    assert ok(101, PROJECT_ID) == "101"
    assert ok(101.0, PROJECT_ID) == "101"
    assert ok(1.5, PROJECT_ID) == "1.5"
    assert ok("  P-1  ", PROJECT_ID) == "P-1"
    assert ok(dt.datetime(2028, 1, 1), PROJECT_ID) == "2028-01-01"


@pytest.mark.parametrize("value", [None, "", "   ", "\t"])
def test_blank_cells_give_no_value_and_no_error(value):
    assert is_blank(value)
    for column in (NPV, CAPEX, PROJECT_ID, LEVERAGE, DECISION, DURATION, EARLIEST):
        assert coerce(value, column) == (None, None)


def test_zero_is_not_blank():
    assert not is_blank(0)
    assert coerce(0, NPV) == (0.0, None)


def test_parse_number_reports_percent():
    assert parse_number("25%") == (0.25, None, True)
    assert parse_number("25") == (25.0, None, False)
    assert parse_number(True)[1] == "is yes/no, expected a number"


def test_format_text():
    assert format_text(3.0) == "3"
    assert format_text(dt.datetime(2028, 1, 1, 10, 30)) == "2028-01-01T10:30:00"
    assert format_text(" a ") == "a"
