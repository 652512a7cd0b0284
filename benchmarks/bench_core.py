"""Core benchmark — the issue "end to end as fast as the solver alone".

One command (from the repository root)::

    python benchmarks/bench_core.py             # 1k and 10k projects
    python benchmarks/bench_core.py --with-50k  # also 50k (only when 10k finished in time)

For each size a realistic pipeline (benchmarks/generate.py: the nine sectors, CapexSchedule over
1–5 years, yearly Budget capital limits, Sectors min/max shares, approvals yes/no/pending,
start windows on 30 % of the projects, scores; families leverage, investors, rules, locks, ESG and
sector counts off, so that the reference has exactly the same rules) is written with
``alternatives 1`` and ``explain_limit 0`` on Fund.

* REFERENCE — the same rules built directly in highspy from numpy arrays (binary start variable
  per project and start year, one-start rows, the equity capital row, yearly budget rows from
  the schedules, sector share rows, approvals as upper bounds 0, objective Σ discounted npv),
  passed with ``Highs.passModel`` and solved with the Fund's mip_gap and time limit. Timed
  in-process: build (arrays → HighsLp) + solve.
* fundopt — ``fundopt run WORKBOOK -o OUT --json`` as a user runs it (subprocess: process start,
  read, validate, build, solve, every analysis the workbook asks for, write every sheet), wall
  clock; CPU time and peak RSS of the fundopt process from ``/usr/bin/time -v`` (or os.wait4).

Median of ``--runs`` (3) runs each, the reference and fundopt alternating run by run (so that
the machine's load falls on both alike), side by side with the ratio; the objectives must agree within
the gap (fundopt's from ``--json``). A fundopt run longer than ``--timeout`` is stopped (SIGABRT
with Python's faulthandler on, so the report names the phase it was in) and not repeated; 50k
runs only when 10k finished within the timeout. ``--budget-s`` caps the whole benchmark's wall
time: no new repeat starts when it would not fit.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from common import (DEFAULT_WORKDIR, agree, code_check, code_version, fmt_s, load_now, machine_line, median,  # noqa: E402
                    phase_of_stack, read_run_sheet, read_summary, run_fundopt, solve_reference, stack_summary)

CORE_OFF = ("leverage", "investors", "rules", "locks", "esg", "sector_counts", "agreement", "stakes", "risk_cap")


def core_instance(n: int, seed: int, scores: bool = True) -> generate.Instance:
    fam = {f for f, (on, _) in generate.FAMILIES.items() if on} - set(CORE_OFF)
    if not scores:
        fam.discard("scores")
    return generate.make_pipeline(n, seed, fam, alternatives=1, explain_limit=0)


def main(argv=None, results: dict | None = None) -> int:
    """Run the benchmark; when ``results`` is given, fill it with each size's figures (see bench_speed.py)."""
    ap = argparse.ArgumentParser(description="fundopt run end to end vs raw highspy on the same rules")
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated project counts")
    ap.add_argument("--with-50k", action="store_true", help="add 50,000 projects (if 10k finished in time)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runs-50k", type=int, default=None, help="runs at 50,000 projects (default: --runs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds before a fundopt run is stopped")
    ap.add_argument("--budget-s", type=float, default=570.0, help="wall-time budget of the whole benchmark")
    ap.add_argument("--no-scores", action="store_true",
                    help="leave us_score / jp_score out (fundopt then skips the nations' ideal portfolios)")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "core")
    a = ap.parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    if a.with_50k and 50000 not in sizes:
        sizes.append(50000)
    t_start = time.perf_counter()
    print(machine_line())
    code_at_start = code_version()
    print(f"families on: {', '.join(sorted(core_instance(20, 1, not a.no_scores).families))}; "
          f"Fund alternatives 1, explain_limit 0, mip_gap 0.0001, time_limit_s 60")
    rows = []
    ten_k_done = None
    for n in sizes:
        if n >= 50000 and ten_k_done is not None and not ten_k_done[0]:
            print(f"\n== {n:,} projects: SKIPPED — 10,000 projects did not finish: {ten_k_done[1]}")
            rows.append((n, None, None, None, None, None, "skipped"))
            continue
        print(f"\n== {n:,} projects")
        t0 = time.perf_counter()
        inst = core_instance(n, a.seed, not a.no_scores)
        path = a.workdir / f"core-{n}.xlsx"
        generate.write_workbook(inst, path)
        print(f"workbook {path} ({path.stat().st_size / 1e6:.1f} MB, generated and written in "
              f"{time.perf_counter() - t0:.1f} s); {int(inst.approved().sum()):,} approved by both, "
              f"{int(inst.windowed.sum()):,} with a start window")

        # the reference and fundopt alternate, run by run, so that the machine's load (which moves
        # by up to a third within the hour here) falls on both alike
        refs, runs = [], []
        out = a.workdir / f"core-{n}-portfolio.xlsx"
        note = ""
        for k in range(a.runs_50k if n == 50000 and a.runs_50k is not None else a.runs):
            c0 = resource.getrusage(resource.RUSAGE_SELF)
            r = solve_reference(inst, mip_gap=1e-4, time_limit=60.0)
            c1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
            refs.append((r, cpu))
            print(f"  reference run {k + 1}: {fmt_s(r.total_s)} (build {r.build_s:.3f} s, solve {r.solve_s:.2f} s, "
                  f"cpu {cpu:.2f} s) {r.status}, objective {r.objective:.4f}, gap {r.gap:.2e}; "
                  f"{r.rows:,} rows × {r.cols:,} cols, {r.nnz:,} nonzeros", flush=True)
            elapsed = time.perf_counter() - t_start
            remaining = a.budget_s - elapsed
            last = runs[-1].wall if runs else 0.0
            if runs and last > remaining:
                note = f"stopped after {len(runs)} run(s): another (~{last:.0f} s) would exceed the {a.budget_s:.0f} s budget"
                print(f"  {note}")
                break
            timeout = max(10.0, min(a.timeout, remaining))
            load = load_now()
            m = run_fundopt(["run", str(path), "-o", str(out), "--json"], timeout=timeout)
            runs.append(m)
            rss = "—" if m.maxrss_kb is None else f"{m.maxrss_kb / 1024:.0f} MB"
            if m.timed_out:
                phase = phase_of_stack(m.stack)
                where = f"in phase '{phase}'" if phase else "before the first phase"
                note = (f"killed after {m.wall:.0f} s {where} "
                        f"({stack_summary(m.stack) or 'no Python stack captured'})")
                print(f"  fundopt run {k + 1}: {note}; peak RSS {rss}; load {load:.1f}", flush=True)
                break
            phases = read_run_sheet(out) if m.rc == 0 and out.exists() else {}
            m.phases = phases
            cpu = "—" if m.cpu is None else f"{m.cpu:.2f} s"
            print(f"  fundopt run {k + 1}: {fmt_s(m.wall)} wall, cpu {cpu}, peak RSS {rss}, exit {m.rc}, "
                  f"{m.status}, objective {m.objective}; load {load:.1f}; "
                  f"this pair {m.wall / r.total_s:.2f}×", flush=True)
            if m.rc != 0:
                note = f"fundopt failed (exit {m.rc}): {m.stderr[-800:]!r}"
                print(f"  FAILURE: {note}")
                break
        ref_med = median([r.total_s for r, _ in refs])
        ref_build = median([r.build_s for r, _ in refs])
        ref_solve = median([r.solve_s for r, _ in refs])
        ref_cpu = median([c for _, c in refs])
        ref_obj = refs[0][0].objective
        ref_bound = refs[0][0].bound
        done = [m for m in runs if not m.timed_out and m.rc == 0]
        fo_med = median([m.wall for m in done]) if done else None
        fo_cpu = median([m.cpu for m in done]) if done else None
        rss = max((m.maxrss_kb for m in runs if m.maxrss_kb), default=None)
        if done:
            phase_names = list(dict.fromkeys(p for m in done for p in m.phases))
            med_phases = {p: median([m.phases.get(p) for m in done]) for p in phase_names}
            other = fo_med - sum(med_phases.values())
            print("  Run sheet phases (median, s): " + ", ".join(f"{p} {v:.2f}" for p, v in med_phases.items())
                  + f"; not on the Run sheet (process start, imports, write, exit) {other:.2f}")
            fo_obj = done[0].objective
            summary = read_summary(out)
            fo_bound = summary.get("best bound")
            ok = agree(ref_obj, fo_obj, 1e-4)
            consistent = (fo_bound is None or ref_obj <= fo_bound * (1 + 1e-9) + 1e-6) and \
                         (ref_bound is None or fo_obj <= ref_bound * (1 + 1e-9) + 1e-6)
            print(f"  objectives: reference {ref_obj:.6f} (bound {ref_bound:.6f}), fundopt {fo_obj:.6f} "
                  f"(bound {fo_bound}); agree within the gap 1e-4: {'yes' if ok else 'NO'}; "
                  f"each within the other's bound: {'yes' if consistent else 'NO'}")
            agree_text = "yes" if ok and consistent else "NO"
        else:
            agree_text = "—"
        ratio = fo_med / ref_med if fo_med and ref_med else None
        print(f"  => reference median {fmt_s(ref_med)} (build {ref_build:.3f} s + solve {ref_solve:.2f} s, cpu "
              f"{ref_cpu:.2f} s) | fundopt run median {fmt_s(fo_med) if fo_med else '> ' + fmt_s(runs[-1].wall)} "
              f"(cpu {fmt_s(fo_cpu)}) over {len(done)} run(s) | ratio "
              f"{f'{ratio:.2f}×' if ratio else '> ' + format(runs[-1].wall / ref_med, '.0f') + '×'}"
              + (f" | peak RSS {rss / 1024:.0f} MB" if rss else ""))
        estimate = None
        if results is not None:
            pairs = [m.wall / r.total_s for (r, _), m in zip(refs, runs) if not m.timed_out and m.rc == 0]
            results[n] = dict(reference_s=ref_med, fundopt_s=fo_med, ratio=ratio, runs=len(done),
                              pair_ratios=pairs, agree=agree_text == "yes",
                              peak_rss_mb=rss / 1024 if rss else None, failure=note or None)
        rows.append((n, ref_med, fo_med if fo_med else -runs[-1].wall, ratio, agree_text, rss, estimate))
        if n == 10000:
            ten_k_done = (bool(done), (note + (f"; estimated whole run ≈ {estimate:,.0f} s" if estimate else ""))
                          or f"{fo_med:.1f} s")

    print("\nsize      reference   fundopt run                         ratio    objectives agree   peak RSS (fundopt)")
    for n, ref_med, fo_med, ratio, agree_text, rss, estimate in rows:
        if estimate == "skipped":
            print(f"{n:>7,}   skipped (10k did not finish within the timeout)")
            continue
        fo = fmt_s(fo_med) if fo_med and fo_med > 0 else (
            f"> {-fo_med:.0f} s (killed" + (f"; est. ≈ {estimate:,.0f} s)" if estimate else ")"))
        rt = f"{ratio:.2f}×" if ratio else f"> {-fo_med / ref_med:.0f}×"
        print(f"{n:>7,}   {fmt_s(ref_med):>9}   {fo:<34} {rt:>7}    {agree_text:<17}  "
              f"{'—' if not rss else f'{rss / 1024:.0f} MB'}")
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    print(code_check(code_at_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
