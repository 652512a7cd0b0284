"""Batch benchmark: 200 scenarios of a 200-project pipeline on 1 and on 2 local worker processes.

One command (from the repository root)::

    python benchmarks/bench_batch.py

The workbook (benchmarks/generate.py, seed 1): 200 projects with the default families except
the nations' scores and start windows (which make the price of agreement a long MIP), with
``alternatives 1`` and ``explain_limit 0`` on Fund, so that one scenario takes about a second
(solve, price of agreement, removal-cost and break-even estimates, report); a ``Scenarios``
sheet of ``--scenarios`` rows (200) is added, each a seeded mix of the three kinds of scenario
column: ``equity_capital`` (70–130 % of the base), ``max_leverage``, ``npv_scale:<sector>``
(0.5–1.5) and ``sector:<sector>:max_share`` (the base cap ± 0.1).

``fundopt batch W -o DIR --workers N --json`` runs as a user runs it (subprocess, wall clock,
CPU time of the process and its workers), alternating 1 and ``--workers`` (2) so that a change
in the machine's load affects both alike; ``--runs`` (3) of each, the median reported, and the
speed-up = median wall on 1 worker / median wall on 2 workers (target ≥ 1.8×). The objectives of
every scenario must agree between the two (within the gap). ``--budget-s`` (1500) caps the
wall time: no new run starts when it would not fit.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from common import DEFAULT_WORKDIR, agree, code_check, code_version, load_now, machine_line, median, run_fundopt  # noqa: E402,E501


def make_workbook(path: Path, projects: int, scenarios: int, seed: int) -> Path:
    import openpyxl

    families = {f for f, (on, _) in generate.FAMILIES.items() if on} - {"scores", "windows"}
    inst = generate.make_pipeline(projects, seed, families, alternatives=1, explain_limit=0)
    generate.write_workbook(inst, path)
    rng = np.random.default_rng(seed + 1000)
    equity = float(inst.fund["equity_capital"])
    capped = [(row["sector"], row["max_share"]) for row in inst.sectors_table if row.get("max_share")]
    floors = {row["sector"]: row.get("min_share") or 0.0 for row in inst.sectors_table}
    sectors = sorted({inst.sector_names[s] for s in inst.sector})
    header = ["scenario", "equity_capital", "max_leverage"] + [f"npv_scale:{s}" for s in sectors] + \
             [f"sector:{s}:max_share" for s, _ in capped]
    rows = []
    for k in range(scenarios):
        row = {"scenario": f"S{k + 1:03d}"}
        if rng.random() < 0.6:
            row["equity_capital"] = round(equity * rng.uniform(0.7, 1.3), 1)
        if rng.random() < 0.3:
            row["max_leverage"] = float(rng.choice([0.0, 0.25, 0.5]))
        for s in rng.choice(sectors, size=rng.integers(0, 3), replace=False):
            row[f"npv_scale:{s}"] = round(float(rng.uniform(0.5, 1.5)), 2)
        if rng.random() < 0.4:
            s, cap = capped[int(rng.integers(len(capped)))]
            row[f"sector:{s}:max_share"] = round(max(floors[s] + 0.02, cap + rng.uniform(-0.1, 0.1)), 3)
        rows.append([row.get(h) for h in header])
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Scenarios")
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--projects", type=int, default=200)
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=1500.0)
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = ap.parse_args(argv)

    print(machine_line())
    before = code_version()
    work = args.workdir / "batch"
    work.mkdir(parents=True, exist_ok=True)
    path = make_workbook(work / f"batch-{args.projects}x{args.scenarios}.xlsx", args.projects, args.scenarios,
                         args.seed)
    print(f"workbook: {path} ({args.projects} projects, {args.scenarios} scenarios + the base run)")

    start = time.perf_counter()
    results: dict[int, list] = {1: [], args.workers: []}
    objectives: dict[int, dict] = {}
    longest = 0.0
    for run in range(args.runs):
        for w in (1, args.workers):
            used = time.perf_counter() - start
            if used + max(longest, 1.0) * 1.1 > args.budget_s:
                print(f"  budget of {args.budget_s:.0f} s reached: run {run + 1} on {w} worker(s) not started")
                break
            out = work / f"out-{w}"
            shutil.rmtree(out, ignore_errors=True)
            load = load_now()
            m = run_fundopt(["batch", str(path), "-o", str(out), "--workers", str(w), "--json"],
                            timeout=args.budget_s)
            longest = max(longest, m.wall)
            p = m.payload or {}
            counts = p.get("counts", {})
            print(f"  run {run + 1}, {w} worker{'s' if w > 1 else ''}: wall {m.wall:.1f} s, cpu "
                  f"{'—' if m.cpu is None else f'{m.cpu:.1f} s'}, load before {load:.2f}, exit {m.rc}, "
                  f"{counts}")
            if m.rc != 0:
                print(m.stderr[-2000:])
                return 1
            results[w].append(m)
            objectives.setdefault(w, {s["scenario"]: s["objective"] for s in p.get("scenarios", [])})
        else:
            continue
        break

    one, many = median([m.wall for m in results[1]]), median([m.wall for m in results[args.workers]])
    print()
    print(f"1 worker:  median wall {one:.1f} s over {len(results[1])} run(s), median cpu "
          f"{median([m.cpu for m in results[1]]) or 0:.1f} s")
    print(f"{args.workers} workers: median wall {many:.1f} s over {len(results[args.workers])} run(s), median cpu "
          f"{median([m.cpu for m in results[args.workers]]) or 0:.1f} s")
    if one and many:
        print(f"speed-up on {args.workers} workers: {one / many:.2f}x (target >= 1.8x: "
              f"{'met' if one / many >= 1.8 else 'NOT met'})")
    if len(objectives) == 2:
        a, b = objectives[1], objectives[args.workers]
        differ = [s for s in a if not agree(a[s], b.get(s), rel=2e-4)]
        print(f"objectives agree on 1 and {args.workers} workers: "
              f"{'yes, every scenario' if not differ else 'NO: ' + ', '.join(differ[:10])}")
    print(code_check(before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
