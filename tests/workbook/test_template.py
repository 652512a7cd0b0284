"""``fundopt template``: the empty input workbook is generated from the schema."""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from optimizer.errors import InputError, OutputError
from optimizer.workbook import schema
from optimizer.workbook.template import write_template
from optimizer.workbook.validate import read_pipeline


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "new" / "template.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def wb(template):
    return openpyxl.load_workbook(template)


def expected_header(sheet: schema.Sheet) -> list[str]:
    if sheet is schema.FUND:
        return ["parameter", "value", "default", "help"]
    names = [c.name for c in sheet.columns]
    if sheet is schema.CAPEX_SCHEDULE:
        names += [f"Y{k}" for k in range(1, 11)]
    return names


def header(ws) -> list:
    return [c.value for c in ws[1] if c.value is not None]


def validations(ws) -> list[tuple[str, str]]:
    return [(str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation]


def dropdown(ws, column_name: str) -> str:
    """formula1 of the list validation on rows 2..201 of the column named ``column_name``."""
    letter = get_column_letter(header(ws).index(column_name) + 1)
    found = [f for sqref, f in validations(ws) if f"{letter}2:{letter}201" in sqref.split()]
    assert len(found) == 1, (ws.title, column_name, validations(ws))
    return found[0]


def test_every_schema_sheet_in_order_then_help(wb):
    assert wb.sheetnames == [s.name for s in schema.SHEETS] + ["Help"]


def test_headers_are_the_schema_columns(wb):
    for sheet in schema.SHEETS:
        assert header(wb[sheet.name]) == expected_header(sheet), sheet.name
        assert wb[sheet.name].freeze_panes == "A2"
    assert header(wb["Scenarios"]) == ["scenario"]


def test_header_cells_carry_help_comments(wb):
    for sheet in schema.SHEETS:
        if sheet is schema.FUND:
            continue
        ws = wb[sheet.name]
        for j, col in enumerate(sheet.columns, 1):
            comment = ws.cell(1, j).comment
            assert comment is not None, (sheet.name, col.name)
            assert col.help in comment.text and col.range_text in comment.text and "Default:" in comment.text
    risk = wb["Projects"].cell(1, expected_header(schema.PROJECTS).index("risk") + 1).comment.text
    assert ">= 1 and <= 5" in risk
    assert "equity_capital" in wb["Scenarios"]["A1"].comment.text  # example columns live in the comment
    assert all(wb["CapexSchedule"].cell(1, j).comment is not None for j in range(1, 12))


@pytest.mark.parametrize("sheet, column, choices", [
    ("Projects", "us_approval", ["yes", "no", "pending"]),
    ("Projects", "jp_approval", ["yes", "no", "pending"]),
    ("Projects", "leverage_eligible", ["yes", "no"]),
    ("Projects", "decision", ["auto", "must fund", "exclude"]),
    ("Sectors", "speculative", ["yes", "no"]),
    ("Sectors", "leverage_allowed", ["yes", "no"]),
    ("Rules", "rule", ["requires", "excludes", "at_most", "at_least", "together"]),
    ("Investors", "type", ["government", "institutional", "retail"]),
])
def test_dropdowns(wb, sheet, column, choices):
    formula = dropdown(wb[sheet], column)
    assert formula == '"' + ",".join(choices) + '"'


def test_sector_dropdown_lists_the_sectors_sheet(wb):
    assert dropdown(wb["Projects"], "sector") == "Sectors!$A$2:$A$201"


def test_fund_sheet_lists_every_parameter_with_a_blank_value(wb):
    ws = wb["Fund"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [c.name for c in schema.FUND.columns]
    assert all(r[1] is None for r in rows)
    defaults = {r[0]: r[2] for r in rows}
    assert defaults["equity_capital"] == "300" and defaults["approval_rule"] == "both"
    assert all(ws.cell(i, 1).comment is not None for i in range(2, len(rows) + 2))
    rows_of = {r[0]: i for i, r in enumerate(rows, 2)}
    found = dict((sqref, f) for sqref, f in validations(ws))
    assert found[f"B{rows_of['approval_rule']}"] == '"both,either,none"'
    assert found[f"B{rows_of['objective']}"] == '"' + ",".join(schema.OBJECTIVES) + '"'


def test_help_lists_every_column_and_fund_parameter(wb):
    ws = wb["Help"]
    assert header(ws) == ["sheet", "column", "required", "type", "allowed values / range", "default", "help"]
    listed = {(r[0], r[1]): r for r in ws.iter_rows(min_row=2, values_only=True)}
    for sheet in schema.SHEETS:
        for col in sheet.columns:
            row = listed[(sheet.name, col.name)]
            assert row[2] == ("yes" if col.required else "no")
            assert row[4] == col.range_text and row[6] == col.help
    assert {c.name for c in schema.FUND.columns} <= {c for s, c in listed if s == "Fund"}


def test_reading_the_empty_template_reports_no_projects(template):
    with pytest.raises(InputError) as err:
        read_pipeline(template)
    problems = err.value.problems
    assert [p.sheet for p in problems] == ["Projects"]
    assert "no projects" in problems[0].message


def test_a_filled_in_template_is_a_valid_input(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    ws = wb["Projects"]
    names = header(ws)
    row = {"project_id": "P1", "name": "Bridge", "sector": "Transport", "capex": 10, "npv": 2,
           "decision": "must fund"}
    for name, value in row.items():
        ws.cell(2, names.index(name) + 1, value)
    fund = wb["Fund"]
    for r in range(2, fund.max_row + 1):
        if fund.cell(r, 1).value == "equity_capital":
            fund.cell(r, 2, 50)
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    data = read_pipeline(filled)
    assert data.ids == ("P1",)
    assert data.projects[0].decision == "must fund"
    assert data.fund.equity_capital == 50
    assert data.sectors == () and data.rules == () and data.scenarios == ()


def test_template_write_is_atomic(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError):
        write_template(tmp_path / "afile" / "template.xlsx")
    target = tmp_path / "t.xlsx"
    write_template(target)
    write_template(target)  # overwrites in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "t.xlsx"]
