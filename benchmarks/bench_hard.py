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

``--solver`` measures at the solver level, in this process, on the same matrix: the reference
as above, beside ``optimizer.race.race`` (HiGHS runs with different seeds racing on the cores)
and, with ``--single``, one HiGHS run with the options the racers use (no racing). Every
variant is run ``--runs`` times per instance (interleaved, so that the machine's load falls
on all alike); the medians per instance, per tightness level and over all instances are
printed with the ratios, wall clock and CPU time of this process (all threads).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _highs_model(inst, options: dict):
    """The reference's matrix (common.reference_arrays) in a fresh highspy instance with ``options``."""
    import highspy

    from common import reference_arrays

    a = reference_arrays(inst)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a["ncol"], a["nrow"]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = a["cost"], a["lower"], a["upper"]
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isinf(a["row_lo"]), -inf, a["row_lo"])
    lp.row_upper_ = np.where(np.isinf(a["row_hi"]), inf, a["row_hi"])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a["start"], a["index"], a["value"]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * a["ncol"]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for k, v in options.items():
        h.setOptionValue(k, v)
    h.passModel(lp)
    return h


def _run_variant(variant: str, inst, time_limit: float) -> dict:
    """One timed solve: wall, CPU (this process, all threads), status, objective, bound."""
    from optimizer.race import race
    from optimizer.solve import SolverSettings

    settings = SolverSettings(time_limit_s=time_limit, mip_gap=0.0)
    if variant == "reference":
        c0 = _cpu()
        ref = solve_reference(inst, mip_gap=0.0, time_limit=time_limit)
        return dict(wall=ref.total_s, cpu=_cpu() - c0, status=ref.status, objective=ref.objective, bound=ref.bound)
    c0, t0 = _cpu(), time.perf_counter()
    h = _highs_model(inst, settings.highs_options())  # as fundopt sets them (mip_rel_gap 0, seed 0, ...)
    if variant == "race":
        r = race(h, settings)
        extra = dict(winner=r.winner, nodes=r.nodes)
        bound = r.bound
    else:  # one run as a racer makes it, without the race
        r = race(h, settings, seeds=(0,))
        extra = dict(winner=0, nodes=r.nodes)
        bound = r.bound
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    obj = info.objective_function_value if info.primal_solution_status == 2 else None
    return dict(wall=wall, cpu=cpu, status=status, objective=obj, bound=bound, **extra)


def solver_level(a, levels) -> int:
    variants = ["reference", "race"] + (["single"] if a.single else [])
    print(f"solver level, in-process: {', '.join(variants)}; {a.runs} runs each per instance, interleaved; "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    rows, bad = [], []
    t_start = time.perf_counter()
    order = [(li, j) for j in range(a.per_tightness) for li in range(len(levels))]
    head = f"{'instance':<15}" + "".join(f"{v + ' wall':>14}{'cpu':>8}" for v in variants) + \
        "".join(f"{v + '/ref':>12}" for v in variants[1:]) + "  objective (all agree?)  race winner / nodes"
    print(head)
    print("-" * len(head))
    for li, j in order:
        tight = levels[li]
        seed = a.seed * 1000 + li * 100 + j
        elapsed = time.perf_counter() - t_start
        per = elapsed / len(rows) if rows else 0.0
        if rows and elapsed + per > a.budget_s:
            print(f"stopped after {len(rows)} instances: another (~{per:.0f} s) would exceed the "
                  f"{a.budget_s:.0f} s budget")
            break
        inst = chu_beasley(a.projects, tight, seed, a.time_limit)
        name = f"t{tight:g}-s{seed}"
        got = {v: [] for v in variants}
        for _ in range(a.runs):
            for v in variants:
                got[v].append(_run_variant(v, inst, a.time_limit))
        med = {v: (median([x["wall"] for x in got[v]]), median([x["cpu"] for x in got[v]])) for v in variants}
        objs = [x["objective"] for v in variants for x in got[v]]
        limited = any(x["status"] != "Optimal" for v in variants for x in got[v])
        ok = all(agree(objs[0], o, 1e-9, 1e-6) for o in objs)
        if not ok and not limited:
            bad.append((name, objs))
        rows.append(dict(name=name, tight=tight, med=med, ok=ok, limited=limited))
        winners = ", ".join(f"{x['winner']}/{'-'.join(map(str, x['nodes']))}" for x in got["race"])
        print(f"{name:<15}" + "".join(f"{med[v][0]:>13.2f}s{med[v][1]:>7.2f}s" for v in variants)
              + "".join(f"{med[v][0] / med['reference'][0]:>11.2f}×" for v in variants[1:])
              + f"  {objs[0]:.2f} ({'yes' if ok else 'NO'}{', time limit hit' if limited else ''})  {winners}",
              flush=True)
    print("-" * len(head))
    for tight in levels + [None]:
        sel = [r for r in rows if tight is None or r["tight"] == tight]
        if not sel:
            continue
        label = "all" if tight is None else f"tightness {tight:g}"
        parts = [f"reference {median([r['med']['reference'][0] for r in sel]):.2f} s"]
        for v in variants[1:]:
            ratio = median([r["med"][v][0] / r["med"]["reference"][0] for r in sel])
            cpu_ratio = median([r["med"][v][1] / r["med"]["reference"][1] for r in sel])
            parts.append(f"{v} {median([r['med'][v][0] for r in sel]):.2f} s, median ratio {ratio:.2f}× wall "
                         f"({cpu_ratio:.2f}× cpu)")
        print(f"{label:<16} ({len(sel)} instances): " + "; ".join(parts))
    print(f"load average at the end {os.getloadavg()[0]:.2f}; total wall time {time.perf_counter() - t_start:.0f} s")
    if bad:
        print("FAILURES (objectives differ):")
        for name, objs in bad:
            print(f"  {name}: {objs}")
    return 1 if bad else 0


def main(argv=None, results: dict | None = None) -> int:
    """Run the benchmark; when ``results`` is given, fill it with the medians (see bench_speed.py)."""
    ap = argparse.ArgumentParser(description="Chu–Beasley knapsacks: raw highspy vs fundopt run, to proven optimum")
    ap.add_argument("--projects", type=int, default=100, help="projects per instance (100–250)")
    ap.add_argument("--per-tightness", type=int, default=4, help="instances per tightness level")
    ap.add_argument("--tightness", default="0.25,0.5,0.75")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=120.0, help="time_limit_s on Fund and for the reference")
    ap.add_argument("--budget-s", type=float, default=600.0,
                    help="wall-time budget: no new instance starts when it would not fit")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "hard")
    ap.add_argument("--solver", action="store_true",
                    help="solver level, in-process: the reference beside optimizer.race.race on the same matrix")
    ap.add_argument("--single", action="store_true", help="with --solver: also one run with the racers' options")
    ap.add_argument("--runs", type=int, default=3, help="runs of each variant per instance (medians reported)")
    a = ap.parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    print(machine_line())
    code_at_start = code_version()
    levels = [float(x) for x in a.tightness.split(",")]
    if a.solver:
        rc = solver_level(a, levels)
        print(code_check(code_at_start))
        return rc
    print(f"Chu–Beasley {YEARS}×{a.projects}, tightness {levels}, {a.per_tightness} per level; "
          f"time limit {a.time_limit:g} s; reference = raw highspy, defaults + mip_rel_gap 0; "
          f"median of {a.runs} runs each")
    header = (f"{'instance':<15}{'ref status':<13}{'ref wall':>9}{'ref cpu':>9}{'fundopt':>14}{'fo wall':>9}"
              f"{'fo cpu':>9}{'ratio wall':>11}{'ratio cpu':>10}  objective ref / fundopt")
    print(header)
    print("-" * len(header))
    ratios, cpu_ratios, ref_times, fo_times, bad, hit, tights = [], [], [], [], [], [], []
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
        refs, ref_cpus, fruns = [], [], []
        for _ in range(a.runs):  # interleaved, so that the machine's load falls on both alike
            c0 = _cpu()
            refs.append(solve_reference(inst, mip_gap=0.0, time_limit=a.time_limit))
            ref_cpus.append(_cpu() - c0)
            fruns.append(run_fundopt(["run", str(path), "-o", str(a.workdir / f"{path.stem}-portfolio.xlsx"),
                                      "--json"], timeout=a.time_limit * 3 + 120))
        ref = refs[-1]
        ref.build_s, ref.solve_s = 0.0, median([r.total_s for r in refs])  # total_s = the median
        ref_cpu = median(ref_cpus)
        run = max(fruns, key=lambda r: (r.rc not in (0, 4), r.status != "optimal"))  # the worst status
        run.wall, run.user, run.sys = median([r.wall for r in fruns]), median([r.cpu for r in fruns]), 0.0
        ratio = run.wall / ref.total_s if ref.total_s > 0 else None
        cpu_ratio = run.cpu / ref_cpu if run.cpu and ref_cpu > 0 else None
        for r in refs[:-1]:  # every reference run must reach the same optimum
            if r.status != "Optimal" or not agree(r.objective, ref.objective, 1e-9, 1e-6):
                ref.status = r.status if r.status != "Optimal" else "differs"
        for r in fruns:
            if r.status == "optimal" and not agree(r.objective, run.objective, 1e-9, 1e-6):
                run.payload = dict(run.payload or {}, status="runs differ")
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
        tights.append(tight)
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
    if results is not None:
        results.update(projects=a.projects, instances=len(ratios), reference_s=median(ref_times), fundopt_s=median(fo_times),
                       ratio=median(ratios), cpu_ratio=median(cpu_ratios), levels=sorted(set(tights)),
                       time_limit_hit=hit, failures=[b[0] for b in bad])
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")
    print(code_check(code_at_start))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
