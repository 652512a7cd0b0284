"""Decision-support benchmark: a 500-project pipeline with every analysis on.

One command (from the repository root)::

    python benchmarks/bench_analyses.py

The workbook (benchmarks/generate.py, seed 1): 500 projects with start windows, approvals,
``min_nation_satisfaction`` 0.7 (the agreement rules, so the nations' ideal portfolios are
solved), leverage, investors, rules, sector limits, yearly budgets, ESG screen and locks;
``alternatives 5`` and ``explain_limit 100`` on Fund (default mip_gap 0.0001, time_limit_s 60).

1. ``fundopt run`` end to end (subprocess, wall clock; median of ``--runs`` ≥ 3), with the Run
   sheet's phase timings (median per phase) and CPU time. Target: ≤ 30 s.
2. Re-solving the built model vs rebuilding it, for the same analyses: the exact re-solves the
   run makes for removal costs and break-even NPVs (``optimizer.analysis.explain.exact_jobs``:
   up to ``explain_limit`` projects forced out and as many forced in, nearest the margin first;
   ``--resolves`` N takes N of them, spread evenly)
   * re-solve: what explain does — ``Select[p]`` fixed on the one built model, each re-solve
     offered the run's portfolio changed by p as a first incumbent, the re-solves run on copies
     of the built HiGHS model side by side (``Solver.solve_each_fixed``: a thread and a forked
     process); wall clock of all of them;
   * rebuild: ``models.portfolio.build(data)`` from scratch, the nations' ideals (computed once,
     as data) written into its ``ideal`` parameters, ``Select[p]`` fixed, a new Solver, solved.
   Each side runs ``--rounds`` (5) times, alternating which goes first; each total is the median
   round. Both totals, per re-solve means, the ratio of the medians (target: re-solve ≥ 5× faster
   than rebuild), each round's ratio, and a check that both give the same objective within the gap.
   Each round also re-solves each kind alone, as a call of its own: the ratio per kind.

``--budget-s`` (600) caps the wall time: no new end-to-end run starts when it would not fit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from common import (DEFAULT_WORKDIR, ROOT, agree, code_check, code_version, load_now, machine_line,  # noqa: E402
                    median, phase_of_stack, read_run_sheet, run_fundopt, stack_summary)


def resolve_vs_rebuild(path: Path, count: int | None, rounds: int = 5) -> dict:
    """Time the run's exact re-solves (removal cost and break-even; ``count``: every k-th of
    them) on one built model vs rebuild-and-solve for each, in ``rounds`` rounds (medians)."""
    sys.path.insert(0, str(ROOT))
    from models.agreement import needs_ideals
    from models.portfolio import build
    from optimizer.analysis.agreement import has_scores, ideal_values
    from optimizer.analysis.explain import exact_jobs
    from optimizer.solve import Solver, SolverSettings
    from optimizer.workbook.validate import read_pipeline

    data = read_pipeline(path)
    settings = SolverSettings.from_fund(data.fund)
    t0 = time.perf_counter()
    m = build(data)
    solver = Solver(settings)
    ideals = ideal_values(m, solver, data) if (needs_ideals(data) or has_scores(data)) else {}
    best = solver.solve(m)  # (with the ideals stored, the satisfaction rules are those of the run)
    values, relaxed = solver.values(), solver.relaxed
    setup = time.perf_counter() - t0
    # the re-solves optimizer/analysis/explain.py makes in the run: each project forced out (its
    # removal cost) or in (its break-even NPV), offered the run's portfolio changed by that
    # project as a first incumbent; on copies of the built HiGHS model, side by side
    planned = exact_jobs(m, solver, data, best, values, relaxed)
    if count and count < len(planned):
        step = len(planned) / count
        planned = [planned[int(k * step)] for k in range(count)]
    keys = [key for key, _ in planned]
    jobs = [job for _, job in planned]
    resolve_obj, rebuild_obj = {}, {}

    def resolve_all() -> float:
        t = time.perf_counter()
        for i, o in solver.solve_each_fixed(m, jobs):
            resolve_obj[keys[i]] = o.objective if o.solved else None
        return time.perf_counter() - t

    of_kind = {level: [i for i, k in enumerate(keys) if k[1] == level] for level in (0, 1)}
    kind_rounds: dict[int, list[float]] = {0: [], 1: []}

    def resolve_kinds() -> None:  # each kind alone, as a call of its own (not part of the total)
        for level, ix in of_kind.items():
            if ix:
                t = time.perf_counter()
                list(solver.solve_each_fixed(m, [jobs[i] for i in ix]))
                kind_rounds[level].append(time.perf_counter() - t)

    def rebuild_all() -> tuple[float, dict, dict]:
        took, built = {}, {}
        for (p, level) in keys:
            t = time.perf_counter()
            m2 = build(data)
            if hasattr(m2, "ideal"):
                for n, v in ideals.items():
                    m2.ideal[n] = v
            built[p, level] = time.perf_counter() - t
            m2.Select[p].fix(level)
            o2 = Solver(settings).solve(m2)
            took[p, level] = time.perf_counter() - t
            rebuild_obj[p, level] = o2.objective if o2.solved else None
        return sum(took.values()), took, built

    # rounds alternate which side goes first; each side's figure is its median round
    resolve_rounds, rebuild_rounds = [], []
    for r in range(rounds):
        if r % 2:
            rebuild_rounds.append(rebuild_all())
            resolve_rounds.append(resolve_all())
        else:
            resolve_rounds.append(resolve_all())
            rebuild_rounds.append(rebuild_all())
        resolve_kinds()
    per_kind = {}
    for level, kind in ((0, "removal cost (forced out)"), (1, "break-even (forced in)")):
        ks = [keys[i] for i in of_kind[level]]
        if ks:
            per_kind[kind] = dict(count=len(ks), resolve=median(kind_rounds[level]),
                                  rebuild=median([sum(rd[1][k] for k in ks) for rd in rebuild_rounds]))
    round_ratios = [rb[0] / rs for rb, rs in zip(rebuild_rounds, resolve_rounds) if rs > 0]
    mismatches = [k for k in keys if not agree(resolve_obj[k], rebuild_obj[k], settings.mip_gap)]
    return dict(setup=setup, objective=best.objective, funded=len(best.choices), keys=keys,
                resolve=median(resolve_rounds), rebuild=median([rd[0] for rd in rebuild_rounds]), rounds=rounds,
                round_ratios=round_ratios, per_kind=per_kind,
                rebuild_build=median([sum(rd[2].values()) for rd in rebuild_rounds]),
                resolve_obj=resolve_obj, rebuild_obj=rebuild_obj, mismatches=mismatches, gap=settings.mip_gap)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="fundopt run with every analysis on; re-solve vs rebuild")
    ap.add_argument("--projects", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--resolves", type=int, default=None,
                    help="compare N of the run's exact re-solves, spread over them (default: all; 0: none)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of the N re-solves each way (medians)")
    ap.add_argument("--timeout", type=float, default=420.0, help="seconds before a fundopt run is stopped")
    ap.add_argument("--budget-s", type=float, default=600.0, help="wall-time budget of the whole benchmark")
    ap.add_argument("--skip-resolve", action="store_true", help="only the end-to-end runs")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "analyses")
    a = ap.parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    print(machine_line())
    code_at_start = code_version()
    fam = {f for f, (on, _) in generate.FAMILIES.items() if on} | {"agreement"}
    inst = generate.make_pipeline(a.projects, a.seed, fam, alternatives=5, explain_limit=100)
    path = a.workdir / f"analyses-{a.projects}.xlsx"
    generate.write_workbook(inst, path)
    print(f"workbook {path}: {inst.n} projects, {int(inst.windowed.sum())} with a start window, "
          f"{int(inst.approved().sum())} approved by both, {len(inst.rules_table)} rules, "
          f"{len(inst.investors_table)} investors; families {', '.join(sorted(fam))}; "
          f"Fund alternatives 5, explain_limit 100, min_nation_satisfaction 0.7, max_leverage 0.5")
    print(f"command: python benchmarks/generate.py {path} --projects {a.projects} --seed {a.seed} "
          f"--with agreement --alternatives 5 --explain-limit 100")

    # 2. re-solve vs rebuild (bounded: N MIP re-solves each way), first so that the end-to-end
    #    runs get the rest of the budget
    rr = None
    if not a.skip_resolve and a.resolves != 0:
        which = "every exact re-solve the run makes" if a.resolves is None else f"{a.resolves} of the run's exact re-solves"
        print(f"\n-- re-solve vs rebuild: {which} (Select[p] fixed to 0 or 1), {a.rounds} rounds each way "
              f"(medians; the rounds alternate which goes first)", flush=True)
        rr = resolve_vs_rebuild(path, a.resolves, a.rounds)
        n = len(rr["keys"])
        print(f"  one build + ideals + first solve: {rr['setup']:.2f} s; objective {rr['objective']:.4f}, "
              f"{rr['funded']} funded; {n} re-solves: "
              + ", ".join(f"{v['count']} {k}" for k, v in rr["per_kind"].items()))
        for k, v in rr["per_kind"].items():
            print(f"  {k:<28} alone: re-solve {v['resolve']:5.2f} s ({v['resolve'] / v['count'] * 1e3:.1f} ms each), "
                  f"rebuild + solve {v['rebuild']:6.2f} s ({v['rebuild'] / v['count'] * 1e3:.1f} ms each): "
                  f"{v['rebuild'] / v['resolve']:.2f}×")
        ratio = rr["rebuild"] / rr["resolve"] if rr["resolve"] > 0 else None
        print(f"  => re-solve on the built model: {rr['resolve']:.2f} s total ({rr['resolve'] / n * 1e3:.1f} ms each); "
              f"rebuild + solve: {rr['rebuild']:.2f} s total ({rr['rebuild'] / n * 1e3:.1f} ms each, of which build "
              f"{rr['rebuild_build'] / n * 1e3:.1f} ms); rebuild / re-solve = {ratio:.2f}× "
              f"(target ≥ 5×: {'met' if ratio and ratio >= 5 else 'NOT met'})")
        print("  rebuild / re-solve in each round: " + ", ".join(f"{x:.2f}×" for x in rr["round_ratios"]))
        bad = ", ".join(f"{p} {'in' if level else 'out'}" for p, level in rr["mismatches"])
        print(f"  objectives agree within the gap {rr['gap']:g}: " + ("yes, all" if not bad else f"NO for {bad}"))

    # 1. end to end
    print(f"\n-- fundopt run end to end (median of {a.runs})", flush=True)
    out = a.workdir / f"analyses-{a.projects}-portfolio.xlsx"
    runs = []
    for k in range(a.runs):
        remaining = a.budget_s - (time.perf_counter() - t_start)
        if runs and runs[-1].wall > remaining:
            print(f"  stopped after {len(runs)} run(s): another (~{runs[-1].wall:.0f} s) would exceed the "
                  f"{a.budget_s:.0f} s budget (remaining {remaining:.0f} s)")
            break
        load = load_now()
        m = run_fundopt(["run", str(path), "-o", str(out), "--json"], timeout=max(10.0, min(a.timeout, remaining)))
        runs.append(m)
        if m.timed_out:
            phase = phase_of_stack(m.stack)
            print(f"  run {k + 1}: killed after {m.wall:.0f} s in phase '{phase}' ({stack_summary(m.stack)}); "
                  f"load {load:.1f}")
            break
        if m.rc != 0:
            print(f"  run {k + 1}: FAILED exit {m.rc}: {m.stderr[-800:]!r}")
            break
        m.phases = read_run_sheet(out)
        print(f"  run {k + 1}: {m.wall:.2f} s wall, cpu {m.cpu:.2f} s, {m.status}, objective {m.objective:.4f}, "
              f"{len(m.payload['selected'])} selected; load {load:.1f}; phases: "
              + ", ".join(f"{p} {v:.2f}" for p, v in m.phases.items()), flush=True)
    done = [m for m in runs if not m.timed_out and m.rc == 0]
    if done:
        med = median([m.wall for m in done])
        cpu = median([m.cpu for m in done])
        names = list(dict.fromkeys(p for m in done for p in m.phases))  # union: the code may add phases
        phases = {p: median([m.phases.get(p) for m in done]) for p in names}
        partial = {p: sum(p in m.phases for m in done) for p in names}
        print(f"  => fundopt run median {med:.2f} s wall over {len(done)} run(s) (cpu {cpu:.2f} s); "
              f"target ≤ 30 s: {'met' if med <= 30 else 'NOT met'}")
        print("  Run sheet phases (median, s):")
        for p, v in phases.items():
            extra = "" if partial[p] == len(done) else f"   (in {partial[p]} of {len(done)} runs)"
            print(f"     {p:<44}{v:9.2f}{extra}")
        print(f"     {'not on the Run sheet (start, write, exit)':<44}{med - sum(phases.values()):9.2f}")
        if rr and rr["objective"] is not None and not agree(rr["objective"], done[0].objective, 1e-4):
            print(f"  NOTE: in-process objective {rr['objective']} vs fundopt run {done[0].objective}")
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    print(code_check(code_at_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
