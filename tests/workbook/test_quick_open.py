"""Opening without openpyxl (optimizer/workbook/opener.py) reads exactly what opening with it reads.

Each workbook is read twice: ``read_raw(path, quick=True)`` (QuickBook, calamine, and a child
process opening it with openpyxl to check) and ``read_raw(path)``; the raw tables, carried
sheets, decision edits, problems and refusals must be the same, type for type. The child's
failures (it dies, hangs, writes garbage, sees another workbook) must change nothing but the
time taken.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.workbook import opener, reader
from optimizer.workbook.validate import build_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hardening"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzz  # noqa: E402
import hostile  # noqa: E402
from test_fast_reader import CELLS, STRINGS, crafted  # noqa: E402


def plain_pipeline(path: Path, n: int = 60, **options) -> Path:
    """A pipeline written the usual way (benchmarks/generate.py, XlsxWriter): calamine reads it all.
    ``options``: generate.make_pipeline's (alternatives, explain_limit, ...)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import generate

    return generate.write_workbook(generate.make_pipeline(n, seed=5, **options), path)


def outcome(path: Path, quick: bool) -> tuple:
    try:
        raw = reader.read_raw(path, quick)
    except InputError as exc:
        return ("refused", repr(exc.problems))
    pipeline, problems = build_pipeline(raw)
    tables = {k: (t.title, t.header_row, t.columns, repr(t.rows), t.extra) for k, t in raw.tables.items()}
    return ("read", tables, repr(raw.carried), repr(raw.decision_edits), repr(raw.problems), repr(problems),
            pipeline)


FORKED: list[int] = []  # the checks' children, as start_check forks them


@pytest.fixture(autouse=True)
def _record_children(monkeypatch):
    real = opener.start_check

    def start_check(path, scan):
        check = real(path, scan)
        if check is not None:
            FORKED.append(check.pid)
        return check

    monkeypatch.setattr(opener, "start_check", start_check)
    FORKED.clear()
    yield


def no_children_left() -> bool:
    """Every child a check forked was reaped (other tests' processes aside)."""
    for pid in FORKED:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


def assert_same(path: Path) -> tuple:
    quick, slow = outcome(path, True), outcome(path, False)
    assert quick == slow
    assert no_children_left()  # every check's child was reaped
    return quick


@pytest.mark.parametrize("seed", range(0, 120, 2))
def test_seeded_damaged_pipelines_read_the_same(tmp_path, seed):
    path = tmp_path / "pipeline.xlsx"
    fuzz.case(seed, path)
    assert_same(path)


def test_the_sample_pipeline_reads_the_same():
    """(Its Projects sheet has cells calamine does not read exactly: openpyxl reads it.)"""
    assert_same(Path(__file__).resolve().parents[2] / "inputs" / "pipeline.xlsx")


def test_a_plain_pipeline_is_read_without_openpyxl_in_the_reading_process(tmp_path):
    """In a fresh process (no openpyxl imported yet), a quick read of a pipeline written the usual
    way never imports openpyxl there, and gives what the openpyxl-opened read gives."""
    import subprocess

    sample = plain_pipeline(tmp_path / "plain.xlsx")
    script = ("import sys\n"
              "from optimizer.workbook.validate import read_pipeline\n"
              f"quick = read_pipeline({str(sample)!r}, quick=True)\n"
              "assert 'openpyxl' not in sys.modules, 'openpyxl imported by the quick read'\n"
              f"assert quick == read_pipeline({str(sample)!r})\n"
              "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


@pytest.mark.parametrize("name", list(CELLS)[:8])
def test_what_calamine_reads_otherwise_goes_to_openpyxl(tmp_path, name):
    cells, strings = CELLS[name] if isinstance(CELLS[name], tuple) else (CELLS[name], STRINGS)
    assert_same(crafted(tmp_path / "c.xlsx", cells, strings))


def test_a_workbook_openpyxl_refuses_is_refused_in_its_words(tmp_path):
    src = hostile.good(tmp_path / "src.xlsx")
    bad = hostile.rezip(src, tmp_path / "bad.xlsx", {"xl/sharedStrings.xml": b"<sst><si><t>half"})
    quick = assert_same(bad)
    assert quick[0] == "refused" and "could not be opened as an Excel workbook" in quick[1]


@pytest.mark.parametrize("part, damage", [
    ("docProps/core.xml", lambda data: b"<cp:coreProperties xmlns:cp='x'><broken"),
    ("xl/styles.xml", lambda data: data.replace(b'patternType="none"', b'patternType="bogus"', 1)),
])
def test_a_workbook_openpyxl_refuses_in_a_part_the_quick_book_never_reads(tmp_path, part, damage, monkeypatch):
    """The quick book reads every sheet (with calamine) and sees nothing wrong; openpyxl, in the
    child, refuses the workbook: the read is refused in openpyxl's words, as it always was."""
    src = plain_pipeline(tmp_path / "src.xlsx")
    bad = hostile.rezip(src, tmp_path / "bad.xlsx", {part: damage(hostile.members(src)[part])})
    assert opener.QuickBook.open(bad) is not None
    asked = []
    monkeypatch.setattr(opener.QuickSheet, "iter_rows", lambda self, **k: asked.append(self.title))
    quick = assert_same(bad)
    assert FORKED and asked == []  # no sheet needed openpyxl: the refusal came from the child
    assert quick[0] == "refused" and "could not be opened as an Excel workbook" in quick[1]


def test_a_plain_pipeline_is_read_quickly_and_the_same(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(opener.QuickSheet, "iter_rows", lambda self, **k: asked.append(self.title))
    assert assert_same(plain_pipeline(tmp_path / "plain.xlsx"))[0] == "read"
    assert FORKED and asked == []


def test_damaged_styles_are_judged_by_openpyxl(tmp_path):
    src = hostile.good(tmp_path / "src.xlsx")
    parts = hostile.members(src)
    styles = parts["xl/styles.xml"]
    for k, damaged in enumerate((styles[: len(styles) // 2], styles.replace(b'numFmtId="0"', b'numFmtId="x"', 1),
                                 b"<styleSheet/>")):
        assert_same(hostile.rezip(src, tmp_path / f"styles{k}.xlsx", {"xl/styles.xml": damaged}))


@pytest.mark.parametrize("how", ["dies", "garbage", "hangs", "other view", "quick book declines"])
def test_whatever_the_child_does_the_answer_is_openpyxls(tmp_path, monkeypatch, how):
    path = tmp_path / "pipeline.xlsx"
    fuzz.case(4, path)
    slow = outcome(path, False)
    if how == "dies":
        monkeypatch.setattr(opener, "_openpyxl_view", lambda p, s: os._exit(9))
    elif how == "garbage":
        monkeypatch.setattr(opener, "_openpyxl_view", lambda p, s: ("ok", "not a list"))
        monkeypatch.setattr(opener.pickle, "dumps", lambda obj: b"\x80\x04garbage")
    elif how == "hangs":
        monkeypatch.setattr(opener, "PATIENCE_S", 0.5)
        monkeypatch.setattr(opener, "_openpyxl_view", lambda p, s: time.sleep(60))
    elif how == "other view":
        monkeypatch.setattr(opener.QuickBook, "view", lambda self: ("ok", [("Elsewhere", "xl/x.xml")], []))
    else:
        monkeypatch.setattr(opener.QuickBook, "open", classmethod(lambda cls, p: None))
    began = time.perf_counter()
    assert outcome(path, True) == slow
    assert time.perf_counter() - began < 20
    assert no_children_left()


def test_a_sheet_only_openpyxl_reads_sends_the_workbook_to_openpyxl(tmp_path, monkeypatch):
    """A sheet calamine does not read exactly (here a formula's cached text) stops the quick read:
    openpyxl opens the workbook and reads it, with the same result."""
    path = crafted(tmp_path / "c.xlsx", CELLS["numbers, texts, yes and no"])
    asked = []
    real = opener.QuickSheet.iter_rows
    monkeypatch.setattr(opener.QuickSheet, "iter_rows", lambda self, **k: asked.append(self.title) or real(self, **k))
    assert assert_same(path)[0] == "read"
    assert asked == ["Notes"]  # the quick book was asked for openpyxl's rows, and gave way


# ------------------------------------------------------------------ the check asked only at the end
def deferred(path: Path) -> tuple:
    """read_pipeline_deferred, its check asked at once: as ``outcome`` reports it."""
    from optimizer.workbook.validate import read_pipeline, read_pipeline_deferred

    try:
        pipeline, pending = read_pipeline_deferred(path)
        stands = True if pending is None else pending.same()
    except InputError as exc:
        return ("refused", repr(exc.problems))
    return ("read", pipeline if stands else read_pipeline(path))


def eager(path: Path) -> tuple:
    from optimizer.workbook.validate import read_pipeline

    try:
        return ("read", read_pipeline(path))
    except InputError as exc:
        return ("refused", repr(exc.problems))


@pytest.mark.parametrize("seed", range(1, 60, 4))
def test_a_deferred_check_gives_the_pipeline_or_the_refusal_openpyxl_gives(tmp_path, seed):
    path = tmp_path / "pipeline.xlsx"
    fuzz.case(seed, path)
    assert deferred(path) == eager(path)
    assert no_children_left()


@pytest.mark.parametrize("how", ["dies", "hangs", "other view"])
def test_a_deferred_check_without_a_true_answer_reads_with_openpyxl_and_compares(tmp_path, monkeypatch, how):
    from optimizer.workbook.validate import read_pipeline, read_pipeline_deferred

    path = plain_pipeline(tmp_path / "plain.xlsx")
    want = read_pipeline(path)
    if how == "dies":
        monkeypatch.setattr(opener, "_openpyxl_view", lambda p, s: os._exit(9))
    elif how == "hangs":
        monkeypatch.setattr(opener, "PATIENCE_S", 0.5)
        monkeypatch.setattr(opener, "_openpyxl_view", lambda p, s: time.sleep(60))
    else:
        monkeypatch.setattr(opener.QuickBook, "view", lambda self: ("ok", [("Elsewhere", "xl/x.xml")], []))
    pipeline, pending = read_pipeline_deferred(path)
    assert pipeline == want and pending is not None
    reads = []
    real = reader.read_raw
    monkeypatch.setattr(reader, "read_raw", lambda *a, **k: reads.append(a) or real(*a, **k))
    import optimizer.workbook.validate as validate

    monkeypatch.setattr(validate, "read_raw", reader.read_raw)
    assert pending.same()  # openpyxl's reading is the same pipeline
    assert len(reads) == 1
    assert no_children_left()


@pytest.mark.parametrize("part, damage", [
    ("docProps/core.xml", lambda data: b"<cp:coreProperties xmlns:cp='x'><broken"),
    ("xl/styles.xml", lambda data: data.replace(b'patternType="none"', b'patternType="bogus"', 1)),
])
def test_a_run_on_a_workbook_openpyxl_refuses_is_refused_and_writes_nothing(tmp_path, part, damage):
    """The quick read finds nothing wrong and the run solves on; the child's refusal arrives
    before anything is written: the run is refused in openpyxl's words, no output, exit 2."""
    import subprocess

    from optimizer.runner import run_workbook

    src = plain_pipeline(tmp_path / "src.xlsx")
    bad = hostile.rezip(src, tmp_path / "bad.xlsx", {part: damage(hostile.members(src)[part])})
    out = tmp_path / "out.xlsx"
    with pytest.raises(InputError) as refused:
        run_workbook(bad, out, separate_process=True)
    assert "could not be opened as an Excel workbook" in repr(refused.value.problems)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx", "src.xlsx"]
    assert no_children_left()
    done = subprocess.run([sys.executable, "-m", "optimizer", "run", str(bad), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "could not be opened as an Excel workbook" in done.stderr + done.stdout
    assert not out.exists()


def test_a_run_whose_check_reads_other_data_starts_again_from_openpyxls_reading(tmp_path, monkeypatch):
    """Should openpyxl ever read other data than the quick read (it has not been seen to), the
    run is done again from openpyxl's reading: the same result as a run that never read quickly."""
    import openpyxl

    import optimizer.workbook.validate as validate
    from optimizer.runner import run_workbook

    path = plain_pipeline(tmp_path / "plain.xlsx", n=40)
    plain = run_workbook(path, tmp_path / "plain-out.xlsx", separate_process=False)
    reads = []
    real = validate.read_pipeline
    monkeypatch.setattr(validate, "read_pipeline", lambda *a, **k: reads.append(a) or real(*a, **k))
    asked = validate.PendingCheck.same
    monkeypatch.setattr(validate.PendingCheck, "same", lambda self: asked(self) and False)  # the child is heard
    again = run_workbook(path, tmp_path / "out.xlsx", separate_process=True)
    assert reads == [(path,)]  # the second run read with openpyxl
    assert again.outcome.objective == plain.outcome.objective and again.outcome.choices == plain.outcome.choices
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx", "plain-out.xlsx", "plain.xlsx"]
    assert openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True).sheetnames == \
        openpyxl.load_workbook(tmp_path / "plain-out.xlsx", read_only=True).sheetnames
    assert no_children_left()


@pytest.mark.parametrize("work", ["imports", "fails"])
def test_work_given_for_meanwhile_runs_once_while_calamine_parses_and_changes_nothing(tmp_path, monkeypatch, work):
    """read_raw_deferred's ``meanwhile`` runs once, in the reading thread, while the reading
    waits for calamine's parse; what it does, or raises, changes nothing in what is read."""
    import threading

    from optimizer.workbook.validate import build_pipeline as build

    path = plain_pipeline(tmp_path / "plain.xlsx", n=200)
    want = outcome(path, False)
    real = reader._Calamine._parse
    monkeypatch.setattr(reader._Calamine, "_parse", lambda self, titles: time.sleep(0.3) or real(self, titles))
    calls = []

    def meanwhile():
        calls.append(threading.current_thread() is threading.main_thread())
        if work == "fails":
            raise RuntimeError("the caller's own failure")
        import models.portfolio  # noqa: F401

    raw, pending = reader.read_raw_deferred(path, meanwhile)
    assert pending is not None and pending.same()
    pipeline, problems = build(raw)
    assert calls == [True]
    assert ("read", pipeline) == (want[0], want[-1]) and repr(problems) == want[-2]
    assert no_children_left()


def _freeze_counts(tmp_path, path: Path, **kwargs) -> list[tuple[str, int]]:
    """(phase, objects kept out of the cycle collector) as each phase of a quick run starts."""
    import gc

    from optimizer.runner import run_workbook

    seen: list[tuple[str, int]] = []

    def progress(phase, done, total):
        if done == 0:
            seen.append((phase, gc.get_freeze_count()))

    run_workbook(path, tmp_path / "out.xlsx", separate_process=True, progress=progress, **kwargs)
    return seen


def test_a_quick_run_keeps_what_it_read_out_of_the_collector_and_gives_it_back(tmp_path):
    """From the end of the reading to the end of the run, what the quick read made (and what was
    alive before it) is frozen, so the collector never walks the pipeline and the model again;
    the run gives it back whether it succeeds or is refused, and the output is the same."""
    import gc

    from optimizer.runner import run_workbook

    path = plain_pipeline(tmp_path / "plain.xlsx", n=200, alternatives=1, explain_limit=0)
    assert gc.get_freeze_count() == 0
    seen = _freeze_counts(tmp_path, path)
    assert gc.get_freeze_count() == 0
    counts = dict(seen)
    assert counts["read"] == 0  # nothing frozen before the reading
    # the pipeline's objects (and everything alive before) from the reading on; a frozen object
    # that is freed leaves the count
    assert min(counts["build"], counts["solve"], counts["report"]) > 200 * 10
    slow = run_workbook(path, tmp_path / "slow.xlsx")  # no quick read: nothing frozen at any time
    assert gc.get_freeze_count() == 0
    quick = run_workbook(path, tmp_path / "quick.xlsx", separate_process=True)
    assert quick.outcome.choices == slow.outcome.choices and quick.outcome.objective == slow.outcome.objective
    bad = hostile.rezip(path, tmp_path / "bad.xlsx", {"xl/styles.xml": b"<styleSheet"})
    with pytest.raises(InputError):
        run_workbook(bad, tmp_path / "bad-out.xlsx", separate_process=True)
    assert gc.get_freeze_count() == 0
    assert no_children_left()


def test_a_quick_run_leaves_objects_frozen_by_others_as_they_were(tmp_path):
    """When something else in the process has frozen objects, the run neither adds to them nor
    gives them back: they stay frozen (but for those freed meanwhile)."""
    import gc

    path = plain_pipeline(tmp_path / "plain.xlsx", n=60)
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        seen = _freeze_counts(tmp_path, path)
        assert len(seen) >= 4 and max(count for _, count in seen) <= before
        assert before >= gc.get_freeze_count() > 0.9 * before
    finally:
        gc.unfreeze()
