"""The speed targets in one command: start-up, the core path at 1k / 10k / 50k, the hard instances.

One command (from the repository root)::

    python benchmarks/bench_speed.py          # 7 to 10 minutes on the project's 2-core machine

It runs, one after the other and each printing its own report as it goes,

* ``bench_startup.py``                    — ``fundopt --help``, median of 5;
* ``bench_core.py --with-50k --runs 5 --runs-50k 3`` (50,000 only when 10,000 finished) —
  ``fundopt run`` end to end against raw highspy's build + solve of the same rules
  at 1,000, 10,000 and 50,000 projects, runs alternated;
* ``bench_hard.py --runs 3``              — 12 Chu–Beasley 5 × 100 knapsacks (tightness
  0.25 / 0.5 / 0.75) to proven optimum against raw HiGHS with default options,

then one table: each figure beside its reference, the ratio, the target and whether it is met,
and whether the objectives agreed with the reference's on every instance. ``--core-runs``,
``--runs-50k``, ``--hard-runs``, ``--no-50k``, ``--core-sizes``, ``--hard-projects`` and ``--hard-per-tightness``
shorten it (the tests run it so, small, as a smoke test). Exit status 1 when a run failed or an objective
disagreed with its reference (a target not met is reported, not an error: this measures).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_core  # noqa: E402
import bench_hard  # noqa: E402
import bench_startup  # noqa: E402
from common import code_check, code_version, fmt_s, machine_line  # noqa: E402

TEN_K_RATIO = 1.15  # fundopt run ≤ 1.15 × the reference's build + solve at 10,000 projects
HARD_RATIO = 0.7    # median time to proven optimum ≤ 0.7 × raw HiGHS defaults
RSS_50K_MB = 2048   # peak RSS ≤ 2 GB at 50,000 projects
HELP_S = 0.5        # fundopt --help ≤ 0.5 s


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "NOT met")


def _section(title: str) -> None:
    print(f"\n{'#' * 100}\n# {title}\n{'#' * 100}", flush=True)


def summary_rows(startup: dict, core: dict, hard: dict) -> list[tuple[str, str, str, str, str, str]]:
    """(figure, measured, reference, ratio, target, verdict) for the final table."""
    rows = []
    if startup:
        s = startup["wall_s"]
        rows.append(("fundopt --help", f"{s:.3f} s (median of {startup['runs']})", "—", "—",
                     f"≤ {HELP_S} s", _verdict(startup["ok"] and s <= HELP_S)))
    for n, r in sorted(core.items()):
        if r["fundopt_s"] is None or r["ratio"] is None:
            rows.append((f"core path, {n:,} projects", "did not finish", fmt_s(r["reference_s"]), "—",
                         "", f"FAILED: {r['failure']}"))
            continue
        pairs = r["pair_ratios"]
        measured = f"{fmt_s(r['fundopt_s'])} (median of {r['runs']}"
        measured += f"; pairs {min(pairs):.2f}–{max(pairs):.2f}×)" if pairs else ")"
        if n == 10000:
            target, ok = f"≤ {TEN_K_RATIO}×", r["ratio"] <= TEN_K_RATIO
        elif n == 50000:
            rss = r["peak_rss_mb"]
            measured += f", peak RSS {rss:,.0f} MB" if rss else ", peak RSS not measured"
            target, ok = "peak RSS ≤ 2 GB; time reported", (rss <= RSS_50K_MB if rss else None)
        else:
            target, ok = "reported", None
        rows.append((f"core path, {n:,} projects", measured, fmt_s(r["reference_s"]), f"{r['ratio']:.2f}×",
                     target, _verdict(ok)))
    if hard:
        levels = "/".join(f"{x:g}" for x in hard["levels"])
        rows.append((f"hard 5 × {hard['projects']}, {hard['instances']} instances ({levels})",
                     f"{fmt_s(hard['fundopt_s'])} median (cpu ratio {hard['cpu_ratio']:.2f}×)",
                     fmt_s(hard["reference_s"]), f"{hard['ratio']:.2f}× (median of ratios)",
                     f"≤ {HARD_RATIO}×, ≥ 10 instances",
                     _verdict(hard["ratio"] <= HARD_RATIO and hard["instances"] >= 10)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="fundopt's speed targets in one command")
    ap.add_argument("--core-runs", type=int, default=5, help="runs of each size of the core benchmark")
    ap.add_argument("--runs-50k", type=int, default=3, help="runs at 50,000 projects")
    ap.add_argument("--hard-runs", type=int, default=3, help="runs of each hard instance")
    ap.add_argument("--no-50k", action="store_true", help="leave out 50,000 projects (about 2 minutes)")
    ap.add_argument("--core-sizes", default="1000,10000", help="project counts of the core benchmark (50k apart)")
    ap.add_argument("--hard-projects", type=int, default=100, help="projects per hard instance")
    ap.add_argument("--hard-per-tightness", type=int, default=4, help="hard instances per tightness level")
    ap.add_argument("--workdir", type=Path, default=None, help="where the workbooks go (each script's own default)")
    a = ap.parse_args(argv)
    where = (lambda sub: ["--workdir", str(a.workdir / sub)]) if a.workdir else (lambda sub: [])
    t0 = time.perf_counter()
    code_at_start = code_version()
    startup, core, hard = {}, {}, {}
    rcs = []
    _section("fundopt --help start-up (bench_startup.py)")
    rcs.append(bench_startup.main([], results=startup))
    _section("core path end to end against raw highspy (bench_core.py)")
    rcs.append(bench_core.main(["--sizes", a.core_sizes, "--runs", str(a.core_runs), "--runs-50k", str(a.runs_50k)]
                               + where("core") + ([] if a.no_50k else ["--with-50k"]), results=core))
    _section("hard instances to proven optimum against raw HiGHS defaults (bench_hard.py)")
    rcs.append(bench_hard.main(["--runs", str(a.hard_runs), "--projects", str(a.hard_projects),
                                "--per-tightness", str(a.hard_per_tightness)] + where("hard"), results=hard))

    _section("summary")
    print(machine_line())
    rows = summary_rows(startup, core, hard)
    head = ("figure", "fundopt", "reference", "ratio", "target", "verdict")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    agree = all(r["agree"] for r in core.values() if r["fundopt_s"] is not None) and not hard.get("failures")
    failed = any(rc != 0 for rc in rcs) or any(r["fundopt_s"] is None for r in core.values())
    print(f"objectives agree with the reference on every instance (within the gap): {'yes' if agree else 'NO'}")
    if hard.get("time_limit_hit"):
        print(f"hard instances that hit the time limit: {', '.join(hard['time_limit_hit'])}")
    print(f"total wall time {time.perf_counter() - t0:.0f} s")
    print(code_check(code_at_start))
    return 1 if failed or not agree else 0


if __name__ == "__main__":
    sys.exit(main())
