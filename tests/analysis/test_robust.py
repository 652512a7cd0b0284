"""optimizer/analysis/robust.py and ``fundopt robust``: Monte Carlo over the NPV ranges.

    NPV[p] ~ triangular(npv_low, npv, npv_high), sample k drawn from
             default_rng(SeedSequence(seed).spawn(N)[k − 1]), one uniform per project
    frequency[p] = share of the samples whose optimum funds p (the core index)
    base value[k] = the base portfolio (optimal on the workbook's NPVs) valued with sample k's NPVs

Every workbook is real (helpers.make_workbook), read by the real reader and solved by real
HiGHS with mip_gap 0 on Fund. The samples are drawn again here from the documented scheme
(plain Python, not the module's sampler) and each one solved by brute force
(tests/enumerate.py), so the frequencies are checked sample by sample. Executors: in process,
two local processes, and a real Dask scheduler and worker started as separate processes.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from enumerate import reference
from helpers import make_workbook, project, sheet_rows

from optimizer.analysis.robust import robust, run_robust, sample_npvs
from optimizer.errors import InputError
from optimizer.workbook.validate import read_pipeline

TOL = 1e-6


def load(tmp_path: Path, name: str, projects, **workbook):
    workbook["fund"] = {"mip_gap": 0, **(workbook.get("fund") or {})}
    path = make_workbook(tmp_path / f"{name}.xlsx", projects, **workbook)
    return path, read_pipeline(path)


def draws(projects: list[dict], seed: int, n: int) -> list[dict[str, float]]:
    """The documented scheme, in plain Python: per sample one uniform per project, inverse CDF."""
    out = []
    for child in np.random.SeedSequence(seed).spawn(n):
        u = np.random.default_rng(child).random(len(projects))
        sample = {}
        for p, x in zip(projects, u):
            c = float(p["npv"])
            if p.get("npv_low") is None:
                sample[p["project_id"]] = c
                continue
            a, b = float(p["npv_low"]), float(p["npv_high"])
            if b == a:
                v = c
            elif x < (c - a) / (b - a):
                v = a + math.sqrt(x * (b - a) * (c - a))
            else:
                v = b - math.sqrt((1 - x) * (b - a) * (b - c))
            sample[p["project_id"]] = v
        out.append(sample)
    return out


def competing(tmp_path: Path, name: str = "competing"):
    """Four projects of overlapping ranges; the equity takes two of them: the choice varies."""
    projects = [project("A", 10, 5, npv_low=1, npv_high=9), project("B", 10, 5, npv_low=2, npv_high=8),
                project("C", 10, 4, npv_low=0, npv_high=10), project("D", 10, 6, npv_low=3, npv_high=7)]
    return load(tmp_path, name, projects, fund={"equity_capital": 20})


def random_pipeline(rng: random.Random, n: int) -> dict:
    """A small random pipeline: ranges on most projects, sectors, a budget, rules, approvals."""
    sectors = ("Energy", "Ports", "Chips")
    projects = []
    for i in range(n):
        npv = rng.randint(-2, 12)
        p = project(f"P{i}", rng.randint(5, 40), npv, sector=rng.choice(sectors), earliest_start=2027,
                    duration=rng.choice((1, 2)), jp_approval=rng.choice(("yes", "yes", "yes", "no")),
                    us_approval="yes")
        if rng.random() < 0.85:
            p["npv_low"] = npv - rng.randint(0, 8)
            p["npv_high"] = npv + rng.randint(0, 8)
        projects.append(p)
    total = sum(p["capex"] for p in projects)
    fund = {"equity_capital": round(total * rng.uniform(0.3, 0.6), 1), "mip_gap": 0}
    sector_rows = [{"sector": s, "max_share": rng.choice((None, 0.6))} for s in sectors]
    budget = [{"year": 2027, "capital_limit": round(total * 0.35, 1)}] if rng.random() < 0.5 else None
    ids = [p["project_id"] for p in projects]
    rules = [{"rule": "excludes", "projects": ", ".join(rng.sample(ids, 2))},
             {"rule": "requires", "projects": ", ".join(rng.sample(ids, 2))}]
    return {"projects": projects, "fund": fund, "sectors": sector_rows, "budget": budget, "rules": rules}


# --------------------------------------------------------------------------- sampling
def test_sampler_follows_the_documented_triangular_scheme(tmp_path):
    projects = [project("A", 10, 5, npv_low=1, npv_high=9), project("B", 10, 2),
                project("C", 10, 4, npv_low=4, npv_high=10), project("D", 10, 6, npv_low=6, npv_high=6)]
    _, data = load(tmp_path, "scheme", projects)
    npvs = sample_npvs(data, 7, 4000)
    expected = draws(projects, 7, 4000)
    assert npvs.shape == (4000, 4)
    for k in (0, 1, 1999, 3999):
        assert list(npvs[k]) == pytest.approx([expected[k][p["project_id"]] for p in projects], abs=1e-12)
    # within the range; the triangle's mean (a + c + b) / 3; no range or an empty range: the npv
    assert npvs[:, 0].min() >= 1 and npvs[:, 0].max() <= 9
    assert npvs[:, 0].mean() == pytest.approx(5.0, abs=0.1)
    assert npvs[:, 2].mean() == pytest.approx(6.0, abs=0.1)  # mode at the low end: (4 + 4 + 10) / 3
    assert set(npvs[:, 1]) == {2.0} and set(npvs[:, 3]) == {6.0}
    # sample k does not depend on how many samples are drawn
    assert np.array_equal(sample_npvs(data, 7, 10), npvs[:10])


# --------------------------------------------------------------------------- against brute force
@pytest.mark.parametrize("case", range(4))
def test_frequencies_match_enumeration_sample_by_sample(tmp_path, case):
    rng = random.Random(1000 + case)
    wb = random_pipeline(rng, rng.randint(6, 9))
    _, data = load(tmp_path, f"random{case}", **wb)
    n, seed = 30, case
    result = robust(data, n, seed=seed)

    base_ref = reference(**wb)
    assert base_ref is not None
    assert result.base_objective == pytest.approx(base_ref.objective, abs=TOL)
    base = set(result.base.choices)
    assert base in set(base_ref.optima)

    counts = dict.fromkeys(data.ids, 0)
    for k, sample in enumerate(draws(wb["projects"], seed, n)):
        projects = [{**p, "npv": sample[p["project_id"]]} for p in wb["projects"]]
        ref = reference(**{**wb, "projects": projects})
        row = result.rows[k]
        assert row["sample"] == k + 1 and row["status"] == "optimal"
        assert row["objective"] == pytest.approx(ref.objective, abs=TOL)
        assert row["base_value"] == pytest.approx(sum(sample[p] for p in base), abs=TOL)
        assert row["regret"] >= -TOL
        chosen = set(row["selected"].split(", ")) if row["selected"] else set()
        assert ref.unique is not None, "a tie among sampled NPVs: choose another seed"
        assert chosen == set(ref.unique), k
        for p in ref.unique:
            counts[p] += 1
    assert result.frequency == pytest.approx({p: c / n for p, c in counts.items()}, abs=1e-12)


def test_start_windows_stakes_debt_investors_and_agreement_match_the_fund_reference(tmp_path):
    """Each sample's optimum against the exhaustive fund reference (tests/enumerate_fund.py), and
    the base portfolio's value recomputed by hand: Σ stake × sampled NPV / (1 + r)^delay − debt cost
    − investor returns."""
    from enumerate_fund import reference_fund

    projects = [
        project("W", 30, 9, npv_low=2, npv_high=14, earliest_start=2027, latest_start=2028, leverage_eligible="yes",
                us_score=8, jp_score=2),
        project("S", 40, 10, npv_low=3, npv_high=13, min_stake=0.25, max_stake=1, us_score=3, jp_score=9),
        project("L", 25, 6, npv_low=1, npv_high=11, leverage_eligible="yes", us_score=5, jp_score=5),
        project("D", 20, 5, npv_low=0, npv_high=9, earliest_start=2028, duration=2, us_score=2, jp_score=8),
        project("X", 15, 3, us_score=9, jp_score=1),  # no range: keeps its NPV
    ]
    workbook = {"fund": {"equity_capital": 60, "max_leverage": 0.5, "max_ltv": 0.6, "debt_cost": 0.05,
                         "discount_rate": 0.1, "min_nation_satisfaction": 0.6, "mip_gap": 0},
                "investors": [{"investor": "Pension", "min_commitment": 5, "max_commitment": 20,
                               "required_return": 0.08}],
                "budget": [{"year": 2027, "capital_limit": 60}]}  # W is worth starting a year late
    _, data = load(tmp_path, "fund", projects, **workbook)
    n, seed = 6, 21
    result = robust(data, n, seed=seed)

    base_ref = reference_fund(projects, **workbook)
    assert result.base_objective == pytest.approx(base_ref.objective, abs=1e-5)
    base = result.base
    assert base.choices["W"].start_year == 2028 and base.debt and base.investors
    assert 0 < base.choices["S"].stake < 1
    cost = 0.05 * sum(base.debt.values()) + 0.08 * base.investors.get("Pension", 0.0)
    first_year = {p["project_id"]: p.get("earliest_start", 2027) for p in projects}
    for k, sample in enumerate(draws(projects, seed, n)):
        ref = reference_fund([{**p, "npv": sample[p["project_id"]]} for p in projects], **workbook)
        row = result.rows[k]
        assert row["objective"] == pytest.approx(ref.objective, abs=1e-5), k
        value = sum(c.stake * sample[p] / 1.1 ** (c.start_year - first_year[p]) for p, c in base.choices.items())
        assert row["base_value"] == pytest.approx(value - cost, abs=1e-9)
        assert row["regret"] >= -1e-6


def test_a_project_better_than_every_other_in_every_sample_has_frequency_1(tmp_path):
    projects = [project("STAR", 30, 50, npv_low=40, npv_high=60),  # its worst beats every other's best
                project("A", 30, 8, npv_low=0, npv_high=20), project("B", 30, 12, npv_low=2, npv_high=25),
                project("C", 30, 10, npv_low=-5, npv_high=30),
                project("NO", 5, 90, npv_low=80, npv_high=100, jp_approval="no"),  # never approvable
                project("BIG", 500, 99, npv_low=90, npv_high=120)]  # never affordable
    for p in projects:
        p.setdefault("jp_approval", "yes")
    _, data = load(tmp_path, "star", projects, fund={"equity_capital": 60})
    result = robust(data, 40, seed=3)
    assert result.frequency["STAR"] == 1.0
    assert result.frequency["NO"] == 0.0 and result.frequency["BIG"] == 0.0
    # one of A, B, C beside STAR, and which one moves with the samples
    assert sum(result.frequency[p] for p in "ABC") == pytest.approx(1.0)
    assert 0 < result.frequency["C"] < 1
    rows = {r["project_id"]: r for r in result.project_rows()}
    assert rows["STAR"]["category"] == "core" and rows["NO"]["category"] == "never"
    assert result.project_rows()[0]["project_id"] == "STAR"


# --------------------------------------------------------------------------- reproducible
def test_one_seed_gives_the_same_results_and_another_seed_different_ones(tmp_path):
    _, data = competing(tmp_path)
    first, again, other = robust(data, 24, seed=5), robust(data, 24, seed=5), robust(data, 24, seed=6)
    assert first.frequency == again.frequency
    assert [r["objective"] for r in first.rows] == [r["objective"] for r in again.rows]
    assert [r["selected"] for r in first.rows] == [r["selected"] for r in again.rows]
    # every project is sometimes in, sometimes out: the draws matter
    assert all(0 < f < 1 for f in first.frequency.values()), first.frequency
    assert [r["objective"] for r in first.rows] != [r["objective"] for r in other.rows]
    assert [r["selected"] for r in first.rows] != [r["selected"] for r in other.rows]


def fingerprint(result) -> tuple:
    return (result.frequency, [(r["status"], r["objective"], r["base_value"], r["selected"]) for r in result.rows])


def test_one_and_two_local_workers_give_identical_results(tmp_path):
    _, data = competing(tmp_path)
    one = robust(data, 40, seed=11, workers=1)
    two = robust(data, 40, seed=11, workers=2)
    assert fingerprint(one) == fingerprint(two)


# --------------------------------------------------------------------------- a real Dask cluster
def _dask_command(*args: str) -> list[str]:
    exe = shutil.which("dask")
    return [exe, *args] if exe else [sys.executable, "-m", "dask", *args]


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """``dask scheduler`` and one ``dask worker --nthreads 1``, each its own process; always stopped."""
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    procs: list[subprocess.Popen] = []
    log = open(folder / "dask.log", "w")
    try:
        procs.append(subprocess.Popen(
            _dask_command("scheduler", "--scheduler-file", str(file), "--host", "127.0.0.1", "--port", "0",
                          "--no-dashboard"), cwd=folder, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            if time.monotonic() > deadline or procs[0].poll() is not None:
                pytest.fail("the Dask scheduler did not start: " + (folder / "dask.log").read_text())
            try:
                address = json.loads(file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        procs.append(subprocess.Popen(
            _dask_command("worker", "--scheduler-file", str(file), "--nthreads", "1", "--no-nanny",
                          "--no-dashboard", "--memory-limit", "0"), cwd=folder, stdout=log, stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def test_a_dask_scheduler_and_worker_give_the_same_results_as_one_process(tmp_path, dask_scheduler):
    _, data = competing(tmp_path)
    local = robust(data, 30, seed=2)
    remote = robust(data, 30, seed=2, scheduler=dask_scheduler)
    assert fingerprint(local) == fingerprint(remote)
    assert remote.options["scheduler"] == dask_scheduler


# --------------------------------------------------------------------------- the command line and workbook
def fundopt(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_json_and_workbook(tmp_path):
    projects = [project("A", 10, 5, npv_low=1, npv_high=9, name="=HYPERLINK(\"x\")"),
                project("B", 10, 5.5, npv_low=2, npv_high=8), project("C", 10, 4, npv_low=0, npv_high=10),
                project("D", 10, 6, npv_low=3, npv_high=7), project("E", 10, 1)]
    path, _ = load(tmp_path, "cli", projects, fund={"equity_capital": 20},
                   sectors=[{"sector": "Energy", "max_share": 1}])
    proc = fundopt(tmp_path, "robust", str(path), "--samples", "25", "--seed", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("status", "objective", "mip_gap", "selected", "output", "errors", "frequency", "value"):
        assert key in out
    assert out["status"] == "optimal" and out["errors"] == []
    assert out["objective"] == pytest.approx(11.5) and sorted(out["selected"]) == ["B", "D"]
    written = tmp_path / "outputs" / "cli-robust.xlsx"
    assert Path(out["output"]) == Path("outputs/cli-robust.xlsx") and written.exists()

    wb = openpyxl.load_workbook(written)
    for title in ("Summary", "Robustness", "Distribution", "Samples", "Run", "Projects", "Fund", "Sectors"):
        assert title in wb.sheetnames
    assert len(wb["Robustness"]._charts) == 1 and len(wb["Distribution"]._charts) == 1
    assert wb["Projects"]["B2"].data_type == "s" and wb["Projects"]["B2"].value.startswith("=")
    wb.close()

    samples = sheet_rows(written, "Samples")
    assert [r["sample"] for r in samples] == list(range(1, 26))
    values = np.array([r["base_value"] for r in samples])
    objectives = np.array([r["objective"] for r in samples])
    stats = {r["statistic"]: r for r in sheet_rows(written, "Distribution") if r["statistic"] in
             ("P10", "P50", "P90", "mean", "min", "max")}
    for label, q in (("P10", 10), ("P50", 50), ("P90", 90)):
        assert stats[label]["base_value"] == pytest.approx(float(np.percentile(values, q)), abs=1e-9)
        assert stats[label]["objective"] == pytest.approx(float(np.percentile(objectives, q)), abs=1e-9)
        assert out["value"][label.lower()] == pytest.approx(float(np.percentile(values, q)), abs=1e-9)
    assert stats["min"]["base_value"] == pytest.approx(values.min())
    assert stats["max"]["objective"] == pytest.approx(objectives.max())

    robustness = {r["project_id"]: r for r in sheet_rows(written, "Robustness")}
    assert set(robustness) == set("ABCDE")
    for pid, r in robustness.items():
        assert r["frequency"] == pytest.approx(out["frequency"][pid])
        in_samples = sum(1 for s in samples if pid in (s["selected"] or "").split(", ")) / len(samples)
        assert r["frequency"] == pytest.approx(in_samples)
        assert r["in_base_portfolio"] == ("yes" if pid in out["selected"] else "no")
    assert robustness["E"]["frequency"] == 0 and robustness["E"]["category"] == "never"
    assert robustness["A"]["name"].startswith("=")
    summary = {r["item"]: r["value"] for r in sheet_rows(written, "Summary")}
    assert summary["samples"] == 25 and summary["samples solved"] == 25 and summary["seed"] == 4
    run = {r["item"]: r["value"] for r in sheet_rows(written, "Run")}
    assert len(run["input SHA-256"]) == 64 and run["option: samples"] == 25

    # the output reads back as a valid input
    assert [p.project_id for p in read_pipeline(written).projects] == list("ABCDE")


def test_cli_human_output_and_output_path(tmp_path):
    competing(tmp_path)
    proc = fundopt(tmp_path, "robust", "competing.xlsx", "--samples", "5", "-o", "r/x.xlsx")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "5 of 5 samples solved" in " ".join(proc.stderr.split()) and (tmp_path / "r" / "x.xlsx").exists()


GOOD = [project("A", 10, 5, npv_low=1, npv_high=9), project("B", 10, 5)]


@pytest.mark.parametrize("args, projects, where", [
    (("--samples", "0", "--seed", "-3", "--workers", "0"), GOOD,
     [("command line", None, "--samples", 0), ("command line", None, "--seed", -3),
      ("command line", None, "--workers", 0)]),
    (("--samples", "5"), [project("A", 10, 5, npv_low=1), project("B", 10, 5, npv_low=2, npv_high=8)],
     [("Projects", 2, "npv_high", None)]),
])
def test_bad_input_is_located_exits_2_and_writes_nothing(tmp_path, args, projects, where):
    path = make_workbook(tmp_path / "bad.xlsx", projects)
    proc = fundopt(tmp_path, "robust", str(path), *args, "--json")
    assert proc.returncode == 2, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "invalid"
    found = [(e["sheet"], e["row"], e["column"], e["value"]) for e in out["errors"]]
    assert found == where, out["errors"]
    assert all(e["message"] for e in out["errors"])
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("options, projects, where", [
    ({"samples": None}, GOOD, ("command line", None, "--samples", None)),
    ({"samples": 5, "scheduler": " "}, GOOD, ("command line", None, "--scheduler", " ")),
    ({"samples": 5}, [project("A", 10, 5, npv_low=6, npv_high=8), project("B", 10, 5)], ("Projects", 2, "npv_low", 6)),
    ({"samples": 5}, [project("A", 10, 5), project("B", 10, 5)], ("Projects", None, "npv_low", None)),
])
def test_bad_input_in_process_is_located_and_writes_nothing(tmp_path, options, projects, where):
    path = make_workbook(tmp_path / "bad.xlsx", projects)
    out = tmp_path / "out.xlsx"
    with pytest.raises(InputError) as exc:
        run_robust(path, out, **options)
    assert where in [(p.sheet, p.row, p.column, p.value) for p in exc.value.problems], exc.value.problems
    assert not out.exists()


def test_half_range_and_no_range_messages_say_what_to_do(tmp_path):
    _, data = load(tmp_path, "half", [project("A", 10, 5, npv_low=1), project("B", 10, 5)])
    with pytest.raises(InputError) as exc:
        robust(data, 5)
    text = " | ".join(str(p) for p in exc.value.problems)
    assert "A has npv_low 1 but no npv_high: give both ends of the NPV range, or neither" in text
    assert "no project has an NPV range" in text


def test_infeasible_base_exits_3_with_a_diagnosis(tmp_path):
    projects = [project("A", 50, 5, npv_low=1, npv_high=9, decision="must fund"), project("B", 10, 5)]
    path, _ = load(tmp_path, "infeasible", projects, fund={"equity_capital": 20})
    proc = fundopt(tmp_path, "robust", str(path), "--samples", "5", "--json")
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "infeasible" and out["diagnosis"]
    assert "Diagnosis" in openpyxl.load_workbook(tmp_path / out["output"], read_only=True).sheetnames


def test_samples_out_of_time_are_counted_and_left_out_of_the_figures(tmp_path, monkeypatch):
    """A sample can only fail by running out of time; simulate that for samples 2 and 5."""
    import optimizer.analysis.robust as module

    real = module.solve_chunk

    def slow_chunk(task):
        rows = real(task)
        for r in rows:
            if r["sample"] in (2, 5):
                r.update(status="time_limit", objective=None, gap=None, stakes={})
        return rows

    monkeypatch.setattr(module, "solve_chunk", slow_chunk)
    path, data = competing(tmp_path)
    result, out = run_robust(path, tmp_path / "slow.xlsx", samples=12, seed=8)
    assert result.count("time_limit") == 2 and len(result.solved) == 10
    kept = [r for r in result.rows if r["sample"] not in (2, 5)]
    assert all(r["status"] == "optimal" for r in kept)
    for pid in data.ids:
        share = sum(1 for r in kept if pid in r["selected"].split(", ")) / 10
        assert result.frequency[pid] == pytest.approx(share)
    objectives = [r["objective"] for r in kept]
    assert result.stats("objective")["p50"] == pytest.approx(float(np.percentile(objectives, 50)))
    summary = {r["item"]: r["value"] for r in sheet_rows(out, "Summary")}
    assert summary["samples out of time"] == 2 and summary["samples solved"] == 10
    samples = sheet_rows(out, "Samples")
    assert [r["status"] for r in samples].count("time_limit") == 2
