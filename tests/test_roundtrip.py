"""The round trip: the output opens in a real spreadsheet client (LibreOffice, headless), and the
output workbook — as written, and after a LibreOffice re-save — runs again to the same portfolio."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from optimizer.runner import run_workbook

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "inputs" / "pipeline.xlsx"


def _soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is missing in CI; .ci/run should have installed it")
        pytest.skip("LibreOffice (soffice) is not installed")
    return exe


def _convert(src: Path, fmt: str, outdir: Path, profile: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [_soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
           "--convert-to", fmt, "--outdir", str(outdir), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    produced = outdir / (src.stem + "." + fmt.split(":")[0])
    assert proc.returncode == 0 and produced.exists(), f"LibreOffice failed: {proc.stdout}\n{proc.stderr}"
    return produced


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roundtrip")
    before = _sha(SAMPLE)
    result = run_workbook(SAMPLE, tmp / "pipeline-portfolio.xlsx", verify=True)
    assert _sha(SAMPLE) == before, "the input workbook must never be modified"
    assert result.verify_problems == []
    assert result.report.status == "optimal"
    return tmp, result


@pytest.mark.slow
def test_output_opens_in_libreoffice_as_pdf(sample_run):
    tmp, result = sample_run
    pdf = _convert(result.output, "pdf", tmp / "pdf", tmp / "lo-profile")
    assert pdf.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow
def test_libreoffice_resave_runs_to_the_same_portfolio(sample_run):
    tmp, result = sample_run
    resaved = _convert(result.output, "xlsx", tmp / "resaved", tmp / "lo-profile")
    again = run_workbook(resaved, tmp / "again.xlsx", verify=True)
    assert again.verify_problems == []
    assert again.report.objective == pytest.approx(result.report.objective, rel=1e-9, abs=1e-9)
    assert sorted(again.report.selected) == sorted(result.report.selected)


def test_output_workbook_runs_to_the_same_portfolio(sample_run):
    tmp, result = sample_run
    before = _sha(result.output)
    again = run_workbook(result.output, tmp / "second.xlsx", verify=True)
    assert _sha(result.output) == before
    assert again.verify_problems == []
    assert again.report.objective == pytest.approx(result.report.objective, rel=1e-9, abs=1e-9)
    assert sorted(again.report.selected) == sorted(result.report.selected)
    # the output carries every input sheet, so its own re-run carries them again, whole
    first = {s.title: s.rows for s in result.data.source.sheets}
    second = {s.title: s.rows for s in again.data.source.sheets}
    assert first.keys() == second.keys()
    assert first["Projects"] == second["Projects"]


@pytest.mark.slow
def test_the_command_lines_workbook_with_its_parts_deflated_in_pieces_resaves_to_the_same_portfolio(
        tmp_path, monkeypatch):
    """As the command line writes it, with every part shared out on two threads and every sheet's
    rows deflated ahead (the thresholds set to nothing, so that the sample takes every path a
    10,000-project output takes): LibreOffice opens it, re-saves it, and the re-saved workbook
    runs to the same portfolio."""
    from optimizer.workbook import writer

    monkeypatch.setattr(writer, "DEFLATE_AHEAD_CHARS", 0)
    monkeypatch.setattr(writer, "PARALLEL_DEFLATE_BYTES", 0)
    result = run_workbook(SAMPLE, tmp_path / "cli.xlsx", verify=True, separate_process=True)
    assert result.verify_problems == [] and result.report.status == "optimal"
    assert writer.complete_streams(result.output.read_bytes())
    resaved = _convert(result.output, "xlsx", tmp_path / "resaved", tmp_path / "lo-profile")
    again = run_workbook(resaved, tmp_path / "again.xlsx", verify=True)
    assert again.verify_problems == []
    assert again.report.objective == pytest.approx(result.report.objective, rel=1e-9, abs=1e-9)
    assert sorted(again.report.selected) == sorted(result.report.selected)
