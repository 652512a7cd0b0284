"""The output workbook begun while the model is solved (ReportDraft): on a second thread, or in a
forked child process as the command line does, it is the workbook ``write_report`` writes."""

from __future__ import annotations

import os
import signal
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from optimizer.errors import InfeasibleError
from optimizer.runner import run_workbook, solve_pipeline
from optimizer.workbook import writer
from optimizer.workbook.validate import read_pipeline
from optimizer.workbook.writer import ReportDraft, write_report

from helpers import make_workbook, project

SAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "pipeline.xlsx"
FORKS = pytest.mark.skipif(not writer._can_fork(), reason="no fork() here")


@pytest.fixture(scope="module")
def solved():
    data = read_pipeline(SAMPLE)
    _, report = solve_pipeline(data)
    return data, report


def parts(path: Path) -> dict[str, bytes]:
    """Every part of the package but the one holding the time it was written."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def draft_write(data, report, out: Path, **kw) -> ReportDraft:
    draft = ReportDraft(data, out, **kw)
    draft.start()
    draft.write(report)
    return draft


def test_thread_draft_writes_the_same_workbook_as_write_report(tmp_path, solved):
    data, report = solved
    write_report(report, data, tmp_path / "plain.xlsx")
    draft = draft_write(data, report, tmp_path / "draft.xlsx")
    assert draft.carried_by == "thread"
    plain, drafted = parts(tmp_path / "plain.xlsx"), parts(tmp_path / "draft.xlsx")
    assert plain.keys() == drafted.keys()
    assert [n for n in plain if plain[n] != drafted[n]] == []
    # and it is the workbook an analyst opens: the carried sheets whole, the report sheets first
    wb = openpyxl.load_workbook(tmp_path / "draft.xlsx", read_only=True)
    assert wb.sheetnames[:10] == ["Summary", "Portfolio", "Alternatives", "Rejected", "Sectors", "Nations",
                                  "Sources", "Capital", "Constraints", "Run"]
    projects = next(s for s in data.source.sheets if s.title == "Projects")
    got = [tuple(r) for r in wb["Projects"].iter_rows(values_only=True)]
    width = max(len(r) for r in projects.rows)
    assert [tuple(r) + (None,) * (width - len(r)) for r in projects.rows] == [r[:width] for r in got]


@FORKS
def test_child_process_writes_the_same_workbook_as_write_report(tmp_path, solved):
    data, report = solved
    write_report(report, data, tmp_path / "plain.xlsx")
    draft = draft_write(data, report, tmp_path / "forked.xlsx", separate_process=True)
    assert draft.carried_by == "process"
    plain, forked = parts(tmp_path / "plain.xlsx"), parts(tmp_path / "forked.xlsx")
    assert plain.keys() == forked.keys()
    assert [n for n in plain if plain[n] != forked[n]] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forked.xlsx", "plain.xlsx"]


@FORKS
@pytest.mark.parametrize("how", ["exit 1", "killed", "garbage"])
def test_a_failed_child_leaves_the_sheets_to_this_process(tmp_path, solved, monkeypatch, how):
    data, report = solved
    write_report(report, data, tmp_path / "plain.xlsx")

    def broken(w, pairs, out):
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "garbage":
            out.write(b"not a pickle")
            out.flush()
            os._exit(0)
        os._exit(1)

    monkeypatch.setattr(writer, "_carry_in_child", broken)
    draft = draft_write(data, report, tmp_path / "fallback.xlsx", separate_process=True)
    assert draft.carried_by == "here"
    plain, fallback = parts(tmp_path / "plain.xlsx"), parts(tmp_path / "fallback.xlsx")
    assert [n for n in plain if plain[n] != fallback.get(n)] == []


@FORKS
def test_a_child_that_hangs_is_stopped_and_the_sheets_written_here(tmp_path, solved, monkeypatch):
    import time

    data, report = solved
    write_report(report, data, tmp_path / "plain.xlsx")
    monkeypatch.setattr(writer, "_carry_in_child", lambda w, pairs, out: time.sleep(120))
    draft = ReportDraft(data, tmp_path / "late.xlsx", separate_process=True)
    draft.start()
    pid = draft._child[0]
    draft._patience = 0.5
    began = time.perf_counter()
    draft.write(report)
    assert time.perf_counter() - began < 30
    assert draft.carried_by == "here"
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    plain, late = parts(tmp_path / "plain.xlsx"), parts(tmp_path / "late.xlsx")
    assert [n for n in plain if plain[n] != late.get(n)] == []


@FORKS
def test_abandon_stops_the_child_and_writes_nothing(tmp_path, solved):
    data, _ = solved
    draft = ReportDraft(data, tmp_path / "never.xlsx", separate_process=True)
    draft.start()
    pid = draft._child[0]
    draft.abandon()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(pid, os.WNOHANG)
    assert list(tmp_path.iterdir()) == []


@FORKS
def test_an_infeasible_run_abandons_the_draft_and_writes_the_diagnosis(tmp_path):
    src = make_workbook(tmp_path / "in.xlsx", [project("BIG", 500, 50, decision="must fund"), project("P2", 10, 2)],
                        fund={"equity_capital": 300})
    out = tmp_path / "out.xlsx"
    children_before = _children()
    with pytest.raises(InfeasibleError):
        run_workbook(src, out, separate_process=True)
    assert "Diagnosis" in openpyxl.load_workbook(out, read_only=True).sheetnames
    assert _children() == children_before


@FORKS
def test_empty_and_odd_carried_sheets_through_the_child(tmp_path):
    """An empty carried sheet (no cells: no rows to render), a sheet with a date column and one
    with long text pass through the child exactly as through this process."""
    src = tmp_path / "in.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Projects")
    header = ["project_id", "name", "sector", "capex", "npv", "us_approval", "jp_approval"]
    for j, h in enumerate(header):
        ws.write_string(0, j, h)
    for i, (pid, capex, npv) in enumerate([("P1", 40, 10), ("P2", 30, 9), ("P3", 50, 8)], 1):
        for j, v in enumerate((pid, f"Project {pid}", "AI", capex, npv, "yes", "yes")):
            ws.write(i, j, v)
    fund = wb.add_worksheet("Fund")
    for i, row in enumerate([("parameter", "value"), ("equity_capital", 100), ("planning_start", 2027)]):
        fund.write_row(i, 0, row)
    wb.add_worksheet("Empty")
    notes = wb.add_worksheet("Notes")
    notes.write_string(0, 0, "a long note " * 3000)
    notes.write_string(1, 0, "  leading and trailing spaces  ")
    notes.write_string(2, 0, "=not a formula")
    wb.close()
    data = read_pipeline(src)
    _, report = solve_pipeline(data)
    write_report(report, data, tmp_path / "plain.xlsx")
    draft = draft_write(data, report, tmp_path / "forked.xlsx", separate_process=True)
    assert draft.carried_by == "process"
    plain, forked = parts(tmp_path / "plain.xlsx"), parts(tmp_path / "forked.xlsx")
    assert [n for n in plain if plain[n] != forked[n]] == []
    back = openpyxl.load_workbook(tmp_path / "forked.xlsx")
    assert back["Empty"].max_row == 1 and back["Empty"]["A1"].value is None
    assert back["Notes"]["A2"].value == "  leading and trailing spaces  "
    assert back["Notes"]["A3"].value == "=not a formula" and back["Notes"]["A3"].data_type == "s"


def test_parts_are_deflated_at_the_fast_level_and_zipfile_is_left_as_it_was(tmp_path, solved):
    import xlsxwriter.workbook as xw

    data, report = solved
    out = tmp_path / "out.xlsx"
    write_report(report, data, out)
    assert xw.ZipInfo is zipfile.ZipInfo
    with zipfile.ZipFile(out) as z:
        infos = z.infolist()
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        assert z.testzip() is None
        # the level is not recorded in the file: deflating the biggest part again tells it
        big = max(infos, key=lambda i: i.file_size)
        data = z.read(big)

    def deflated(level: int) -> int:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(c.compress(data) + c.flush())

    assert big.compress_size == deflated(writer.ZIP_LEVEL) != deflated(6)


def _children() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(writer._worksheet_class() is None, reason="XlsxWriter's stock rows writer here")
def test_a_pending_figure_is_waited_for_once_the_other_report_sheets_are_xml(tmp_path, solved, monkeypatch):
    """A figure still being computed (Report.pending) is waited for only once every report sheet
    but Summary, Nations and Run is filled and turned into its XML; the workbook is the one
    written from the report completed beforehand."""
    import dataclasses

    data, report = solved
    whole = dataclasses.replace(report, summary=report.summary + [("pending figure", 42.0)])
    write_report(whole, data, tmp_path / "whole.xlsx")
    writers = []
    real_end = writer._ReportWriter.end

    def end(self, rep):
        writers.append(self)
        return real_end(self, rep)

    monkeypatch.setattr(writer._ReportWriter, "end", end)
    seen = {}

    def finish(rep):
        sheets = writers[0]._sheets
        seen.update({name: ws._rendered is not None for name, ws in sheets.items() if ws.dim_rowmin is not None})
        seen["Summary filled"] = bool(sheets["Summary"].table)
        rep.summary = rep.summary + [("pending figure", 42.0)]

    draft_write(data, dataclasses.replace(report, pending=finish), tmp_path / "pending.xlsx")
    assert seen.pop("Summary filled") is False
    assert seen == {name: name not in ("Summary", "Nations", "Run") for name in seen}
    assert {"Portfolio", "Rejected", "Constraints"} <= {name for name, xml in seen.items() if xml}
    a, b = parts(tmp_path / "whole.xlsx"), parts(tmp_path / "pending.xlsx")
    assert a.keys() == b.keys() and [n for n in a if a[n] != b[n]] == []


@FORKS
def test_rows_deflated_ahead_in_the_child_and_before_the_wait_make_the_same_workbook(tmp_path, solved, monkeypatch):
    """The command line's way, every part shared out and every sheet's rows deflated ahead: the
    carried sheets' in the child, the report sheets' while the run would wait for its last
    figures. Each part reads back as write_report's, and holds the bytes deflated ahead."""
    import dataclasses

    data, report = solved
    write_report(report, data, tmp_path / "plain.xlsx")
    monkeypatch.setattr(writer, "DEFLATE_AHEAD_CHARS", 0)
    monkeypatch.setattr(writer, "PARALLEL_DEFLATE_BYTES", 0)
    ahead: list[bytes] = []
    real = writer._PartText.splice

    def splice(self, text, deflated):
        ahead.append(deflated[0])
        return real(self, text, deflated)

    monkeypatch.setattr(writer._PartText, "splice", splice)
    waited = []
    pending = dataclasses.replace(report, pending=lambda r: waited.append(True))
    draft = draft_write(data, pending, tmp_path / "ahead.xlsx", separate_process=True)
    assert draft.carried_by == "process" and waited == [True]
    plain, got = parts(tmp_path / "plain.xlsx"), parts(tmp_path / "ahead.xlsx")
    assert plain.keys() == got.keys()
    assert [n for n in plain if plain[n] != got[n]] == []
    assert writer.complete_streams((tmp_path / "ahead.xlsx").read_bytes())  # each part one whole deflate stream
    with_rows = [n for n, xml in got.items() if n.startswith("xl/worksheets/sheet") and b"<row " in xml]
    assert len(ahead) == len(with_rows) - 3  # every sheet with rows but Summary, Nations and Run
    raw = (tmp_path / "ahead.xlsx").read_bytes()
    assert all(d in raw for d in ahead)  # each part took its rows' bytes as they were deflated
