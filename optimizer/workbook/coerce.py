"""Turning one cell into one typed value, or a message saying why it cannot be.

Pure functions: ``coerce(value, column)`` returns ``(value, None)`` or ``(None, message)``.
Numbers typed as text ("1,200", "25%", " 3.5 ") are read as numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from .schema import Column, normalize

_EXCEL_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA",
                 "#SPILL!", "#CALC!"}
_YES = {"yes", "y", "true", "1", "approved", "x"}
_NO = {"no", "n", "false", "0", "rejected", "denied"}
_PENDING = {"pending", "tbd", "open", "?"}
#: the largest magnitude read in a money, number or whole-number cell. HiGHS refuses matrix
#: values above 1e15 and takes 1e20 for infinity; no real amount reaches it in any currency
#: unit (¥1,000 trillion is 1e15), so a larger one is a typing or unit error.
MAX_MAGNITUDE = 1e15
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_number(value: object) -> tuple[float | None, str | None, bool]:
    """(number, error, was_percent). Accepts "1,200", "25%", " 3.5 ", "$1.2"."""
    if isinstance(value, bool):
        return None, "is yes/no, expected a number", False
    if isinstance(value, (int, float)):
        f = float(value)
        if not math.isfinite(f):
            return None, "is not a finite number", False
        return f, None, False
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return None, "is a date or time, expected a number", False
    text = str(value).strip()
    if text.upper() in _EXCEL_ERRORS:
        return None, f"is the Excel error {text.upper()}, expected a number", False
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    text = text.replace(",", "").replace("_", "").replace(" ", "")
    if text.startswith("(") and text.endswith(")"):  # accounting negative: (1.5)
        text = "-" + text[1:-1]
    sign = text[0] if text[:1] in ("+", "-") else ""
    text = sign + text[len(sign):].lstrip("$¥")  # currency after the sign: -$2, ($1.5)
    if not _NUMBER.match(text):
        return None, "is not a number", False
    f = float(text)
    if not math.isfinite(f):
        return None, "is not a finite number", False
    return (f / 100.0 if percent else f), None, percent


def format_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def coerce(value: object, column: Column) -> tuple[object, str | None]:
    """Read one cell as ``column`` says. Blank cells give ``(None, None)``."""
    if is_blank(value):
        return None, None
    t = column.type
    if t in ("text", "yesno", "approval", "choice") and isinstance(value, str) \
            and value.strip().upper() in _EXCEL_ERRORS:
        return None, f"is the Excel error {value.strip().upper()}"
    if t == "text":
        return format_text(value), None
    if t in ("yesno", "approval", "choice"):
        if isinstance(value, bool):
            word = "yes" if value else "no"
        elif isinstance(value, (int, float)) and value in (0, 1):
            word = "yes" if value == 1 else "no"
        else:
            word = str(value).strip().lower()
        if t == "yesno":
            if word in _YES:
                return True, None
            if word in _NO:
                return False, None
            return None, "must be yes or no"
        if t == "approval":
            if word in _YES:
                return "yes", None
            if word in _NO:
                return "no", None
            if word in _PENDING:
                return "pending", None
            return None, "must be yes, no or pending"
        key = normalize(word)
        for choice in column.choices:
            if key == normalize(choice):
                return choice, None
        return None, f"must be one of: {', '.join(column.choices)}"
    if t == "year" and isinstance(value, (dt.datetime, dt.date)):
        number = float(value.year)
        err = None
    else:
        number, err, percent = parse_number(value)
        if err:
            return None, err
        if t == "share" and not percent and number is not None and 1 < number <= 100 and isinstance(value, str):
            return None, "must be a share from 0 to 1 (write 25% or 0.25)"
    assert number is not None
    if t in ("money", "number", "int") and abs(number) >= MAX_MAGNITUDE:
        return None, ("is too large: amounts of 1e15 or more are not read (the solver cannot handle them "
                      "exactly); check the currency unit")
    if t in ("int", "year"):
        if abs(number - round(number)) > 1e-9:
            return None, "must be a whole number" if t == "int" else "must be a year like 2027"
        number = int(round(number))
    if t == "share" and not 0 <= number <= 1:
        return None, "must be a share from 0 to 1 (or 0%–100%)"
    if column.min is not None:
        if number < column.min or (column.min_exclusive and number <= column.min):
            return None, f"must be {column.range_text}"
    if column.max is not None and number > column.max:
        return None, f"must be {column.range_text}"
    return number, None


_INF = float("inf")
_NUMERIC = ("money", "number", "int", "year", "share")


def coerce_column(values: list, column: Column) -> tuple[list, dict[int, str]]:
    """``coerce`` over a whole column: the typed values (None where blank or bad) and, for each
    bad cell, its index and message. The same answers as one ``coerce`` call per cell, faster.

    A pipeline column holds thousands of cells of one kind: numbers that are already numbers,
    the same few words, text. Those take a short path here; every other cell goes through
    ``coerce`` itself, so there is one definition of what a cell means.
    """
    t = column.type
    errors: dict[int, str] = {}
    if t in _NUMERIC:
        out = _plain_numbers(values, column)
        if out is not None:
            return out, errors
        out = [None] * len(values)
        _numbers(values, column, out, errors)
        return out, errors
    out: list = [None] * len(values)
    if t == "text":
        for i, v in enumerate(values):
            c = v.__class__
            if c is str:
                s = v.strip()
                if not s:
                    continue
                if s[0] == "#" and s.upper() in _EXCEL_ERRORS:
                    errors[i] = f"is the Excel error {s.upper()}"
                    continue
                out[i] = s
            elif c is int:
                out[i] = str(v)
            elif v is None:
                continue
            else:
                out[i], err = coerce(v, column)
                if err:
                    errors[i] = err
    else:
        # words: a column holds a handful of distinct ones, each read once
        seen: dict = {}
        for i, v in enumerate(values):
            if v is None:
                continue
            key = (v.__class__, v)  # 1, 1.0 and True are different cells
            try:
                hit = seen.get(key)
            except TypeError:  # unhashable: never a cell value, but coerce decides
                hit = None
            if hit is None:
                hit = coerce(v, column)
                try:
                    seen[key] = hit
                except TypeError:
                    pass
            if hit[1]:
                errors[i] = hit[1]
            else:
                out[i] = hit[0]
    return out, errors


def _plain_numbers(values: list, column: Column) -> list | None:
    """The column read at once when every cell is blank (None) or an int or float that passes
    every check of its column: the usual case, decided from the column's smallest and largest
    values. None when any cell needs a closer look (``_numbers`` then reads it cell by cell)."""
    kinds = set(map(type, values))
    if not kinds <= _PLAIN_KINDS:
        return None
    numbers = [v for v in values if v is not None] if _NONE in kinds else values
    if not numbers:
        return list(values)
    try:
        total = sum(numbers)
    except OverflowError:
        return None
    if total - total != 0:  # an inf or a nan (or a sum past the float range): cell by cell
        return None
    low, high = min(numbers), max(numbers)
    t = column.type
    if t in ("money", "number", "int") and not -MAX_MAGNITUDE < low <= high < MAX_MAGNITUDE:
        return None
    if t == "share" and not 0 <= low <= high <= 1:
        return None
    if column.min is not None and (low < column.min or (column.min_exclusive and low <= column.min)):
        return None
    if column.max is not None and high > column.max:
        return None
    if t in ("int", "year"):
        if float in kinds:
            return None  # whole numbers typed as 3.0, or not whole: cell by cell
        return list(values)  # ints: int(round(float(v))) == v below 1e15
    if _NONE in kinds:
        return [None if v is None else float(v) for v in values]
    return list(map(float, values))


_NONE = type(None)
_PLAIN_KINDS = {float, int, _NONE}


def _numbers(values: list, column: Column, out: list, errors: dict[int, str]) -> None:
    """The numeric column types: cells that are already int or float are checked here, in line
    with ``coerce``; text, dates, yes/no and the rest go through ``coerce``."""
    t = column.type
    lo, hi, exclusive = column.min, column.max, column.min_exclusive
    whole = t in ("int", "year")
    bounded_magnitude = t in ("money", "number", "int")
    share = t == "share"
    range_msg = f"must be {column.range_text}" if lo is not None or hi is not None else ""
    for i, v in enumerate(values):
        c = v.__class__
        if c is float or c is int:
            f = float(v)
            if f != f or f == _INF or f == -_INF:
                errors[i] = "is not a finite number"
                continue
            if bounded_magnitude and abs(f) >= MAX_MAGNITUDE:
                errors[i] = ("is too large: amounts of 1e15 or more are not read (the solver cannot handle them "
                             "exactly); check the currency unit")
                continue
            if whole:
                if abs(f - round(f)) > 1e-9:
                    errors[i] = "must be a whole number" if t == "int" else "must be a year like 2027"
                    continue
                f = int(round(f))
            elif share and not 0 <= f <= 1:
                errors[i] = "must be a share from 0 to 1 (or 0%–100%)"
                continue
            if lo is not None and (f < lo or (exclusive and f <= lo)):
                errors[i] = range_msg
                continue
            if hi is not None and f > hi:
                errors[i] = range_msg
                continue
            out[i] = f
        elif v is None:
            continue
        else:
            out[i], err = coerce(v, column)
            if err:
                errors[i] = err
