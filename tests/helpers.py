"""Writing small input workbooks for tests, with real .xlsx files (XlsxWriter)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Sequence

import xlsxwriter

PROJECT_COLUMNS = ("project_id", "name", "sector", "capex", "npv")


def write_sheet(wb, title: str, header: Sequence[str] | None, rows: Iterable[Sequence[Any]],
                title_rows: Sequence[Sequence[Any]] = ()) -> None:
    ws = wb.add_worksheet(title)
    r = 0
    for tr in title_rows:
        _write_row(ws, r, tr)
        r += 1
    if header is not None:
        _write_row(ws, r, header)
        r += 1
    for row in rows:
        _write_row(ws, r, row)
        r += 1


def _write_row(ws, r: int, values: Sequence[Any]) -> None:
    for c, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, str):
            ws.write_string(r, c, v)
        elif isinstance(v, bool):
            ws.write_boolean(r, c, v)
        elif isinstance(v, (dt.date, dt.datetime)):
            ws.write_datetime(r, c, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day))
        else:
            ws.write_number(r, c, v)


def project_rows(projects: Sequence[dict], columns: Sequence[str] | None = None) -> tuple[list[str], list[list]]:
    """Dict rows -> (header, rows); the header is the union of keys, in first-seen order."""
    if columns is None:
        columns = list(PROJECT_COLUMNS)
        for p in projects:
            for k in p:
                if k not in columns:
                    columns.append(k)
    return list(columns), [[p.get(c) for c in columns] for p in projects]


def make_workbook(path: Path, projects: Sequence[dict], *, fund: dict | None = None,
                  sectors: Sequence[dict] | None = None, budget: Sequence[dict] | None = None,
                  rules: Sequence[dict] | None = None, schedule: dict[str, Sequence[float]] | None = None,
                  investors: Sequence[dict] | None = None, scenarios: Sequence[dict] | None = None,
                  extra_sheets: dict[str, tuple[Sequence[str], Sequence[Sequence[Any]]]] | None = None,
                  title_rows: Sequence[Sequence[Any]] = ()) -> Path:
    """Write a pipeline workbook; every project dict needs at least PROJECT_COLUMNS (unless testing errors).

    ``fund`` defaults to planning_start 2027 so that results do not depend on today's date.
    """
    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    header, rows = project_rows(projects)
    write_sheet(wb, "Projects", header, rows, title_rows)
    fund = {"planning_start": 2027, **(fund or {})}
    write_sheet(wb, "Fund", ["parameter", "value"], [[k, v] for k, v in fund.items()])
    if schedule:
        width = max(len(v) for v in schedule.values())
        write_sheet(wb, "CapexSchedule", ["project_id"] + [f"Y{i + 1}" for i in range(width)],
                    [[pid, *amounts] for pid, amounts in schedule.items()])
    for title, table in (("Sectors", sectors), ("Budget", budget), ("Rules", rules), ("Investors", investors),
                         ("Scenarios", scenarios)):
        if table:
            h, r = project_rows(table, columns=list(dict.fromkeys(k for row in table for k in row)))
            write_sheet(wb, title, h, r)
    for title, (h, r) in (extra_sheets or {}).items():
        write_sheet(wb, title, h, r)
    wb.close()
    return path


def project(pid, capex, npv, sector="Energy", **extra):
    return {"project_id": pid, "name": f"Project {pid}", "sector": sector, "capex": capex, "npv": npv, **extra}


def solve(tmp_path: Path, name: str = "case", *, check_objective: bool = True, **workbook):
    """Write the workbook (mip_gap 0 on Fund), run it end to end with the invariant checker."""
    import pytest

    from optimizer.runner import run_workbook

    workbook["fund"] = {"mip_gap": 0, **(workbook.get("fund") or {})}
    path = make_workbook(tmp_path / f"{name}.xlsx", **workbook)
    result = run_workbook(path, tmp_path / f"{name}-out.xlsx", verify=True)
    assert result.verify_problems == [], result.verify_problems
    assert result.outcome.status == "optimal"
    if check_objective:
        assert result.outcome.objective == pytest.approx(result.report.objective, abs=1e-6)
    return result


def sheet_rows(path, title: str) -> list[dict]:
    """A report sheet of an output workbook (header in row 1) as row dicts."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb[title].iter_rows(values_only=True))
    finally:
        wb.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r)) for r in rows[1:] if any(v is not None for v in r)]


def summary(result) -> dict:
    return {r["item"]: r["value"] for r in sheet_rows(result.output, "Summary")}


RULE_KINDS = ("requires", "excludes", "at_most", "at_least", "together")


def random_rules(rng, ids, *, rounds: int, max_members: int, at_most_low: int, at_least_k: int | None = None):
    """Random Rules rows for the seeded generators: 1..rounds rules of 2..max_members projects.

    at_most draws k from at_most_low..members−1; at_least draws k from 1..min(2, members), or
    uses ``at_least_k`` when given. The draws keep one order, so a seed gives the same rules.
    """
    rules = []
    for _ in range(rng.randint(1, rounds)):
        kind = rng.choice(RULE_KINDS)
        members = rng.sample(ids, rng.randint(2, min(max_members, len(ids))))
        row = {"rule": kind, "projects": ", ".join(members)}
        if kind == "at_most":
            row["k"] = rng.randint(at_most_low, len(members) - 1)
        elif kind == "at_least":
            row["k"] = at_least_k if at_least_k is not None else rng.randint(1, min(2, len(members)))
        rules.append(row)
    return rules
