"""Start-up time of ``fundopt --help`` (the console script, a fresh process each time).

One command (from the repository root)::

    python benchmarks/bench_startup.py        # median of 5 (after one unmeasured warm-up run)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import code_check, code_version, fundopt_cmd, machine_line, median, run_fundopt  # noqa: E402


def main(argv=None, results: dict | None = None) -> int:
    """Run the benchmark; when ``results`` is given, fill it with the median (see bench_speed.py)."""
    ap = argparse.ArgumentParser(description="fundopt --help start-up time")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args(argv)
    print(machine_line())
    code_at_start = code_version()
    print(f"command: {' '.join(fundopt_cmd())} --help")
    run_fundopt(["--help"], timeout=60)  # warm the file cache; not measured
    runs = []
    for k in range(a.runs):
        m = run_fundopt(["--help"], timeout=60)
        runs.append(m)
        cpu = "—" if m.cpu is None else f"{m.cpu:.3f} s"
        print(f"  run {k + 1}: {m.wall:.3f} s wall, cpu {cpu}, exit {m.rc}")
    wall, ok = median([m.wall for m in runs]), all(m.rc == 0 for m in runs)
    print(f"=> fundopt --help median {wall:.3f} s wall "
          f"(cpu {median([m.cpu for m in runs]):.3f} s) over {len(runs)} runs")
    if results is not None:
        results.update(wall_s=wall, runs=len(runs), ok=ok)
    print(code_check(code_at_start))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
