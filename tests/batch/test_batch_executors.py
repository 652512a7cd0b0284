"""The same batch in this process, on two local processes and on a real Dask cluster (a
``dask scheduler`` and two ``dask worker`` processes): the same optima, each the enumeration's."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest

from batch_cases import ROOT, SCENARIOS, batch_json, expected, selections, workbook
from enumerate import reference
from helpers import make_workbook, project

from optimizer.batch.run import run_batch


def _start(args, log):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, env=env,
                            cwd=str(log.name).rsplit("/", 1)[0])


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask scheduler and two single-thread workers, each its own process; stopped at the end."""
    pytest.importorskip("distributed")
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    info = tmp / "scheduler.json"
    procs, logs = [], []
    try:
        log = open(tmp / "scheduler.log", "w")
        logs.append(log)
        procs.append(_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                             "--no-dashboard", "--scheduler-file", str(info)], log))
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            assert time.monotonic() < deadline, (tmp / "scheduler.log").read_text()
            assert procs[0].poll() is None, (tmp / "scheduler.log").read_text()
            try:
                address = json.loads(info.read_text())["address"]
            except (FileNotFoundError, ValueError, KeyError):
                time.sleep(0.1)
        for k in range(2):
            log = open(tmp / f"worker{k}.log", "w")
            logs.append(log)
            procs.append(_start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                                 "--no-dashboard", "--death-timeout", "60", "--name", f"w{k}"], log))
        with Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        yield address, {p.pid for p in procs[1:]}
    finally:
        _stop(procs[1:])
        _stop(procs[:1])
        for log in logs:
            log.close()


def _pids(records) -> set[int]:
    return {int(r["solved_by"].rsplit(":", 1)[1]) for r in records if r.get("solved_by")}


def test_two_processes_and_a_dask_cluster_give_the_serial_and_enumerated_optima(tmp_path, cluster):
    address, worker_pids = cluster
    path = workbook(tmp_path / "pipeline.xlsx")
    serial = run_batch(path, tmp_path / "serial")
    local = run_batch(path, tmp_path / "local", workers=2)
    code, dask = batch_json(path, "-o", tmp_path / "dask", "--scheduler", address)
    assert code == 0, dask

    names = ["base"] + [s["scenario"] for s in SCENARIOS]
    for records in (serial.records, local.records, dask["scenarios"]):
        assert [r["scenario"] for r in records] == names
    refs = {"base": expected(None), **{s["scenario"]: expected(s) for s in SCENARIOS}}
    for k, name in enumerate(names):
        ref = refs[name]
        statuses = {serial.records[k]["status"], local.records[k]["status"], dask["scenarios"][k]["status"]}
        if ref is None:
            assert statuses == {"infeasible"}, name
            continue
        assert statuses == {"optimal"}, name
        for value in (serial.records[k]["objective"], local.records[k]["objective"],
                      dask["scenarios"][k]["objective"]):
            assert value == pytest.approx(ref.objective, abs=1e-6), name
    # the optima are unique here, so the portfolios are the same too
    dask_sel = {s["scenario"]: frozenset(s["selected"]) for s in dask["scenarios"]}
    assert selections(serial.records) == selections(local.records) == dask_sel

    # where they ran: never in this process for --workers 2; only on the cluster's workers for Dask
    assert os.getpid() not in _pids(local.records)
    journal = [json.loads(line) for line in (tmp_path / "dask" / "journal.jsonl").read_text().splitlines()]
    assert _pids(journal) <= worker_pids and _pids(journal)
    assert len(journal) == len(names)


def _random_case(rng: random.Random, n: int) -> dict:
    sectors = ["AI", "Energy", "Space"]
    projects = [project(f"P{j}", rng.randint(20, 120), round(rng.uniform(1, 15), 2), rng.choice(sectors))
                for j in range(n)]
    used = sorted({p["sector"] for p in projects})
    limits = [{"sector": s, "max_share": rng.choice([None, 0.4, 0.6])} for s in used]
    return {"projects": projects, "fund": {"equity_capital": rng.randint(120, 300)}, "sectors": limits}


def test_a_folder_of_random_workbooks_on_dask_matches_the_enumeration(tmp_path, cluster):
    address, _ = cluster
    rng = random.Random(6)
    folder = tmp_path / "pipelines"
    folder.mkdir()
    cases = {}
    for k in range(4):
        case = _random_case(rng, rng.randint(5, 9))
        name = f"case{k}.xlsx"
        make_workbook(folder / name, case["projects"], fund={**case["fund"], "mip_gap": 0, "alternatives": 1,
                                                             "explain_limit": 0}, sectors=case["sectors"])
        cases[name] = case
    code, out = batch_json(folder, "-o", tmp_path / "out", "--scheduler", address)
    assert code == 0, out
    assert [s["scenario"] for s in out["scenarios"]] == sorted(cases)
    for s in out["scenarios"]:
        ref = reference(**cases[s["scenario"]])
        assert s["status"] == "optimal"
        assert s["objective"] == pytest.approx(ref.objective, abs=1e-6)
        assert frozenset(s["selected"]) in ref.optima
