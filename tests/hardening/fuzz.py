"""Seeded mutation of small valid pipelines: the damaged workbooks of the fuzz suite.

``case(seed)`` is deterministic: the same seed gives the same workbook, so a failure is
reproduced with ``python tests/hardening/fuzz.py SEED OUT.xlsx``. A workbook is held as
``{title: [row, ...]}`` (row 0 is the header) and written with XlsxWriter; cell values may be
:class:`Formula` or :class:`ErrorValue` to write what Excel writes for those. Mutations act on
cells, columns, sheets, and last on the file's bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "tests", ROOT / "inputs"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import xlsxwriter  # noqa: E402

ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")


@dataclass(frozen=True)
class Formula:
    formula: str
    cached: object  # number, text, bool, an error text, or "" for no cached value


@dataclass(frozen=True)
class ErrorValue:
    code: str


# ----------------------------------------------------------------------------- valid bases
def _fund(**extra) -> list[list]:
    base = {"planning_start": 2027, "explain_limit": 1, "alternatives": 2, "time_limit_s": 5, "mip_gap": 0}
    base.update(extra)
    return [["parameter", "value"]] + [[k, v] for k, v in base.items()]


def _table(rows: list[dict]) -> list[list]:
    header = list(dict.fromkeys(k for r in rows for k in r))
    return [header] + [[r.get(k) for k in header] for r in rows]


def base_small() -> dict[str, list[list]]:
    projects = [{"project_id": f"P{i}", "name": f"Plant {i}", "sector": "Energy" if i % 2 else "Grid",
                 "capex": 4 + i, "npv": 1 + (i * 7) % 5, "risk": 1 + i % 5} for i in range(1, 7)]
    return {
        "Projects": _table(projects),
        "Fund": _fund(equity_capital=20, max_avg_risk=4),
        "Sectors": _table([{"sector": "Energy", "max_share": 0.8}, {"sector": "Grid", "min_projects": 1}]),
        "Budget": _table([{"year": 2027, "capital_limit": 25}]),
        "Rules": _table([{"rule": "excludes", "projects": "P1, P2"}, {"rule": "at_most", "projects": "P3, P4, P5",
                                                                        "k": 2}]),
    }


def base_rich() -> dict[str, list[list]]:
    projects = []
    for i in range(1, 9):
        projects.append({
            "project_id": f"R-{i:02d}", "name": f"Project {i}", "sector": ("AI", "Energy", "Space")[i % 3],
            "capex": 3 + 2 * i, "npv": round(0.5 + 0.37 * i, 2), "npv_low": 0.1, "npv_high": 9,
            "risk": 1 + i % 5, "strategic_score": 10 * i, "us_score": i % 10, "jp_score": (7 * i) % 10,
            "us_approval": ("yes", "yes", "pending", "yes")[i % 4], "jp_approval": "yes",
            "jp_content": round(0.1 * i, 2), "state": "Ohio" if i % 2 else "Aichi",
            "leverage_eligible": "yes" if i % 2 else "no",
            "min_stake": 0.5 if i % 3 == 0 else None, "max_stake": 1 if i % 3 == 0 else None,
            "earliest_start": 2027 if i % 4 == 0 else None, "latest_start": 2029 if i % 4 == 0 else None,
            "duration": 1 + i % 3, "esg_score": 30 + 8 * i, "jobs": 100 * i,
            "decision": "must fund" if i == 1 else ("exclude" if i == 7 else "auto"),
            "decision_reason": "=committee minute" if i == 7 else None, "notes": "note ✓" if i == 1 else None,
        })
    return {
        "Projects": _table(projects),
        "CapexSchedule": [["project_id", "Y1", "Y2", "Y3"], ["R-05", 4, 5, 4]],
        "Fund": _fund(equity_capital=40, max_leverage=0.3, max_ltv=0.6, min_esg_score=35, approval_rule="both",
                      max_avg_risk=4.5, jp_content_min=0.1),
        "Sectors": _table([{"sector": "AI", "max_share": 0.6, "speculative": "no"},
                           {"sector": "Energy", "leverage_allowed": "yes"},
                           {"sector": "Space", "speculative": "yes", "max_projects": 2}]),
        "Investors": _table([{"investor": "Pension", "type": "institutional", "nation": "JP",
                              "min_commitment": 0, "max_commitment": 10, "required_return": 0.03}]),
        "Rules": _table([{"rule": "requires", "projects": "R-03, R-06"},
                         {"rule": "together", "projects": "R-04, R-08"}]),
        "Scenarios": _table([{"scenario": "base", "equity_capital": 40}, {"scenario": "tight", "equity_capital": 25}]),
    }


def base_sample() -> dict[str, list[list]]:
    """Eight projects of the sample pipeline (inputs/make_sample.py) with its Fund and limits, scaled down."""
    import make_sample as s

    keep = ("AI-02", "AI-05", "REN-01", "REN-02", "MFG-01", "MFG-02", "SC-01", "DEC-01")
    projects = [p for p in s.build_projects() if p["project_id"] in keep]
    sectors = {p["sector"] for p in projects}
    fund = dict(s.FUND)
    fund.update(equity_capital=40, explain_limit=1, alternatives=1, time_limit_s=5, min_nation_satisfaction=0.5,
                max_avg_risk=3.5, jp_content_min=0.1, min_esg_score=40)
    del fund["max_project_share"]
    rules = [r for r in s.RULES if all(m.strip() in keep for m in r[1].split(","))]
    return {
        "Projects": [["US–Japan fund — sample extract"], []] + _table(projects),
        "CapexSchedule": [["project_id", "Y1", "Y2", "Y3", "Y4", "Y5"]]
                         + [[k, *v] for k, v in s.CAPEX_SCHEDULE.items() if k in keep],
        "Fund": [["parameter", "value"]] + [[k, v] for k, v in fund.items()],
        "Sectors": [list(s.SECTOR_COLUMNS)] + [[r[0], None, None, None, r[4], r[5], r[6]] for r in s.SECTORS
                                               if r[0] in sectors],
        "Budget": [list(s.BUDGET_COLUMNS)] + [[2027, 40, 10], [2028, 40, 10]],
        "Rules": [list(s.RULE_COLUMNS)] + [list(r) for r in rules],
    }


BASES = (base_small, base_rich, base_sample)

# ----------------------------------------------------------------------------- cell values
def hostile_value(rng: random.Random, row: list, j: int):
    pool = [
        None, "", "   ", "abc", "n/a", "TBD", "1,200", "25%", "(3.5)", " 3.5 ", "$1.2", "¥300", "1e400", "-0",
        "1.2.3", "--5", "5-", "%", "1 000", "0x1F", "½", "٣", "３", 0, -1, -0.0, -1e9, 1e308, -1e308, 1e-300,
        5e15, 2 ** 53 + 1, 9.99e14, -9.99e14, 1e-7, 123456.789, 0.1 + 0.2, 123456789.123456789,
        float("nan"), float("inf"), float("-inf"),
        True, False, dt.datetime(2027, 1, 1), dt.datetime(1900, 1, 1, 12, 30), dt.date(2031, 12, 31),
        dt.time(12, 0), ErrorValue(rng.choice(ERRORS)), Formula("=1/0", "#DIV/0!"), Formula("=A1+1", 42),
        Formula("=NOW()", ""), Formula('="x"&"y"', "xy"), Formula("=TRUE()", True), "=1+1", "+1", "@SUM(A1)",
        "-", "プロジェクト", "Проект 🚀", "\u202eevil", "\u200b", "e\u0301", "x" * 300, "a\nb", "\tP1",
        "yes", "no", "pending", "maybe", "must fund", "exclude", "MUST-FUND", "requires", "at_most",
        2027, 1899, 2301, 2027.5, "2027", "Y1", "#DIV/0!", "#N/A", "#REF!",
    ]
    if rng.random() < 0.2 and row:  # a value from elsewhere in the row: a shifted column
        return row[rng.randrange(len(row))]
    v = rng.choice(pool)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and rng.random() < 0.3 and math.isfinite(v):
        v = v * rng.choice((-1, 10 ** rng.randint(-9, 9)))
    return v


def _sheet_variants(rng: random.Random, title: str) -> str:
    return rng.choice([title.lower(), title.upper(), f" {title}", f"{title} ", title.replace("s", "S"),
                       title[:-1], title + "2", f"{title[:3]}-{title[3:]}", "Pipeline", "Parameters",
                       "Portfolio", "Rejected", "Summary", "Notes", "Sheet1", "Projects", "Fund", "Sectors"])[:31]


# ----------------------------------------------------------------------------- mutations
def _header_index(rows: list[list]) -> int:
    for i, r in enumerate(rows):
        if sum(1 for v in r if isinstance(v, str) and v.strip()) >= 2:
            return i
    return 0


def mutate_cell(rng, book, log):
    title = rng.choice(list(book))
    rows = book[title]
    if not rows:
        return
    h = _header_index(rows)
    i = rng.choice([h] + list(range(h + 1, len(rows)))) if rng.random() < 0.15 else \
        rng.randrange(h + 1, len(rows)) if len(rows) > h + 1 else h
    row = rows[i]
    width = max(len(row), 1)
    j = rng.randrange(width + (1 if rng.random() < 0.1 else 0))
    while len(row) <= j:
        row.append(None)
    kind = rng.random()
    if kind < 0.08:
        rows[i] = [None] * len(row)
        log.append(f"cell: blanked {title} row {i + 1}")
        return
    if kind < 0.14 and i > h:
        rows.insert(i + 1, list(row))
        log.append(f"cell: duplicated {title} row {i + 1}")
        return
    v = hostile_value(rng, row, j)
    row[j] = v
    log.append(f"cell: {title}!R{i + 1}C{j + 1} = {v!r}"[:200])


def mutate_column(rng, book, log):
    title = rng.choice(list(book))
    rows = book[title]
    if not rows:
        return
    h = _header_index(rows)
    width = max(len(r) for r in rows)
    for r in rows:
        r.extend([None] * (width - len(r)))
    j = rng.randrange(width)
    kind = rng.choice(["delete", "rename", "duplicate", "swap", "blank", "move"])
    if kind == "delete":
        for r in rows:
            del r[j]
    elif kind == "rename":
        old = str(rows[h][j])
        rows[h][j] = rng.choice([old.upper(), old.replace("_", " "), f" {old} ", old[:-1], old + "s", "id", "lock",
                                 "capital", "Name", "Project", 42, "#REF!", "Y0", "Y", "Year 2", "sector:AI:max_share",
                                 "npv_scale:AI", "npv_scale", rows[h][rng.randrange(width)]])
    elif kind == "duplicate":
        for r in rows:
            r.insert(rng.randrange(width + 1), r[j])
    elif kind == "swap":
        k = rng.randrange(width)
        for r in rows:
            r[j], r[k] = r[k], r[j]
    elif kind == "blank":
        rows[h][j] = None
    else:
        k = rng.randrange(width)
        for r in rows:
            r.insert(k, r.pop(j))
    log.append(f"column: {kind} {title} column {j + 1}")


def mutate_sheet(rng, book, log):
    title = rng.choice(list(book))
    kind = rng.choice(["delete", "rename", "duplicate", "title_rows", "blank_rows", "header_only", "empty",
                       "unknown", "reorder", "report", "far_rows"])
    if kind == "delete":
        del book[title]
    elif kind == "rename":
        new = _sheet_variants(rng, title)
        if new not in book and new.lower() not in {t.lower() for t in book}:
            book[new] = book.pop(title)
    elif kind == "duplicate":
        new = _sheet_variants(rng, title)
        if new.lower() not in {t.lower() for t in book}:
            book[new] = [list(r) for r in book[title]]
    elif kind == "title_rows":
        book[title][0:0] = [[rng.choice(["Pipeline 2027", "project_id", "Draft — do not circulate", None])]
                            for _ in range(rng.randint(1, 3))]
    elif kind == "blank_rows":
        for _ in range(rng.randint(1, 4)):
            book[title].insert(rng.randrange(len(book[title]) + 1), [])
    elif kind == "header_only":
        book[title] = book[title][: _header_index(book[title]) + 1]
    elif kind == "empty":
        book[title] = []
    elif kind == "unknown":
        book[rng.choice(["Notes", "Lookups", "Sheet3"])] = [["a", "b"], [1, "x"]]
    elif kind == "reorder":
        items = list(book.items())
        rng.shuffle(items)
        book.clear()
        book.update(items)
    elif kind == "report":
        ids = [r[0] for r in book.get("Projects", [])[1:] if r]
        book["Portfolio"] = [["rank", "project_id", "decision", "decision_as_written"]] + [
            [k, pid, rng.choice(["auto", "exclude", "must fund", "bogus", None]), rng.choice(["auto", None, 3])]
            for k, pid in enumerate(ids[:3], 1)]
    else:  # far_rows: a stray value far below the table
        book[title].extend([[] for _ in range(rng.randint(50, 3000))])
        book[title].append([None] * rng.randint(0, 40) + ["stray"])
    log.append(f"sheet: {kind} {title}")


def mutate_file(rng, data: bytes, log) -> bytes:
    kind = rng.choice(["truncate", "flip", "drop_part", "garble_part", "cut_part", "doctype", "prepend", "append",
                       "empty_part"])
    if kind == "truncate":
        n = rng.randrange(len(data))
        log.append(f"file: truncated to {n} bytes")
        return data[:n]
    if kind == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        log.append("file: flipped bytes")
        return bytes(b)
    if kind == "prepend":
        log.append("file: garbage before the zip")
        return rng.randbytes(rng.randint(1, 64)) + data
    if kind == "append":
        log.append("file: garbage after the zip")
        return data + rng.randbytes(rng.randint(1, 64))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    name = rng.choice(sorted(parts))
    if kind == "drop_part":
        del parts[name]
    elif kind == "garble_part":
        parts[name] = rng.randbytes(rng.randint(0, 200))
    elif kind == "cut_part":
        parts[name] = parts[name][: rng.randrange(len(parts[name]) + 1)]
    elif kind == "empty_part":
        parts[name] = b""
    else:
        xml = parts[name]
        cut = xml.find(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        parts[name] = xml[:cut] + b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + xml[cut:]
    log.append(f"file: {kind} {name}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    return out.getvalue()


# ----------------------------------------------------------------------------- writing
def write_book(book: dict[str, list[list]], path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False, "nan_inf_to_errors": True, "in_memory": True})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for title, rows in book.items():
        ws = wb.add_worksheet(title)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, Formula):
                    ws.write_formula(r, c, v.formula, None, v.cached)
                elif isinstance(v, ErrorValue):
                    ws.write_formula(r, c, "=NA()", None, v.code)
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (dt.datetime, dt.date, dt.time)):
                    ws.write_datetime(r, c, v, datefmt)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
    wb.close()


def case(seed: int, path: Path) -> tuple[str, list[str]]:
    """Write the damaged workbook of ``seed`` to ``path``; return (level, mutation log)."""
    rng = random.Random(seed)
    book = rng.choice(BASES)()
    log: list[str] = [f"seed {seed}"]
    level = rng.choices(["cell", "column", "sheet", "file", "none"], weights=[50, 20, 15, 13, 2])[0]
    for _ in range(rng.choice((1, 1, 1, 2, 3)) if level != "none" else 0):
        if level == "cell":
            mutate_cell(rng, book, log)
        elif level == "column":
            mutate_column(rng, book, log)
        elif level == "sheet":
            mutate_sheet(rng, book, log)
    if not book:
        book["Sheet1"] = []
    write_book(book, path)
    if level == "file":
        path.write_bytes(mutate_file(rng, path.read_bytes(), log))
    return level, log


if __name__ == "__main__":
    lvl, steps = case(int(sys.argv[1]), Path(sys.argv[2]))
    print(lvl, *steps, sep="\n  ")
