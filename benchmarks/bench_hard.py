"""Hard instances: seeded Chu–Beasley multidimensional knapsacks as pipeline workbooks.

One command (from the repository root)::

    python benchmarks/bench_hard.py            # 12 instances: 5 budgets × 100 projects, tightness 0.25/0.5/0.75

Each instance (Chu & Beasley 1998, the OR-Library ``mknapcb`` recipe): m = 5 yearly budgets,
n projects; spend[p][y] ~ U{1..1000}; budget_y = ⌊tightness × Σ_p spend[p][y]⌋;
npv[p] = ⌊Σ_y spend[p][y] / m + 500 × U(0, 1)⌋ (correlated with size). Scaled to money by
÷ 100 (USD bn: 0.01–10 bn a year, budgets of hundreds of bn). Written as a pipeline workbook:
CapexSchedule Y1..Y5, Budget rows for 2027–2031, every project starts at planning_start (no
windows), equity_capital = Σ capex (never binding, but present in both models),
mip_gap 0 and time_limit_s 120 on Fund, alternatives 1, explain_limit 0.

Reference: raw highspy on the same matrix (binary x[p], the equity row, the five budget rows),
HiGHS default options except mip_rel_gap = 0 (a proven optimum, as fundopt's mip_gap 0) and the
same 120 s time limit. fundopt: ``fundopt run WORKBOOK --json`` end to end (subprocess, wall clock).
Per instance: both times, the ratio, the statuses and whether the objectives agree; then the
median over all instances. An instance that hits the time limit is marked.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from common import (DEFAULT_WORKDIR, agree, code_check, code_version, fmt_s, machine_line, median,  # noqa: E402
                    run_fundopt, solve_reference)

YEARS = 5


def chu_beasley(n: int, tightness: float, seed: int, time_limit_s: float = 120.0) -> generate.Instance:
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 1001, size=(n, YEARS))
    cap = np.floor(tightness * w.sum(axis=0))
    c = np.floor(w.sum(axis=1) / YEARS + 500 * rng.random(n))
    schedule = w / 100.0
    capex = schedule.sum(axis=1)
    npv = c / 100.0
    ps = generate.PLANNING_START
    ids = [f"KP-{i + 1:03d}" for i in range(n)]
    sector = np.arange(n) % len(generate.SECTOR_NAMES)
    names = [f"{generate.SECTOR_NAMES[s]} programme {i + 1}" for i, s in enumerate(sector)]
    fund = {"currency_unit": "USD bn", "equity_capital": round(float(capex.sum()) + 1.0, 2), "planning_start": ps,
            "horizon_years": 10, "mip_gap": 0, "time_limit_s": time_limit_s, "alternatives": 1,
            "explain_limit": 0}
    budget = [{"year": ps + k, "capital_limit": float(cap[k]) / 100.0} for k in range(YEARS)]
    inst = generate.Instance(ids=ids, names=names, sector=sector, capex=capex, npv=npv, schedule=schedule,
                             earliest=np.full(n, ps), latest=np.full(n, ps), windowed=np.zeros(n, dtype=bool),
                             columns={}, fund=fund, budget_table=budget, schedule_rows=True,
                             families=frozenset({"schedule", "budget"}))
    inst.title = f"Chu–Beasley {YEARS}×{n}, tightness {tightness}, seed {seed}"
    return inst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Chu–Beasley knapsacks: raw highspy vs fundopt run, to proven optimum")
    ap.add_argument("--projects", type=int, default=100, help="projects per instance (100–250)")
    ap.add_argument("--per-tightness", type=int, default=4, help="instances per tightness level")
    ap.add_argument("--tightness", default="0.25,0.5,0.75")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=120.0, help="time_limit_s on Fund and for the reference")
    ap.add_argument("--budget-s", type=float, default=600.0,
                    help="wall-time budget: no new instance starts when it would not fit")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "hard")
    a = ap.parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    print(machine_line())
    code_at_start = code_version()
    levels = [float(x) for x in a.tightness.split(",")]
    print(f"Chu–Beasley {YEARS}×{a.projects}, tightness {levels}, {a.per_tightness} per level; "
          f"time limit {a.time_limit:g} s; reference = raw highspy, defaults + mip_rel_gap 0")
    header = (f"{'instance':<15}{'ref status':<13}{'ref wall':>9}{'ref cpu':>9}{'fundopt':>14}{'fo wall':>9}"
              f"{'fo cpu':>9}{'ratio wall':>11}{'ratio cpu':>10}  objective ref / fundopt")
    print(header)
    print("-" * len(header))
    ratios, cpu_ratios, ref_times, fo_times, bad, hit = [], [], [], [], [], []
    t_start = time.perf_counter()
    order = [(li, j) for j in range(a.per_tightness) for li in range(len(levels))]  # interleaved levels
    for li, j in order:
        tight = levels[li]
        seed = a.seed * 1000 + li * 100 + j
        elapsed = time.perf_counter() - t_start
        per = elapsed / len(ratios) if ratios else 0.0
        if ratios and elapsed + per > a.budget_s:
            print(f"stopped after {len(ratios)} instances: another (~{per:.0f} s) would exceed the "
                  f"{a.budget_s:.0f} s budget")
            break
        inst = chu_beasley(a.projects, tight, seed, a.time_limit)
        name = f"t{tight:g}-s{seed}"
        path = a.workdir / f"cb5x{a.projects}-{name}.xlsx"
        generate.write_workbook(inst, path)
        c0 = resource.getrusage(resource.RUSAGE_SELF)
        ref = solve_reference(inst, mip_gap=0.0, time_limit=a.time_limit)
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        ref_cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
        run = run_fundopt(["run", str(path), "-o", str(a.workdir / f"{path.stem}-portfolio.xlsx"), "--json"],
                          timeout=a.time_limit * 3 + 120)
        ratio = run.wall / ref.total_s if ref.total_s > 0 else None
        cpu_ratio = run.cpu / ref_cpu if run.cpu and ref_cpu > 0 else None
        flags = []
        limited = False
        if ref.status != "Optimal":
            flags.append(f"reference: {ref.status}")
            limited = True
        if run.status != "optimal":
            flags.append(f"fundopt: {run.status}")
            limited = limited or run.status == "feasible" or run.rc == 4
        if limited:
            hit.append(name)
        if run.rc not in (0, 4) or (not limited and not agree(ref.objective, run.objective, 1e-9, 1e-6)):
            flags.append("FAILURE: objectives differ" if run.rc == 0 else f"FAILURE: exit {run.rc}")
            bad.append((name, path, ref.objective, run.objective, run.rc, run.stderr[-800:]))
        ratios.append(ratio)
        cpu_ratios.append(cpu_ratio)
        ref_times.append(ref.total_s)
        fo_times.append(run.wall)
        obj = (f"{ref.objective:.2f} / {run.objective:.2f}" if ref.objective is not None and run.objective is not None
               else f"{ref.objective} / {run.objective}")
        fcpu = "—" if run.cpu is None else f"{run.cpu:.2f}s"
        print(f"{name:<15}{ref.status:<13}{ref.total_s:>8.2f}s{ref_cpu:>8.2f}s{run.status:>14}{run.wall:>8.2f}s"
              f"{fcpu:>9}{(f'{ratio:.2f}×' if ratio else '—'):>11}{(f'{cpu_ratio:.2f}×' if cpu_ratio else '—'):>10}"
              f"  {obj}" + (f"   [{'; '.join(flags)}]" if flags else ""), flush=True)
    print("-" * len(header))
    print(f"median over {len(ratios)} instances: reference {fmt_s(median(ref_times))}, fundopt run "
          f"{fmt_s(median(fo_times))}, ratio fundopt / reference {median(ratios):.2f}× wall "
          f"({median(cpu_ratios):.2f}× cpu)")
    print(f"instances that hit the time limit: {', '.join(hit) if hit else 'none'}")
    if bad:
        print("FAILURES (objective disagreement or fundopt error):")
        for name, path, r, f, rc, err in bad:
            print(f"  {name} ({path}): reference {r}, fundopt {f} (exit {rc}); stderr tail: {err!r}")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")
    print(code_check(code_at_start))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
