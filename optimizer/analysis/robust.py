"""Monte Carlo over the NPV estimates: which projects are in the portfolio whatever they turn out to be.

``fundopt robust PIPELINE.xlsx --samples N [--seed S] [--workers N] [--scheduler ADDRESS]``.

Distribution
    Each project with both ``npv_low`` and ``npv_high`` has its NPV drawn from the triangular
    distribution with minimum ``npv_low`` (a), mode ``npv`` (c) and maximum ``npv_high`` (b);
    a project without a range keeps its ``npv``. Draws are independent across projects and
    samples. With one uniform u ∈ [0, 1) per project (inverse of the distribution function):

        F = (c − a) / (b − a)
        NPV = a + √(u (b − a)(c − a))          when u < F
        NPV = b − √((1 − u)(b − a)(b − c))     otherwise      (a = b: NPV = c)

    Giving only one of ``npv_low`` / ``npv_high`` is an error, and so is a pipeline with no
    range at all (there is nothing to sample).

Reproducibility
    Sample k (k = 1 … N) draws its uniforms, one per project in Projects order, from
    ``numpy.random.default_rng(numpy.random.SeedSequence(seed).spawn(N)[k − 1])``. All draws are
    made here, before any solve; workers receive the sampled NPVs. The samples are cut into
    chunks whose size depends on N alone (:func:`chunk_size`), and each chunk is solved on one
    model in the same order wherever it runs, so the results are the same on 1 or N workers,
    local or on a Dask cluster. Sample k is the same for every
    N ≥ k: more samples extend a run, they do not change it.

Each sample
    The core model of the run (every rule of the workbook; no alternatives, removal costs or
    break-even analyses) with the sampled NPVs: delays still discount the sampled NPV
    (SPEC §2), the objective is the Fund's. The nations' ideal portfolios do not depend on NPV;
    they are found once, on the workbook's own figures, and shared by every sample. With
    ``maxmin_satisfaction`` the smaller satisfaction is held at its optimum and the sampled NPV
    maximized among the ties (as a run does). With ``strategic`` or ``jobs`` NPV plays no part:
    every sample has the base optimum. A worker builds one model per chunk and re-solves it with
    each sample's objective; it returns plain data (stakes, objective), never the model.

Results
    base portfolio     the optimum on the workbook's NPVs (the portfolio a run recommends);
    frequency[p]       share of the solved samples whose optimum funds p (stake > 0): the core index;
    category           core (frequency ≥ 0.9), likely (≥ 0.5), marginal (> 0), never (0);
    base value[k]      the base portfolio valued with sample k's NPVs: SPEC §2's ``npv`` objective
                       (Σ stake × NPV after delay − debt cost − investor returns) of the base
                       portfolio's own funding;
    objective[k]       sample k's optimal objective (the Fund's objective);
    regret[k]          objective[k] − base value[k] (``npv`` objective only): what keeping the
                       base portfolio gave up had sample k's NPVs been known (≥ 0 up to mip_gap);
    P10 / P50 / P90    percentiles over the solved samples, linear between order statistics
                       (numpy's default; Excel's PERCENTILE.INC).
    The samples change only the objective, never a rule, so when the base portfolio exists every
    sample is feasible: a sample can only fail by running out of time (``time_limit``). Unsolved
    samples are counted and reported, and left out of frequencies and percentiles.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..data import Pipeline, Problem
from ..errors import InfeasibleError, InputError, TimeLimitError
from ..report import objective_value
from ..solve import FEASIBLE, INFEASIBLE, OPTIMAL, TIME_LIMIT, Outcome, SolverSettings

MAX_SAMPLES = 100_000
#: chunks: at most this many samples each, and at least MIN_CHUNKS chunks when N allows
MAX_CHUNK = 25
MIN_CHUNKS = 16
#: category thresholds on the selection frequency
CORE, LIKELY = 0.9, 0.5
DISTRIBUTION = "triangular(npv_low, npv, npv_high)"


def category(frequency: float) -> str:
    if frequency >= CORE:
        return "core"
    if frequency >= LIKELY:
        return "likely"
    return "marginal" if frequency > 0 else "never"


def chunk_size(samples: int) -> int:
    """Samples per task: a function of the number of samples only (never of the workers)."""
    return max(1, min(MAX_CHUNK, math.ceil(samples / MIN_CHUNKS)))


# --------------------------------------------------------------------------- checks
def request_problems(samples: Any, seed: Any, workers: Any, scheduler: Any = None) -> list[Problem]:
    out = []
    if samples is None:
        out.append(Problem("command line", None, "--samples", None, "give the number of samples, e.g. --samples 200"))
    elif not isinstance(samples, int) or isinstance(samples, bool) or not 1 <= samples <= MAX_SAMPLES:
        out.append(Problem("command line", None, "--samples", samples,
                           f"must be a whole number from 1 to {MAX_SAMPLES:,}"))
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        out.append(Problem("command line", None, "--seed", seed, "must be a whole number ≥ 0"))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        out.append(Problem("command line", None, "--workers", workers, "must be a whole number ≥ 1"))
    if scheduler is not None and not str(scheduler).strip():
        out.append(Problem("command line", None, "--scheduler", scheduler,
                           "give the address of a running Dask scheduler, e.g. tcp://host:8786"))
    return out


def data_problems(data: Pipeline) -> list[Problem]:
    """What the workbook must hold to be sampled (npv_low ≤ npv ≤ npv_high is checked on read)."""
    out = []
    for p in data.projects:
        if (p.npv_low is None) != (p.npv_high is None):
            missing, given = ("npv_high", p.npv_low) if p.npv_high is None else ("npv_low", p.npv_high)
            out.append(Problem("Projects", p.row, missing, None,
                               f"{p.project_id} has {'npv_low' if missing == 'npv_high' else 'npv_high'} "
                               f"{given:g} but no {missing}: give both ends of the NPV range, or neither"))
    if not any(has_range(p) for p in data.projects):
        out.append(Problem("Projects", None, "npv_low", None,
                           "no project has an NPV range (npv_low and npv_high): robust samples NPVs within "
                           "these ranges; add them for the projects whose NPV is uncertain"))
    return out


def has_range(p) -> bool:
    return p.npv_low is not None and p.npv_high is not None


# --------------------------------------------------------------------------- sampling
def triangular(u, a, c, b):
    """Inverse distribution function of triangular(a, c, b) at u (arrays of one shape)."""
    import numpy as np

    u, a, c, b = (np.asarray(x, dtype=float) for x in (u, a, c, b))
    width = b - a
    safe = np.where(width > 0, width, 1.0)
    f = np.where(width > 0, (c - a) / safe, 0.0)
    low = a + np.sqrt(np.clip(u * width * (c - a), 0.0, None))
    high = b - np.sqrt(np.clip((1.0 - u) * width * (b - c), 0.0, None))
    return np.where(width > 0, np.where(u < f, low, high), c)


def sample_npvs(data: Pipeline, seed: int, samples: int):
    """The sampled NPVs: an array of shape (samples, projects), row k − 1 for sample k."""
    import numpy as np

    n = len(data.projects)
    ranged = np.array([has_range(p) for p in data.projects], dtype=bool)
    c = np.array([p.npv for p in data.projects], dtype=float)
    a = np.array([p.npv_low if has_range(p) else p.npv for p in data.projects], dtype=float)
    b = np.array([p.npv_high if has_range(p) else p.npv for p in data.projects], dtype=float)
    out = np.empty((samples, n))
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(samples)):
        u = np.random.default_rng(child).random(n)
        out[k] = np.where(ranged, triangular(u, a, c, b), c)
    return out


def with_npvs(data: Pipeline, npvs: Sequence[float]) -> Pipeline:
    """The pipeline with these NPVs (in Projects order)."""
    return replace(data, projects=tuple(replace(p, npv=float(v)) for p, v in zip(data.projects, npvs)))


# --------------------------------------------------------------------------- the core model
class CoreModel:
    """One built model of the run, re-solved with each sample's NPVs in the objective.

    The objective of a sample is the Fund's objective of the workbook plus
    w × Σ_(p,t) stake[p, t] × (NPV_sample[p] − npv[p]) × delay(p, t), where w is the weight of
    NPV in that objective (1 for ``npv``, the ``npv`` weight for ``weighted``, 0 for ``strategic``
    and ``jobs``); for ``maxmin_satisfaction`` the smaller satisfaction is held at its optimum
    and the sampled NPV is the objective.
    """

    def __init__(self, data: Pipeline, settings: SolverSettings, ideals: dict[str, float] | None = None):
        """``ideals`` None: find the nations' ideal portfolios on this model when the rules need them."""
        from models.agreement import needs_ideals
        from models.portfolio import build, objective_expression

        from ..solve import Solver

        self.data = data
        self.m = m = build(data)
        self.solver = Solver(settings)
        if ideals is None:
            from .agreement import ideal_values

            ideals = ideal_values(m, self.solver, data) if needs_ideals(data) else {}
        elif hasattr(m, "ideal"):
            for n, v in ideals.items():
                m.ideal[n] = v
        self.ideals = ideals
        kind = data.fund.objective
        self.maxmin = kind == "maxmin_satisfaction"
        self.held: Outcome | None = None
        if self.maxmin:
            self.held = self._hold()
            kind = "npv"
        self.weight = self._npv_weight(kind)
        self.base_expr = objective_expression(m, data, kind)
        self.npv0 = [p.npv for p in data.projects]

    def _npv_weight(self, kind: str) -> float:
        if kind == "npv":
            return 1.0
        if kind == "weighted":
            from ..workbook.validate import parse_weights

            weights, _ = parse_weights(self.data.fund.objective_weights or "npv=1")
            return float(weights.get("npv", 0.0))
        return 0.0

    def _hold(self) -> Outcome:
        """maxmin_satisfaction: its optimum does not depend on NPV; solve it once and hold it."""
        import pyomo.core as pyo

        first = self.solver.solve(self.m)
        if first.solved:
            self.m.Maxmin_Hold = pyo.Constraint(expr=self.m.MinSatisfaction >= (self.m.MinSatisfaction.value or 0) - 1e-7)
        return first

    def solve(self, npvs: Sequence[float] | None = None) -> Outcome:
        """The optimum with these NPVs (None: the workbook's)."""
        from models.portfolio import set_objective_expr

        if self.held is not None and not self.held.solved:
            return self.held
        m = self.m
        expr = self.base_expr
        if npvs is not None and self.weight:
            import numpy as np

            d = self.weight * (np.asarray(npvs, dtype=float) - np.asarray(self.npv0, dtype=float))
            if d.any():
                expr = expr + m.forms.npv_value(d)
        set_objective_expr(m, expr)
        outcome = self.solver.solve(m)
        if self.maxmin and outcome.solved:  # the reported objective stays the smaller satisfaction
            outcome = replace(outcome, objective=self.held.objective, bound=self.held.bound, gap=self.held.gap)
        return outcome


def solve_chunk(task: tuple) -> list[dict]:
    """A worker's task: solve samples on one model; plain rows back (never the model).

    ``task`` = (data, settings, ideals, [(k, npvs), …]).
    """
    data, settings, ideals, samples = task
    core = CoreModel(data, settings, ideals)
    out = []
    for k, npvs in samples:
        start = time.perf_counter()
        o = core.solve(npvs)
        rec = {"sample": k, "status": o.status, "gap": o.gap, "objective": None, "stakes": {}}
        if o.solved:
            rec["objective"] = objective_value(with_npvs(data, npvs), o, None, ideals)
            rec["stakes"] = {p: c.stake for p, c in o.choices.items()}
        rec["seconds"] = time.perf_counter() - start
        out.append(rec)
    return out


# --------------------------------------------------------------------------- results (plain data)
@dataclass
class Robustness:
    data: Pipeline
    samples: int
    seed: int
    workers: int
    scheduler: str | None
    base: Outcome
    base_objective: float
    #: one row per sample, in sample order: sample, status, objective, base_value, regret, projects, selected
    rows: list[dict]
    #: one row per project (Projects order): see project_rows
    frequency: dict[str, float]
    mean_stake: dict[str, float]
    ideals: dict[str, float] = field(default_factory=dict)
    #: False when the objective gives NPV no weight (strategic, jobs): every sample has the base optimum
    npv_matters: bool = True
    timings: dict[str, float] = field(default_factory=dict)
    solver_version: str = ""
    options: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.base.status

    @property
    def solved(self) -> list[dict]:
        return [r for r in self.rows if r["status"] in (OPTIMAL, FEASIBLE)]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)

    @property
    def regret_applies(self) -> bool:
        return self.data.fund.objective == "npv"

    def stats(self, key: str) -> dict[str, float | None]:
        """P10, P50, P90, mean, min and max of a Samples column over the solved samples."""
        import numpy as np

        values = np.array([r[key] for r in self.solved if r.get(key) is not None], dtype=float)
        if not len(values):
            return dict.fromkeys(("p10", "p50", "p90", "mean", "min", "max"))
        p10, p50, p90 = (float(x) for x in np.percentile(values, [10, 50, 90]))
        return {"p10": p10, "p50": p50, "p90": p90, "mean": float(values.mean()),
                "min": float(values.min()), "max": float(values.max())}

    def project_rows(self) -> list[dict]:
        """The Robustness sheet: by frequency, highest first, then in Projects order."""
        base = self.base.choices
        rows = []
        for p in self.data.projects:
            f = self.frequency[p.project_id]
            rows.append({"project_id": p.project_id, "name": p.name, "sector": p.sector,
                         "npv_low": p.npv_low, "npv": p.npv, "npv_high": p.npv_high,
                         "in_base_portfolio": "yes" if p.project_id in base else "no",
                         "base_stake": base[p.project_id].stake if p.project_id in base else None,
                         "frequency": f, "category": category(f),
                         "samples_selected": round(f * len(self.solved)),
                         "mean_stake": self.mean_stake[p.project_id]})
        order = {pid: i for i, pid in enumerate(self.data.ids)}
        return sorted(rows, key=lambda r: (-r["frequency"], order[r["project_id"]]))

    def categories(self) -> dict[str, int]:
        out = {"core": 0, "likely": 0, "marginal": 0, "never": 0}
        for f in self.frequency.values():
            out[category(f)] += 1
        return out


# --------------------------------------------------------------------------- the run
def robust(data: Pipeline, samples: int, *, seed: int = 0, workers: int = 1, scheduler: str | None = None,
           settings: SolverSettings | None = None, timings=None, progress=None) -> Robustness:
    """Solve the base portfolio and ``samples`` NPV samples; see the module docstring.

    ``progress(phase, done, total)`` is told the samples as they finish.
    """
    import numpy as np

    from ..batch.executors import map_tasks
    from ..runner import Timings

    problems = request_problems(samples, seed, workers, scheduler) + data_problems(data)
    if problems:
        raise InputError(problems)
    settings = settings or SolverSettings.from_fund(data.fund)
    timings = timings or Timings(listener=progress)
    plain = replace(data, source=None, scenarios=())  # what workers need: no carried sheets

    with timings.phase("base portfolio"):
        base_core = CoreModel(plain, settings)
        ideals = base_core.ideals
        base = base_core.solve(None)
    if base.status == INFEASIBLE:
        from .diagnosis import diagnose

        with timings.phase("diagnosis"):
            raise InfeasibleError(diagnose(data, settings, ideals))
    if base.status == TIME_LIMIT:
        raise TimeLimitError(f"the time limit of {settings.time_limit_s:g} s ran out before any portfolio "
                             "satisfying every rule was found; raise time_limit_s on the Fund sheet")
    base_objective = objective_value(data, base, None, ideals)

    with timings.phase("sampling"):
        npvs = sample_npvs(data, seed, samples)
    size = chunk_size(samples)
    tasks = [(plain, settings, ideals, [(k + 1, npvs[k].tolist()) for k in range(i, min(i + size, samples))])
             for i in range(0, samples, size)]
    results: list[dict | None] = [None] * samples
    with timings.phase("samples"):
        done = 0
        if progress:
            progress("samples", 0, samples)
        for _, chunk in map_tasks(solve_chunk, tasks, workers=workers, scheduler=scheduler):
            for rec in chunk:
                results[rec["sample"] - 1] = rec
            done += len(chunk)
            if progress:
                progress("samples", done, samples)

    with timings.phase("aggregate"):
        ids = data.ids
        index = {pid: j for j, pid in enumerate(ids)}
        # the base portfolio valued with each sample's NPVs: its npv objective plus the NPV changes
        base_npv = objective_value(data, base, "npv", ideals)
        weight = np.zeros(len(ids))
        for pid, c in base.choices.items():
            weight[index[pid]] = c.stake * data.delay_factor(data.by_id[pid], c.start_year)
        base_values = base_npv + (npvs - np.array([p.npv for p in data.projects])) @ weight
        counts = np.zeros(len(ids))
        stake_sum = np.zeros(len(ids))
        rows = []
        for k, rec in enumerate(results):
            solved = rec["status"] in (OPTIMAL, FEASIBLE)
            row = {"sample": k + 1, "status": rec["status"], "objective": rec["objective"],
                   "base_value": float(base_values[k]), "regret": None,
                   "projects": len(rec["stakes"]) if solved else None,
                   "selected": ", ".join(rec["stakes"]) if solved else None,
                   "mip_gap": rec["gap"], "seconds": rec["seconds"]}
            if solved and data.fund.objective == "npv":
                row["regret"] = rec["objective"] - row["base_value"]
            if solved:
                for pid, s in rec["stakes"].items():
                    counts[index[pid]] += 1
                    stake_sum[index[pid]] += s
            rows.append(row)
        n_solved = sum(1 for r in rows if r["status"] in (OPTIMAL, FEASIBLE))
        denom = max(n_solved, 1)
        frequency = {pid: float(counts[j] / denom) for j, pid in enumerate(ids)}
        mean_stake = {pid: float(stake_sum[j] / denom) for j, pid in enumerate(ids)}

    return Robustness(data, samples, seed, workers, scheduler, base, base_objective, rows, frequency, mean_stake,
                      ideals, bool(base_core.weight), timings.phases, base_core.solver.version,
                      {"samples": samples, "seed": seed, "executor": executor(workers, scheduler),
                       "workers": workers, "scheduler": scheduler or "",
                       "chunk_size": size, "distribution": DISTRIBUTION,
                       "objective": data.fund.objective, "time_limit_s": settings.time_limit_s,
                       "mip_gap": settings.mip_gap})


def executor(workers: int, scheduler: str | None) -> str:
    if scheduler:
        return f"Dask scheduler at {scheduler}"
    return f"{workers} local processes" if workers > 1 else "this process"


# --------------------------------------------------------------------------- end to end
def default_output(input_path: Path) -> Path:
    return Path("outputs") / f"{Path(input_path).stem}-robust.xlsx"


def run_robust(path: str | Path, output: str | Path | None = None, *, samples: int | None, seed: int = 0,
               workers: int = 1, scheduler: str | None = None, overrides: dict | None = None, write: bool = True,
               progress=None) -> tuple[Robustness, Path | None]:
    """Read, check, sample, solve and write the robustness workbook; raise the typed errors of a run."""
    from ..runner import Timings, _write_diagnosis
    from ..workbook.validate import read_pipeline

    path = Path(path)
    problems = request_problems(samples, seed, workers, scheduler)
    out = Path(output) if output is not None else default_output(path)
    if out.suffix.lower() != ".xlsx":
        problems.append(Problem("command line", None, "-o", str(out), "the output must be an .xlsx file"))
    elif path.exists() and out.exists() and out.resolve() == path.resolve():
        problems.append(Problem("command line", None, "-o", str(out),
                                "the output would overwrite the input workbook; choose another name"))
    timings = Timings(listener=progress)
    try:
        with timings.phase("read"):
            data = read_pipeline(path)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    problems += data_problems(data)
    if problems:
        raise InputError(problems)
    settings = SolverSettings.from_fund(data.fund, **(overrides or {}))
    try:
        result = robust(data, samples, seed=seed, workers=workers, scheduler=scheduler, settings=settings,
                        timings=timings, progress=progress)
    except InfeasibleError as exc:
        if write:
            _write_diagnosis(data, exc, out, timings)
        raise
    if not write:
        return result, None
    from ..workbook.robust_writer import write_robust

    with timings.phase("write"):
        write_robust(result, out)
    result.timings = dict(timings.phases)
    return result, out
