"""``fundopt template``: an empty input workbook written from the schema.

Every sheet of :data:`~optimizer.workbook.schema.SHEETS`, in order, with its header in row 1
(the schema's column names), a comment on each header cell (help text, type and range,
default), dropdown lists on the columns that take a fixed set of words, and a ``Help`` sheet
listing every column and every ``Fund`` parameter. Because it is generated from the schema it
cannot drift from what the reader accepts.

The template has no projects, so ``fundopt validate`` on it reports exactly that.
"""

from __future__ import annotations

import os
from typing import Any

from .schema import (APPROVALS, CAPEX_SCHEDULE, FUND, PROJECTS, SCENARIOS, SECTORS, SHEETS, YES_NO, Column,
                     Sheet)
from .writer import _CellWriter, _fit, write_atomic

#: rows below the header that get dropdowns and column formats
INPUT_ROWS = 200
SCHEDULE_YEARS = 10
HELP_COLUMNS = ("sheet", "column", "required", "type", "allowed values / range", "default", "help")


def write_template(path: str | os.PathLike) -> None:
    """Write the empty input workbook to ``path`` atomically; raise OutputError on failure."""
    write_atomic(path, lambda wb: _TemplateWriter(wb).write())


# --------------------------------------------------------------------------- texts
def default_text(col: Column) -> str:
    if col.default is None:
        if col.name == "planning_start":
            return "the current year"
        return "(required)" if col.required else "none"
    if isinstance(col.default, float):
        return f"{col.default:g}"
    return str(col.default)


def type_text(col: Column) -> str:
    return {"text": "text", "money": "money", "number": "number", "int": "whole number", "year": "year",
            "share": "share", "yesno": "yes / no", "approval": "approval", "choice": "choice"}.get(col.type, col.type)


def comment_text(col: Column, *, parameter: bool = False) -> str:
    lines = [f"{col.name}{' (required)' if col.required else ''}", col.help,
             f"Type: {type_text(col)}: {col.range_text}", f"Default: {default_text(col)}"]
    if parameter:
        lines.append("Leave the value blank to use the default.")
    return "\n".join(lines)


def choices_of(sheet: Sheet, col: Column) -> tuple[str, ...]:
    if col.type == "yesno":
        return YES_NO
    if col.type == "approval":
        return APPROVALS
    if col.type == "choice":
        return col.choices
    return ()


def _comment_options(text: str) -> dict:
    lines = text.split("\n")
    width = min(420, max(220, 7 * max(len(s) for s in lines)))
    chars_per_line = max(1, width // 7)
    height = 18 * sum(1 + len(s) // chars_per_line for s in lines) + 10
    return {"width": width, "height": height}


# --------------------------------------------------------------------------- writer
class _TemplateWriter(_CellWriter):
    def __init__(self, wb) -> None:
        super().__init__(wb)
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.top = wb.add_format({"valign": "top"})
        self.int = wb.add_format({"num_format": "0"})
        wb.set_properties({"title": "fundopt input workbook",
                           "comments": "Fill in Projects (required) and any optional sheet; see Help."})

    def write(self) -> None:
        for sheet in SHEETS:
            ws = self.add_sheet(sheet.name)
            if sheet is FUND:
                self._fund(ws)
            else:
                self._table(ws, sheet)
        self._help(self.add_sheet("Help"))

    # ---------------------------------------------------------------- table sheets
    def _columns(self, sheet: Sheet) -> list[tuple[str, Column | None, str]]:
        """(header, schema column, comment) for each header cell of a table sheet."""
        cols = [(c.name, c, comment_text(c)) for c in sheet.columns]
        if sheet is CAPEX_SCHEDULE:
            for k in range(1, SCHEDULE_YEARS + 1):
                when = "the start year" if k == 1 else f"project year {k} (the start year + {k - 1})"
                cols.append((f"Y{k}", None, f"Y{k}\nCapex in {when}, in the fund's currency unit.\n"
                                            "Type: money: an amount >= 0\nDefault: 0\n"
                                            "Add Y11, Y12, … for longer schedules. The row sum overrides "
                                            "capex on Projects."))
        if sheet is SCENARIOS:
            name, col, text = cols[0]
            cols[0] = (name, col, text + "\n\nAdd one column per value a scenario changes, e.g.\n"
                                         "  equity_capital (any Fund parameter)\n"
                                         "  max_leverage\n"
                                         "  sector:AI:max_share (a Sectors value)\n"
                                         "  npv_scale:Space (multiplies that sector's NPVs)\n"
                                         "A blank cell keeps the base value.")
        return cols

    def _table(self, ws, sheet: Sheet) -> None:
        cols = self._columns(sheet)
        for j, (name, col, comment) in enumerate(cols):
            ws.write_string(0, j, name, self.header)
            ws.write_comment(0, j, comment, _comment_options(comment))
            fmt = None
            if col is not None and col.type == "share":
                fmt = self.share
            elif col is not None and col.type in ("int", "year"):
                fmt = self.int
            width = max(len(name), 12 if col is None or col.type != "text" else 18)
            if col is not None and col.name in ("name", "decision_reason", "projects", "investor"):
                width = 30
            ws.set_column(j, j, _fit(width), fmt)
            if col is None:
                continue
            if sheet is PROJECTS and col.name == "sector":
                self._sector_dropdown(ws, j)
                continue
            choices = choices_of(sheet, col)
            if choices:
                self._dropdown(ws, 1, j, INPUT_ROWS, col, choices)
        ws.freeze_panes(1, 0)

    def _dropdown(self, ws, first_row: int, col_index: int, last_row: int, col: Column,
                  choices: tuple[str, ...]) -> None:
        allowed = ", ".join(choices)
        ws.data_validation(first_row, col_index, last_row, col_index, {
            "validate": "list",
            "source": list(choices),
            "input_title": col.name[:32],
            "input_message": _clip(col.help, 255),
            "error_title": f"{col.name}"[:32],
            "error_message": _clip(f"{col.name} must be one of: {allowed}", 255),
            "error_type": "stop",
        })

    def _sector_dropdown(self, ws, col_index: int) -> None:
        j = next(i for i, c in enumerate(SECTORS.columns) if c.name == "sector")
        letter = _letter(j)
        ws.data_validation(1, col_index, INPUT_ROWS, col_index, {
            "validate": "list",
            "source": f"=Sectors!${letter}$2:${letter}${INPUT_ROWS + 1}",
            "input_title": "sector",
            "input_message": _clip("Pick a sector from the Sectors sheet, or type one "
                                   "(Sectors is optional).", 255),
            # Sectors is optional: the list suggests, it does not forbid
            "show_error": False,
        })

    # ---------------------------------------------------------------- Fund
    def _fund(self, ws) -> None:
        headers = (
            ("parameter", "The name of a Fund parameter (do not rename; remove a row to use its default)."),
            ("value", "Your value. Leave blank to use the default."),
            ("default", "The value used when value is blank (for reference; not read)."),
            ("help", "What the parameter means and the values it takes (for reference; not read)."),
        )
        for j, (name, comment) in enumerate(headers):
            ws.write_string(0, j, name, self.header)
            ws.write_comment(0, j, f"{name}\n{comment}", _comment_options(f"{name}\n{comment}"))
        for i, col in enumerate(FUND.columns, 1):
            ws.write_string(i, 0, col.name, self.top)
            text = comment_text(col, parameter=True)
            ws.write_comment(i, 0, text, _comment_options(text))
            fmt = self.share if col.type == "share" else None
            ws.write_blank(i, 1, None, fmt)
            ws.write_string(i, 2, default_text(col), self.top)
            ws.write_string(i, 3, f"{col.help} Allowed: {col.range_text}.", self.wrap)
            choices = choices_of(FUND, col)
            if choices:
                self._dropdown(ws, i, 1, i, col, choices)
        ws.set_column(0, 0, _fit(max(len(c.name) for c in FUND.columns)))
        ws.set_column(1, 1, 16)
        ws.set_column(2, 2, 16)
        ws.set_column(3, 3, 90, self.wrap)
        ws.freeze_panes(1, 0)

    # ---------------------------------------------------------------- Help
    def _help(self, ws) -> None:
        for j, name in enumerate(HELP_COLUMNS):
            ws.write_string(0, j, name, self.header)
        rows: list[tuple[Any, ...]] = []
        for sheet in SHEETS:
            rows.append((sheet.name, "(sheet)", "yes" if sheet.required else "no",
                         "parameter / value pairs" if sheet.kind == "params" else "table", "", "", sheet.help))
            if sheet is FUND:
                rows.append((sheet.name, "parameter", "yes", "text", "a Fund parameter name below", "",
                             "Column A of Fund: the parameter's name."))
                rows.append((sheet.name, "value", "yes", "per parameter", "", "",
                             "Column B of Fund: its value; blank uses the default."))
            for col in sheet.columns:
                rows.append((sheet.name, col.name, "yes" if col.required else "no", type_text(col),
                             col.range_text, default_text(col), col.help))
            if sheet is CAPEX_SCHEDULE:
                rows.append((sheet.name, "Y1, Y2, …", "no", "money", "an amount >= 0", "0",
                             "Capex in the project's start year (Y1), the year after (Y2), and so on."))
            if sheet is SCENARIOS:
                rows.append((sheet.name, "<Fund parameter>", "no", "per parameter", "as on Fund", "the Fund value",
                             "Any Fund parameter as a column, e.g. equity_capital."))
                rows.append((sheet.name, "sector:<name>:<column>", "no", "per column", "as on Sectors",
                             "the Sectors value", "A Sectors value for one sector, e.g. sector:AI:max_share."))
                rows.append((sheet.name, "npv_scale:<sector>", "no", "number", "a number", "1",
                             "Multiplies that sector's NPVs."))
        widths = [len(h) for h in HELP_COLUMNS]
        for i, row in enumerate(rows, 1):
            for j, v in enumerate(row):
                self.cell(ws, i, j, v, self.wrap if j == len(row) - 1 else self.top)
                widths[j] = max(widths[j], len(str(v)))
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(_fit(w), 40 if j < len(widths) - 1 else 90),
                          self.wrap if j == len(widths) - 1 else None)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(rows), len(HELP_COLUMNS) - 1)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _letter(index: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)
