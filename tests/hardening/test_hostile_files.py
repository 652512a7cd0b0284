"""One file of each hostile or foreign kind: each is refused with exit 2 and a message naming the
file and what it is, within 10 s and under 1 GB of memory, measured on the real command in a
child process (its peak resident memory from ``getrusage``)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hostile

MEASURE = r"""
import json, resource, subprocess, sys, time
def cap():  # a safety net only: the bound asserted is the measured peak below
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
start = time.perf_counter()
try:
    p = subprocess.run(sys.argv[1:], capture_output=True, timeout=60, preexec_fn=cap)
    rc, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
except subprocess.TimeoutExpired:
    rc, out, err = None, "", "timed out after 60 s"
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": rc, "stdout": out, "stderr": err, "seconds": wall, "max_rss": rss}))
"""

SECONDS = 10.0
MEMORY = 1 << 30


def measured(verb: str, path: Path, *args: str, cwd: Path) -> dict:
    """Run ``fundopt VERB PATH --json`` in a child; its exit code, JSON, time and peak memory."""
    cmd = [sys.executable, "-c", MEASURE, sys.executable, "-m", "optimizer", verb, str(path), "--json", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120)
    m = json.loads(done.stdout)
    m["json"] = json.loads(m["stdout"]) if m["stdout"].strip() else None
    return m


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """build(builder, name): the hostile file, made once per test session (the tests never change it)."""
    made: dict[tuple, Path] = {}

    def make(builder: str, name: str, **kw) -> Path:
        key = (builder, name, tuple(sorted(kw.items())))
        if key not in made:
            made[key] = getattr(hostile, builder)(tmp_path_factory.mktemp(builder) / name, **kw)
        return made[key]

    return make


CASES = [
    # builder, file name, words the message must hold
    ("zip_bomb", "bomb.xlsx", ["unpacks to 2.0 GB", "zip bomb"]),
    ("lying_bomb", "lying.xlsx", ["damaged workbook", "xl/worksheets/sheet1.xml", "Bad CRC"]),
    ("ratio_bomb", "ratio.xlsx", ["compressed 1,0", "to 1", "zip bombs"]),
    ("billion_laughs", "laughs.xlsx", ["xl/sharedStrings.xml", "declares a document type", "entity-expansion"]),
    ("external_entity", "xxe.xlsx", ["declares a document type"]),
    ("many_cells", "cells.xlsx", ["has 2,700,000 cells", "more than the 2,500,000"]),
    ("many_rows", "rows.xlsx", ["1,100,000 rows", "more than Excel's 1,048,576"]),
    ("many_parts", "parts.xlsx", ["20,0", "parts, more than the 10,000"]),
    ("xls", "old.xls", ["old Excel 97–2003 .xls workbook", "save the workbook as .xlsx"]),
    ("xls", "old-renamed.xlsx", ["old Excel 97–2003 .xls workbook", "save the workbook as .xlsx"]),
    ("encrypted", "locked.xlsx", ["password-protected"]),
    ("ods", "calc.ods", ["OpenDocument spreadsheet (.ods)", "save the workbook as .xlsx"]),
    ("ods", "calc-renamed.xlsx", ["OpenDocument spreadsheet (.ods)"]),
    ("xlsb", "binary.xlsb", ["binary Excel workbook (.xlsb)"]),
    ("csv", "pipeline.csv", ["is text (CSV)", ".csv files are not read"]),
    ("csv", "csv-renamed.xlsx", ["is text (CSV)"]),
    ("html", "export.xls", ["is a web page (HTML)"]),
    ("random_bytes", "random.xlsx", ["is not an Excel .xlsx workbook"]),
    ("empty", "empty.xlsx", ["the file is empty (0 bytes)"]),
    ("truncated", "cut.xlsx", ["damaged or truncated", "zip directory"]),
]


@pytest.mark.parametrize("builder, name, words", CASES, ids=[c[1] for c in CASES])
def test_hostile_file_is_refused_quickly_in_bounded_memory(tmp_path, build, builder, name, words):
    path = build(builder, name)
    before = sha(path)
    m = measured("validate", path, cwd=tmp_path)
    assert m["rc"] == 2, m["stderr"]
    assert m["seconds"] < SECONDS, m["seconds"]
    assert m["max_rss"] < MEMORY, m["max_rss"]
    assert "Traceback" not in m["stderr"]
    out = m["json"]
    assert out["status"] == "invalid"
    (error,) = out["errors"]
    assert error["sheet"] in (name, "Projects")  # the file, or the sheet that is too large
    for w in words:
        assert w in error["message"], error["message"]
    assert sha(path) == before


@pytest.mark.parametrize("builder, name", [("zip_bomb", "bomb.xlsx"), ("billion_laughs", "laughs.xlsx"),
                                           ("many_cells", "cells.xlsx")])
def test_run_refuses_the_worst_ones_too_and_writes_nothing(tmp_path, build, builder, name):
    path = build(builder, name)
    m = measured("run", path, cwd=tmp_path)
    assert m["rc"] == 2 and m["json"]["status"] == "invalid", m["stderr"]
    assert m["seconds"] < SECONDS and m["max_rss"] < MEMORY, (m["seconds"], m["max_rss"])
    assert not (tmp_path / "outputs").exists()


def test_entity_expansion_inside_a_sheet_is_refused(tmp_path):
    path = hostile.billion_laughs(tmp_path / "laughs.xlsx", part="xl/worksheets/sheet1.xml")
    m = measured("validate", path, cwd=tmp_path)
    assert m["rc"] == 2 and m["seconds"] < SECONDS and m["max_rss"] < MEMORY
    (error,) = m["json"]["errors"]
    assert error["value"] == "xl/worksheets/sheet1.xml" and "declares a document type" in error["message"]


def test_a_dimension_claiming_the_whole_sheet_reads_the_real_table(tmp_path):
    # <dimension ref="A1:XFD1048576"/> over three projects: read as three projects, fast
    path = hostile.dimension_claims_whole_sheet(tmp_path / "dim.xlsx")
    m = measured("validate", path, cwd=tmp_path)
    assert m["rc"] == 0, m["stdout"] + m["stderr"]
    assert m["json"]["status"] == "valid"
    assert m["seconds"] < SECONDS and m["max_rss"] < MEMORY


def test_a_real_cell_in_the_last_row_and_column_is_bounded(tmp_path):
    path = hostile.dimension_claims_whole_sheet(tmp_path / "far.xlsx", far_cell=True)
    m = measured("validate", path, cwd=tmp_path)
    assert m["rc"] == 2 and m["seconds"] < SECONDS and m["max_rss"] < MEMORY
    (error,) = m["json"]["errors"]
    assert (error["sheet"], error["row"], error["column"]) == ("Projects", 1048576, "XFD")
    assert "is too large to read" in error["message"] and "Ctrl+End" in error["message"]


def test_a_row_numbered_beyond_excel_is_a_located_problem(tmp_path):
    path = hostile.row_number_far_beyond_excel(tmp_path / "far.xlsx")
    m = measured("validate", path, cwd=tmp_path)
    assert m["rc"] == 2 and m["seconds"] < SECONDS and m["max_rss"] < MEMORY
    (error,) = m["json"]["errors"]
    assert (error["sheet"], error["row"]) == ("Projects", 1048577)
    assert "beyond Excel's last row 1,048,576" in error["message"]


def test_xlsm_data_is_read_and_its_macros_never_run(tmp_path):
    path = hostile.xlsm(tmp_path / "pipeline.xlsm")
    before = sha(path)
    m = measured("run", path, "-o", str(tmp_path / "out.xlsx"), cwd=tmp_path)
    assert m["rc"] == 0, m["stdout"] + m["stderr"]
    assert m["json"]["status"] == "optimal" and m["json"]["selected"] == ["P2"]
    assert sha(path) == before
    assert not (tmp_path / "pwned").exists()
    # the output is a plain workbook: no VBA project carried into it
    import zipfile

    assert not any("vba" in n.lower() for n in zipfile.ZipFile(tmp_path / "out.xlsx").namelist())


def test_a_pipe_named_like_a_workbook_is_refused_without_blocking(tmp_path):
    import os

    from optimizer.workbook.validate import validate_path

    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    (p,) = validate_path(fifo)
    assert (p.sheet, p.message) == ("pipe.xlsx", "is not a regular file (a device, pipe or socket), not a workbook")
