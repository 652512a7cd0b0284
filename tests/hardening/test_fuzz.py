"""The fuzz suite: at least 1,000 damaged workbooks per run (seeded, so every run is the same).

Each workbook is a small valid pipeline (tests/hardening/fuzz.py) with cells, columns, sheets
or the file's bytes damaged, run in-process through the real command line (``fundopt run
--json``; some through ``validate``). For every one: no traceback and no exit 1; an exit 2
lists located errors (each with a sheet that exists, or the file, and a message; Excel rows
and columns where it names them); the input's bytes are unchanged; nothing is written on
exit 2, and on exit 0 exactly the output workbook is written.

``FUNDOPT_FUZZ_CASES`` raises the count (e.g. 20000 for a long local run).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections import Counter

import pytest
from typer.testing import CliRunner

import fuzz
from optimizer.cli import app

CASES = int(os.environ.get("FUNDOPT_FUZZ_CASES", "1000"))
CHUNKS = 8
SEED_BASE = 20_270_000


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _titles(path) -> set[str]:
    """Sheet titles of the workbook as written (None when it is no longer a readable zip)."""
    import re
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except Exception:
        return set()
    import html

    return {html.unescape(t) for t in re.findall(r'<sheet name="([^"]*)"', xml)}


@contextlib.contextmanager
def native_stdout():
    """What native code (HiGHS) writes straight to file descriptor 1 while the block runs: with
    ``--json`` nothing but the one JSON object may reach standard output."""
    with tempfile.TemporaryFile() as f:
        saved = os.dup(1)
        os.dup2(f.fileno(), 1)
        box: list[bytes] = []
        try:
            yield box
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            f.seek(0)
            box.append(f.read())


def check_case(seed: int, folder) -> tuple[int, str]:
    """Run one damaged workbook; return (exit code, level); raise AssertionError on a failure."""
    src = folder / f"case{seed}.xlsx"
    level, log = fuzz.case(seed, src)
    out_dir = folder / f"out{seed}"
    out = out_dir / "result.xlsx"
    before = _sha(src)
    verb = "validate" if seed % 5 == 0 else "run"
    args = [verb, str(src), "--json"] + (["-o", str(out), "--verify"] if verb == "run" else [])
    with native_stdout() as native:
        result = CliRunner().invoke(app, args)
    where = " | ".join(log)
    assert native[0] == b"", f"{where}: stray output on standard output: {native[0][:300]!r}"
    stderr = getattr(result, "stderr", "") if result.stderr_bytes is not None else ""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{where}: exception {result.exception!r}"
    assert result.exit_code in (0, 2, 3, 4), f"{where}: exit {result.exit_code}: {result.stdout} {stderr}"
    assert "Traceback" not in result.stdout + stderr, where
    payload = json.loads(result.stdout)
    assert _sha(src) == before, f"{where}: the input was modified"
    written = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    if result.exit_code == 2:
        assert payload["status"] == "invalid", where
        errors = payload["errors"]
        assert errors, f"{where}: exit 2 without errors"
        titles = _titles(src) | {src.name, "command line", "Projects"}
        for e in errors:
            assert isinstance(e["message"], str) and e["message"].strip(), f"{where}: {e}"
            assert e["sheet"] in titles, f"{where}: error on a sheet that is not there: {e}"
            assert e["row"] is None or (isinstance(e["row"], int) and 1 <= e["row"] <= 1_048_577), f"{where}: {e}"
            assert e["column"] is None or isinstance(e["column"], str), f"{where}: {e}"
        if level == "cell":
            assert any(e["row"] is not None or e["column"] is not None for e in errors), \
                f"{where}: a damaged cell gave no located error: {errors}"
        assert written == [], f"{where}: exit 2 wrote {written}"
    elif result.exit_code == 0:
        assert payload["status"] in ("optimal", "feasible", "valid"), where
        if verb == "run":
            assert written == ["result.xlsx"], f"{where}: wrote {written}"
            assert payload["output"] == str(out)
    elif result.exit_code == 3:
        assert payload["status"] == "infeasible" and payload["diagnosis"], where
        assert written in ([], ["result.xlsx"]), f"{where}: wrote {written}"
    return result.exit_code, level


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_damaged_workbooks_never_crash(tmp_path, chunk):
    seeds = range(SEED_BASE + chunk, SEED_BASE + CASES, CHUNKS)
    failures, codes = [], Counter()
    for seed in seeds:
        try:
            code, level = check_case(seed, tmp_path)
            codes[(level, code)] += 1
        except AssertionError as exc:
            failures.append(str(exc)[:600])
        except Exception as exc:  # the harness itself must not hide a case
            failures.append(f"seed {seed}: harness {type(exc).__name__}: {exc}"[:600])
    print(f"chunk {chunk}: {len(seeds)} workbooks, exits by level {dict(sorted(codes.items()))}")
    assert not failures, f"{len(failures)} of {len(seeds)} failed:\n" + "\n".join(failures[:15])
    # the suite exercises what it claims: damaged workbooks are refused, valid ones solved
    assert sum(n for (lvl, c), n in codes.items() if c == 2) >= len(seeds) // 4
    assert sum(n for (lvl, c), n in codes.items() if c == 0) >= len(seeds) // 10
