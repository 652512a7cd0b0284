"""Shared pieces of the benchmarks: running ``fundopt`` as a user does, reading its Run sheet,
and the raw-HiGHS reference model built from a generated :class:`generate.Instance`.

Nothing here changes fundopt; the benchmarks only measure it.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "fundopt-bench"


def fundopt_cmd() -> list[str]:
    """The installed console script, as a user runs it (falls back to python -m optimizer)."""
    precompile()
    exe = shutil.which("fundopt")
    return [exe] if exe else [sys.executable, "-m", "optimizer"]


@functools.cache
def precompile() -> None:
    """Byte-compile fundopt's own modules once, as installing a package does.

    An editable install compiles a module when it is first imported and keeps the bytecode, except
    where PYTHONDONTWRITEBYTECODE is set (it is on some machines): then every measured run would
    compile each edited module again, a cost no installed copy pays."""
    import compileall

    for package in ("optimizer", "models"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_s(x) -> str:
    return "—" if x is None else f"{x:.2f} s"


def machine_line() -> str:
    import highspy

    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "?"
    sys.stdout.flush()
    saved = os.dup(1)
    try:  # the first Highs() prints a banner on the C stdout: keep it out of the report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        hv = highspy.Highs().version()
    except Exception:  # noqa: BLE001
        hv = "?"
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return (f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, HiGHS {hv}, "
            f"load average now {load}\n{code_version()}")


def code_version() -> str:
    """The fundopt code measured: git commit, and whether optimizer/ or models/ have uncommitted changes."""
    try:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "optimizer", "models"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "fundopt code: (git not available)"
    return f"fundopt code: commit {sha}" + (" + uncommitted changes in optimizer/ or models/" if dirty else "")


def code_check(before: str) -> str:
    now = code_version()
    return (f"{now} (unchanged during the run)" if now == before
            else f"WARNING: the fundopt code changed during the run: {before!r} -> {now!r}")


def load_now() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# --------------------------------------------------------------------------------------
# fundopt as a subprocess
# --------------------------------------------------------------------------------------
@dataclass
class RunMeasure:
    wall: float
    rc: int | None
    timed_out: bool = False
    user: float | None = None
    sys: float | None = None
    maxrss_kb: int | None = None
    payload: dict | None = None
    stderr: str = ""
    stack: list[str] = field(default_factory=list)  # where fundopt was when killed (faulthandler)

    @property
    def cpu(self) -> float | None:
        return None if self.user is None else self.user + (self.sys or 0.0)

    @property
    def objective(self) -> float | None:
        return None if not self.payload else self.payload.get("objective")

    @property
    def status(self) -> str:
        if self.timed_out:
            return "killed (timeout)"
        return (self.payload or {}).get("status") or f"exit {self.rc}"


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_fundopt(args: list[str], timeout: float | None = None, cwd: Path = ROOT) -> RunMeasure:
    """Run ``fundopt ARGS`` and measure wall clock, CPU and peak RSS of the fundopt process.

    Peak RSS and CPU come from GNU ``/usr/bin/time -v`` when present, else from ``os.wait4``
    on the child. On timeout fundopt is sent SIGABRT; PYTHONFAULTHANDLER=1 (set for the child
    only; it costs nothing while running) makes it print its Python stack first, so the report
    can say which phase it was in.
    """
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    cmd = fundopt_cmd() + list(args)
    tfile = None
    if GNU_TIME:
        fd, tfile = tempfile.mkstemp(prefix="fundopt-time-", suffix=".txt")
        os.close(fd)
        cmd = [GNU_TIME, "-v", "-o", tfile] + cmd
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=out_f, stderr=err_f, start_new_session=True)
    timed_out = False
    rusage = None
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            rusage = ru
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        if deadline is not None and time.perf_counter() > deadline and not timed_out:
            timed_out = True
            target = _children(proc.pid) if GNU_TIME else [proc.pid]
            for t in target or [proc.pid]:
                try:
                    os.kill(t, signal.SIGABRT)
                except ProcessLookupError:
                    pass
            kill_at = time.perf_counter() + 20
        if timed_out and time.perf_counter() > kill_at:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the process group this function started
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    out_f.seek(0)
    err_f.seek(0)
    stdout = out_f.read().decode("utf-8", "replace")
    stderr = err_f.read().decode("utf-8", "replace")
    m = RunMeasure(wall=wall, rc=proc.returncode, timed_out=timed_out, stderr=stderr)
    if tfile:
        text = Path(tfile).read_text(errors="replace")
        os.unlink(tfile)
        for key, attr in (("User time (seconds)", "user"), ("System time (seconds)", "sys")):
            hit = re.search(re.escape(key) + r":\s*([0-9.]+)", text)
            if hit:
                setattr(m, attr, float(hit.group(1)))
        hit = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
        if hit:
            m.maxrss_kb = int(hit.group(1))
        if m.timed_out:
            m.user = m.sys = None  # GNU time does not report a killed child's usage reliably
    elif rusage is not None:
        m.user, m.sys, m.maxrss_kb = rusage.ru_utime, rusage.ru_stime, rusage.ru_maxrss
    if stdout.strip():
        try:
            m.payload = json.loads(stdout.strip().splitlines()[-1])
        except json.JSONDecodeError:
            m.payload = None
    if timed_out:
        m.stack = _fault_stack(stderr)
    return m


def _fault_stack(stderr: str) -> list[str]:
    """The fundopt frames (optimizer/, models/) of the main thread's faulthandler dump, outermost first."""
    frames = []
    block = stderr.split("Current thread")[-1] if "Current thread" in stderr else stderr
    for line in block.splitlines():
        hit = re.search(r'File "([^"]+)", line (\d+) in (\S+)', line)
        if hit and ("/optimizer/" in hit.group(1) or "/models/" in hit.group(1)):
            path = hit.group(1)
            short = path[path.rfind("/optimizer/") + 1:] if "/optimizer/" in path else path[path.rfind("/models/") + 1:]
            frames.append(f"{short}:{hit.group(2)} {hit.group(3)}")
    frames.reverse()  # faulthandler prints innermost first
    return frames


def read_run_sheet(path: Path) -> dict[str, float]:
    """Phase timings ("time: <phase> (s)") from the output's Run sheet."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        out = {}
        for row in wb["Run"].iter_rows(values_only=True):
            if row and isinstance(row[0], str) and row[0].startswith("time: "):
                out[row[0][6:].removesuffix(" (s)")] = float(row[1])
        return out
    finally:
        wb.close()


# --------------------------------------------------------------------------------------
# The raw-HiGHS reference: the same rules, built straight from numpy arrays
# --------------------------------------------------------------------------------------
@dataclass
class RefResult:
    build_s: float
    solve_s: float
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    rows: int
    cols: int
    nnz: int

    @property
    def total_s(self) -> float:
        return self.build_s + self.solve_s


def reference_arrays(inst) -> dict:
    """Columns x[p, t] (binary: p starts in year t), rows and CSC matrix of the fund's core rules:

    * x[p, t] for t in p's start window, objective npv[p] / (1 + r)^(t − earliest[p]) (maximize)
    * approvals / ESG / exclude: upper bound 0; must fund: Σ_t x[p, t] = 1
    * one start: Σ_t x[p, t] ≤ 1 for projects with a window of 2+ years
    * equity: Σ capex[p] x[p, t] ≤ equity_capital
    * budget: Σ schedule[p][y − t] x[p, t] ≤ capital_limit[y] for each Budget year
    * sector shares: Σ (1[p ∈ s] − share) capex[p] x[p, t] ≥ 0 (min) / ≤ 0 (max)
    * sector counts: Σ_(p ∈ s) x[p, t] ≥ min_projects / ≤ max_projects (when the sheet has them)
    """
    n = inst.n
    fund = inst.fund
    r = float(fund.get("discount_rate", 0.06))
    width = inst.latest - inst.earliest + 1
    col_p = np.repeat(np.arange(n), width)
    offset = np.arange(col_p.size) - np.repeat(np.cumsum(width) - width, width)
    col_t = inst.earliest[col_p] + offset
    ncol = col_p.size
    cost = inst.npv[col_p] * (1.0 + r) ** (-offset.astype(float))
    allowed = inst.allowed()
    upper = np.where(allowed[col_p], 1.0, 0.0)
    lower = np.zeros(ncol)
    capex = inst.capex[col_p]

    rows_i, rows_j, rows_v = [], [], []
    row_lo, row_hi = [], []

    def add_row(j, v, lo, hi):
        k = len(row_lo)
        rows_i.append(np.full(len(j), k, dtype=np.int64))
        rows_j.append(np.asarray(j, dtype=np.int64))
        rows_v.append(np.asarray(v, dtype=float))
        row_lo.append(lo)
        row_hi.append(hi)

    # equity
    add_row(np.arange(ncol), capex, -np.inf, float(fund.get("equity_capital", 300.0)))
    # budget (vectorized over project years k)
    limits = {int(b["year"]): float(b["capital_limit"]) for b in inst.budget_table if b.get("capital_limit") is not None}
    if limits:
        years = sorted(limits)
        yidx = {y: i for i, y in enumerate(years)}
        bi, bj, bv = [], [], []
        for k in range(inst.schedule.shape[1]):
            amount = inst.schedule[col_p, k]
            y = col_t + k
            keep = (amount != 0) & np.isin(y, years)
            bj.append(np.flatnonzero(keep))
            bi.append(np.array([yidx[int(v)] for v in y[keep]], dtype=np.int64))
            bv.append(amount[keep])
        bi, bj, bv = np.concatenate(bi), np.concatenate(bj), np.concatenate(bv)
        base = len(row_lo)
        for i, y in enumerate(years):
            row_lo.append(-np.inf)
            row_hi.append(limits[y])
        rows_i.append(bi + base)
        rows_j.append(bj)
        rows_v.append(bv)
    # sectors
    for row in inst.sectors_table:
        s = inst.sector_names.index(row["sector"])
        member = (inst.sector[col_p] == s).astype(float)
        lo, hi = row.get("min_share"), row.get("max_share")
        if lo:
            add_row(np.arange(ncol), (member - lo) * capex, 0.0, np.inf)
        if hi is not None and hi < 1:
            add_row(np.arange(ncol), (member - hi) * capex, -np.inf, 0.0)
        js = np.flatnonzero(member)
        members = int((inst.sector == s).sum())
        nlo, nhi = row.get("min_projects"), row.get("max_projects")
        if nlo:
            add_row(js, np.ones(js.size), float(nlo), np.inf)
        if nhi is not None and nhi < members:
            add_row(js, np.ones(js.size), -np.inf, float(nhi))
    # one start per project; must fund
    decision = inst.columns.get("decision") or [None] * n
    must = np.array([d == "must fund" for d in decision])
    starts = np.cumsum(width) - width
    multi = np.flatnonzero(width > 1)
    if multi.size:
        base = len(row_lo)
        rows_i.append(np.repeat(np.arange(multi.size) + base, width[multi]))
        rows_j.append(np.concatenate([np.arange(starts[p], starts[p] + width[p]) for p in multi]))
        rows_v.append(np.ones(int(width[multi].sum())))
        row_lo.extend([1.0 if must[p] else -np.inf for p in multi])
        row_hi.extend([1.0] * multi.size)
    for p in np.flatnonzero(must & (width == 1)):
        lower[starts[p]] = 1.0

    ri, rj, rv = np.concatenate(rows_i), np.concatenate(rows_j), np.concatenate(rows_v)
    keep = rv != 0
    ri, rj, rv = ri[keep], rj[keep], rv[keep]
    order = np.lexsort((ri, rj))
    ri, rj, rv = ri[order], rj[order], rv[order]
    start = np.zeros(ncol + 1, dtype=np.int64)
    np.cumsum(np.bincount(rj, minlength=ncol), out=start[1:])
    return dict(ncol=ncol, nrow=len(row_lo), cost=cost, lower=lower, upper=upper,
                row_lo=np.array(row_lo, dtype=float), row_hi=np.array(row_hi, dtype=float),
                start=start, index=ri, value=rv)


def solve_reference(inst, *, mip_gap: float | None, time_limit: float | None, threads: int | None = None,
                    extra_options: dict | None = None) -> RefResult:
    """Build the reference from the instance's arrays (timed: build) and solve it with highspy
    (timed: solve). ``mip_gap`` None leaves HiGHS's default relative gap."""
    import highspy

    t0 = time.perf_counter()
    a = reference_arrays(inst)
    lp = highspy.HighsLp()
    lp.num_col_ = a["ncol"]
    lp.num_row_ = a["nrow"]
    lp.col_cost_ = a["cost"]
    lp.col_lower_ = a["lower"]
    lp.col_upper_ = a["upper"]
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isinf(a["row_lo"]), -inf, a["row_lo"])
    lp.row_upper_ = np.where(np.isinf(a["row_hi"]), inf, a["row_hi"])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a["start"]
    lp.a_matrix_.index_ = a["index"]
    lp.a_matrix_.value_ = a["value"]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * a["ncol"]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_gap))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads:
        h.setOptionValue("threads", int(threads))
    for k, v in (extra_options or {}).items():
        h.setOptionValue(k, v)
    h.passModel(lp)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    status = h.getModelStatus()
    info = h.getInfo()
    name = h.modelStatusToString(status)
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    obj = info.objective_function_value if has else None
    return RefResult(t1 - t0, t2 - t1, name, obj, info.mip_dual_bound, info.mip_gap if has else None,
                     a["nrow"], a["ncol"], int(a["value"].size))


def agree(a: float | None, b: float | None, rel: float, abs_tol: float = 1e-6) -> bool:
    if a is None or b is None:
        return False
    return abs(a - b) <= rel * max(abs(a), abs(b)) + abs_tol


def phase_of_stack(frames: list[str]) -> str | None:
    """The runner phase (``with timings.phase("...")``) that encloses the innermost runner frame."""
    runner = [f for f in frames if f.startswith("optimizer/runner.py:")]
    if not runner:
        return None
    line_no = int(runner[-1].split(":")[1].split()[0])
    lines = (ROOT / "optimizer" / "runner.py").read_text().splitlines()
    target = lines[line_no - 1]
    indent = len(target) - len(target.lstrip())
    for i in range(line_no - 2, -1, -1):
        text = lines[i]
        stripped = text.lstrip()
        depth = len(text) - len(stripped)
        if stripped and depth < indent:
            hit = re.search(r'timings\.phase\("([^"]+)"\)', stripped)
            if hit:
                return hit.group(1)
            if stripped.startswith("def "):
                return None
            indent = depth
    return None


def stack_summary(frames: list[str]) -> str:
    """'runner.solve_pipeline → explain._lp_estimates → …' from the innermost runner frame on."""
    start = max((i for i, f in enumerate(frames) if f.startswith("optimizer/runner.py:")), default=0)
    parts = []
    for f in frames[start:]:
        path, rest = f.split(":", 1)
        func = rest.split()[1]
        name = f"{Path(path).stem}.{func}"
        if not parts or parts[-1] != name:
            parts.append(name)
    return " → ".join(parts)


def read_summary(path: Path) -> dict:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]}
    finally:
        wb.close()
