"""The real command line, run as a subprocess (``python -m optimizer``) in a scratch folder.

SPEC §3: exit codes 0 solved, 2 bad input, 3 infeasible; ``--json`` prints exactly one JSON
object on standard output; bad input lists every problem located by sheet, row, column and
value; nothing is written on bad input and the input is never modified.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import make_workbook

TIMEOUT = 300


def fundopt(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)


def only_json(stdout: str) -> dict:
    """stdout must hold exactly one JSON object and nothing else."""
    decoder = json.JSONDecoder()
    text = stdout.strip()
    assert text.startswith("{"), f"stdout is not a JSON object: {stdout!r}"
    obj, end = decoder.raw_decode(text)
    assert text[end:].strip() == "", f"more than one JSON object on stdout: {stdout!r}"
    assert isinstance(obj, dict)
    return obj


def flat(text: str) -> str:
    """Whitespace-normalized text (the console may wrap long lines)."""
    return " ".join(text.split())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def project(pid, **kw):
    return {"project_id": pid, "name": f"Project {pid}", "sector": "Energy", "capex": 10, "npv": 5, **kw}


def good_workbook(path: Path) -> Path:
    # equity 20: P1 + P3 (capex 15, NPV 9) beats P1 + P2 (20, 8) and P2 + P3 (15, 7); all three cost 25
    return make_workbook(path, [project("P1", capex=10, npv=5), project("P2", capex=10, npv=3),
                                project("P3", capex=5, npv=4)],
                         fund={"equity_capital": 20, "alternatives": 1, "time_limit_s": 30})


def bad_workbook(path: Path) -> Path:
    """The issue's acceptance case: a duplicate id, a negative capex and a text NPV."""
    return make_workbook(path, [project("P1"), project("P2", capex=-5), project("P1", name="again"),
                                project("P3", npv="lots")])


BAD_ERRORS = [
    {"sheet": "Projects", "row": 3, "column": "capex", "value": -5, "message": "capex must be an amount > 0"},
    {"sheet": "Projects", "row": 4, "column": "project_id", "value": "P1",
     "message": "duplicate project_id P1 (first on row 2)"},
    {"sheet": "Projects", "row": 5, "column": "npv", "value": "lots", "message": "npv is not a number"},
]


# ----------------------------------------------------------------------------- bad input: exit 2
def test_acceptance_bad_workbook_run_json(tmp_path):
    src = bad_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "--json")
    assert result.returncode == 2, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "invalid"
    assert out["errors"] == BAD_ERRORS
    for key in ("objective", "mip_gap", "selected", "output"):
        assert key in out
    assert out["output"] is None and out["selected"] == [] and out["objective"] is None
    # nothing written, input untouched
    assert not (tmp_path / "outputs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.xlsx"]
    assert sha256(src) == before
    assert "Traceback" not in result.stderr


def test_acceptance_bad_workbook_run_json_with_output_path(tmp_path):
    src = bad_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "-o", "result.xlsx", "--json")
    assert result.returncode == 2, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "invalid" and out["errors"] == BAD_ERRORS
    assert not (tmp_path / "result.xlsx").exists()
    assert not (tmp_path / "outputs").exists()
    assert sha256(src) == before


def test_acceptance_bad_workbook_human_output_lists_each_problem(tmp_path):
    src = bad_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    result = fundopt(tmp_path, "run", "pipeline.xlsx")
    assert result.returncode == 2
    text = flat(result.stdout + result.stderr)
    assert "3 problems in the input" in text and "nothing was solved or written" in text
    assert "Projects row 3, column capex: capex must be an amount > 0 (found -5)" in text
    assert "Projects row 4, column project_id: duplicate project_id P1 (first on row 2) (found 'P1')" in text
    assert "Projects row 5, column npv: npv is not a number (found 'lots')" in text
    assert "Traceback" not in text
    assert not (tmp_path / "outputs").exists()
    assert sha256(src) == before


def test_validate_good_workbook_exits_0(tmp_path):
    src = good_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    result = fundopt(tmp_path, "validate", "pipeline.xlsx")
    assert result.returncode == 0, result.stderr
    assert "no problems found" in flat(result.stdout + result.stderr)
    json_result = fundopt(tmp_path, "validate", "pipeline.xlsx", "--json")
    assert json_result.returncode == 0
    out = only_json(json_result.stdout)
    assert out["status"] == "valid" and out["errors"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.xlsx"]  # solves and writes nothing
    assert sha256(src) == before


def test_validate_bad_workbook_exits_2_and_lists_problems(tmp_path):
    src = bad_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    result = fundopt(tmp_path, "validate", "pipeline.xlsx")
    assert result.returncode == 2
    text = flat(result.stdout + result.stderr)
    for where in ("Projects row 3, column capex", "Projects row 4, column project_id", "Projects row 5, column npv"):
        assert where in text
    json_result = fundopt(tmp_path, "validate", "pipeline.xlsx", "--json")
    assert json_result.returncode == 2
    out = only_json(json_result.stdout)
    assert out["status"] == "invalid" and out["errors"] == BAD_ERRORS
    assert sha256(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.xlsx"]


def test_problems_on_several_sheets_are_all_reported_by_the_cli(tmp_path):
    make_workbook(tmp_path / "pipeline.xlsx", [project("P1", risk=9)], fund={"equity_capitol": 100},
                  sectors=[{"sector": "Energy", "min_share": 0.5, "max_share": 0.2}],
                  rules=[{"rule": "requires", "projects": "P1, P8"}])
    result = fundopt(tmp_path, "validate", "pipeline.xlsx", "--json")
    assert result.returncode == 2
    errors = only_json(result.stdout)["errors"]
    assert [(e["sheet"], e["row"], e["column"], e["value"]) for e in errors] == [
        ("Projects", 2, "risk", 9), ("Fund", 3, "parameter", "equity_capitol"),
        ("Sectors", 2, "min_share", 0.5), ("Rules", 2, "projects", "P1, P8")]


@pytest.mark.parametrize("name, content, message", [
    ("pipeline.csv", b"project_id,name\nP1,a\n", ".csv files are not read"),
    ("pipeline.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, ".xls files are not read"),
    ("random.xlsx", bytes(range(256)) * 4, "is not an Excel .xlsx workbook"),
    ("empty.xlsx", b"", "is not an Excel .xlsx workbook"),
    ("missing.xlsx", None, "file not found"),
])
@pytest.mark.parametrize("verb", ["validate", "run"])
def test_files_that_are_not_workbooks_exit_2_without_a_traceback(tmp_path, name, content, message, verb):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = fundopt(tmp_path, verb, name, "--json")
    assert result.returncode == 2, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "invalid"
    (error,) = out["errors"]
    assert error["sheet"] == name and message in error["message"]
    assert "Traceback" not in result.stderr
    human = fundopt(tmp_path, verb, name)
    assert human.returncode == 2
    assert message in flat(human.stderr) and "Traceback" not in human.stderr
    assert not (tmp_path / "outputs").exists()


# ----------------------------------------------------------------------------- solved: exit 0
def test_run_json_success_keys_and_values(tmp_path):
    src = good_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "--json")
    assert result.returncode == 0, result.stderr
    out = only_json(result.stdout)
    for key in ("status", "objective", "mip_gap", "selected", "output", "errors"):
        assert key in out, key
    assert out["status"] in ("optimal", "feasible")
    assert out["objective"] == pytest.approx(9.0, abs=1e-6)
    assert sorted(out["selected"]) == ["P1", "P3"]
    assert out["errors"] == []
    assert out["mip_gap"] is None or 0 <= out["mip_gap"] <= 1e-4 + 1e-12
    assert Path(out["output"]) == Path("outputs") / "pipeline-portfolio.xlsx"
    assert (tmp_path / out["output"]).is_file()
    assert sha256(src) == before


def test_run_with_output_path_writes_there(tmp_path):
    good_workbook(tmp_path / "pipeline.xlsx")
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "-o", "result.xlsx", "--json")
    assert result.returncode == 0, result.stderr
    out = only_json(result.stdout)
    assert out["output"] == "result.xlsx"
    assert (tmp_path / "result.xlsx").is_file()
    assert not (tmp_path / "outputs").exists()


def test_run_human_output(tmp_path):
    good_workbook(tmp_path / "pipeline.xlsx")
    result = fundopt(tmp_path, "run", "pipeline.xlsx")
    assert result.returncode == 0, result.stderr
    text = flat(result.stdout + result.stderr)
    assert "objective 9.0000" in text and "2 of 3 projects funded" in text
    assert "Wrote outputs/pipeline-portfolio.xlsx" in text


# ----------------------------------------------------------------------------- infeasible: exit 3
def test_infeasible_must_fund_above_equity_exits_3_with_diagnosis(tmp_path):
    src = make_workbook(tmp_path / "pipeline.xlsx", [project("BIG", capex=500, npv=50, decision="must fund"),
                                                     project("P2")], fund={"equity_capital": 300})
    before = sha256(src)
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "--json")
    assert result.returncode == 3, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "infeasible"
    # exit 3 writes the Diagnosis workbook (input sheets carried) at the default output path
    assert out["selected"] == [] and out["output"] == "outputs/pipeline-portfolio.xlsx"
    diagnosis = out["diagnosis"]
    assert isinstance(diagnosis, list) and diagnosis
    for d in diagnosis:
        assert set(d) >= {"rule", "detail", "shortfall"}
    (equity,) = [d for d in diagnosis if "equity" in d["rule"]]
    assert equity["shortfall"] == pytest.approx(200.0)
    assert "500" in equity["detail"] and "300" in equity["detail"]
    diag = openpyxl.load_workbook(tmp_path / "outputs" / "pipeline-portfolio.xlsx")
    assert diag.sheetnames[:3] == ["Summary", "Diagnosis", "Run"] and "Projects" in diag.sheetnames
    assert [c.value for c in diag["Diagnosis"][1]][:3] == ["rule", "detail", "shortfall"]
    assert sha256(src) == before
    human = fundopt(tmp_path, "run", "pipeline.xlsx")
    assert human.returncode == 3
    text = flat(human.stderr)
    assert "Infeasible" in text and "equity" in text and "short by 200" in text


# ----------------------------------------------------------------------------- never overwrite the input
@pytest.mark.parametrize("target", ["pipeline.xlsx", "./pipeline.xlsx", "{abs}"])
def test_output_equal_to_input_exits_2_and_input_unchanged(tmp_path, target):
    src = good_workbook(tmp_path / "pipeline.xlsx")
    before = sha256(src)
    target = target.format(abs=src)
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "-o", target, "--json")
    assert result.returncode == 2, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "invalid"
    (error,) = out["errors"]
    assert error["column"] == "-o" and "overwrite the input" in error["message"]
    assert sha256(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.xlsx"]


def test_bad_command_line_values_exit_2(tmp_path):
    good_workbook(tmp_path / "pipeline.xlsx")
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "--mip-gap", "2", "--json")
    assert result.returncode == 2
    (error,) = only_json(result.stdout)["errors"]
    assert error == {"sheet": "command line", "row": None, "column": "--mip-gap", "value": 2.0,
                     "message": "must be from 0 to 1"}
    result = fundopt(tmp_path, "run", "pipeline.xlsx", "-o", "out.csv", "--json")
    assert result.returncode == 2
    (error,) = only_json(result.stdout)["errors"]
    assert error["column"] == "-o" and error["message"] == "the output must be an .xlsx file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.xlsx"]


# ----------------------------------------------------------------------------- start-up
def test_a_run_never_imports_numpy_testing_yet_it_works_when_used(tmp_path):
    """Pyomo imports numpy.testing (and unittest) at start-up; the command line gives it a
    stand-in (optimizer.cli._DeferNumpyTesting). A run must not import the real one, and code
    that does use numpy.testing afterwards must get it whole, however it asks."""
    wb = good_workbook(tmp_path / "in.xlsx")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "optimizer", "run", str(wb), "-o",
                           str(tmp_path / "out.xlsx"), "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert only_json(proc.stdout)["selected"] == ["P1", "P3"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "pyomo.core" in imported and "numpy.testing" in imported  # Pyomo asked for it
    assert "numpy.testing._private.utils" not in imported and "unittest" not in imported  # and got the stand-in
    script = (
        "import sys\n"
        "from optimizer.cli import _defer_numpy_testing\n"
        "_defer_numpy_testing()\n"
        "import numpy, pyomo.core, models.portfolio\n"
        "from pyomo.common.dependencies import numpy_available\n"
        "assert numpy_available\n"
        "stand_in = sys.modules['numpy.testing']\n"
        "assert type(stand_in).__name__ == 'Deferred' and 'unittest' not in sys.modules\n"
        "import numpy.testing as npt\n"
        "from numpy.testing import assert_allclose\n"
        "assert_allclose(1.0, 1.0)\n"
        "npt.assert_equal(1, 1)\n"
        "numpy.testing.assert_array_equal([1], [1])\n"
        "import numpy.testing._private.utils\n"
        "assert sys.modules['numpy.testing'] is numpy.testing and numpy.testing is not stand_in\n"
        "assert 'unittest' in sys.modules\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
