"""Each kind of scenario column moves the optimum to the enumeration's; bad scenarios are located."""

from __future__ import annotations

import pytest

from batch_cases import PROJECTS, SCENARIOS, batch_json, expected, workbook
from helpers import make_workbook, project, sheet_rows

from optimizer.batch.run import run_batch
from optimizer.errors import InputError
from optimizer.batch.scenarios import parse_key
from optimizer.workbook.validate import read_pipeline


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scenarios")
    return run_batch(workbook(tmp / "pipeline.xlsx"), tmp / "out")


def test_every_scenario_column_kind_gives_the_enumerated_optimum(serial):
    by_name = {r["scenario"]: r for r in serial.records}
    assert list(by_name) == ["base"] + [s["scenario"] for s in SCENARIOS]
    base = expected(None)
    assert by_name["base"]["objective"] == pytest.approx(base.objective, abs=1e-6)
    for s in SCENARIOS:
        ref, rec = expected(s), by_name[s["scenario"]]
        if ref is None:
            assert rec["status"] == "infeasible", rec
            assert rec["diagnosis"], rec
            continue
        assert rec["status"] == "optimal", rec
        assert rec["objective"] == pytest.approx(ref.objective, abs=1e-6), s
        assert frozenset(p[0] for p in rec["selected"]) in ref.optima, s
        # every scenario here changes the optimum: the value really was applied
        assert abs(rec["objective"] - base.objective) > 0.1, s


def test_the_scenario_workbook_is_the_scenario_as_an_input(serial):
    """Its carried Fund, Sectors and Projects sheets hold the scenario's values, not the base's."""
    out = serial.folder
    rec = {r["scenario"]: r for r in serial.records}
    energy = read_pipeline(out / rec["energy booms"]["output"])
    assert energy.fund.equity_capital == 300 and energy.scenarios == ()
    assert {p.project_id: p.npv for p in energy.projects}["EN-1"] == pytest.approx(12 * 1.8)
    assert {p.project_id: p.npv for p in energy.projects}["AI-1"] == pytest.approx(14)
    capped = read_pipeline(out / rec["ai capped"]["output"])
    assert capped.sector_limit("AI").max_share == pytest.approx(0.25)
    assert capped.sector_limit("Energy").min_projects == 1
    summary = {r["item"]: r["value"] for r in sheet_rows(out / rec["ai capped"]["output"], "Summary")}
    assert summary["scenario"] == "ai capped" and summary["scenario changes"] == "sector:AI:max_share = 0.25"
    # the base output keeps the Scenarios sheet, so the whole batch can be run again from it
    assert len(read_pipeline(out / rec["base"]["output"]).scenarios) == len(SCENARIOS)


def test_a_sector_not_on_the_sectors_sheet_gets_a_row_of_its_own(tmp_path):
    projects = [project("A", 60, 6, "AI"), project("B", 50, 5, "AI"), project("C", 80, 4, "Energy")]
    scen = [{"scenario": "one AI", "sector:AI:max_projects": 1}]
    path = make_workbook(tmp_path / "p.xlsx", projects, fund={"mip_gap": 0, "equity_capital": 200}, scenarios=scen)
    result = run_batch(path, tmp_path / "out")
    ref = expected(scen[0], projects=projects, fund={"equity_capital": 200}, sectors=[])
    assert result.records[1]["objective"] == pytest.approx(ref.objective)
    assert read_pipeline(tmp_path / "out" / result.records[1]["output"]).sector_limit("AI").max_projects == 1


def test_bad_scenarios_are_invalid_with_located_errors_while_the_rest_run(tmp_path):
    scen = [
        {"scenario": "ok", "equity_capital": 400},
        {"scenario": "shares cross", "sector:AI:min_share": 0.7},            # above AI's max_share 0.6
        {"scenario": "bad cell", "equity_capital": "lots"},                  # not a number
        {"scenario": "risk cap", "max_avg_risk": 3},                         # no project has a risk
        {"scenario": "ok", "equity_capital": 100},                           # the name is taken
        {"scenario": "Base", "equity_capital": 200},                         # the name is kept for the base
        {"scenario": "unknown", "npv_scale:Biotech": 2},                     # no such sector
    ]
    path = workbook(tmp_path / "bad.xlsx", scenarios=scen)
    code, out = batch_json(path, "-o", tmp_path / "out")
    assert code == 0, out
    by = {s["scenario"]: s for s in out["scenarios"]}
    assert by["base"]["status"] == "optimal" and by["ok"]["status"] == "optimal"
    assert by["ok"]["objective"] == pytest.approx(expected(scen[0]).objective)

    def errors(name):
        assert by[name]["status"] == "invalid", by[name]
        return [(e["sheet"], e["row"], e["column"], e["value"]) for e in by[name]["errors"]]

    # make_workbook writes the Scenarios header in row 1: scenario k is on Excel row k + 1
    assert errors("shares cross") == [("Scenarios", 3, "sector:AI:min_share", 0.7)]
    assert "max_share" in by["shares cross"]["errors"][0]["message"]
    assert errors("bad cell") == [("Scenarios", 4, "equity_capital", "lots")]
    assert errors("risk cap") == [("Scenarios", 5, "max_avg_risk", 3)]
    assert "AI-1" in by["risk cap"]["errors"][0]["message"]
    assert errors("ok (row 6)") == [("Scenarios", 6, "scenario", "ok")]
    assert errors("Base (row 7)") == [("Scenarios", 7, "scenario", "Base")]
    assert errors("unknown") == [("Scenarios", 8, "npv_scale:Biotech", 2)]
    # every error is also in the top-level list, named by its scenario
    assert len(out["errors"]) == 6 and all(e["scenario"] for e in out["errors"])
    invalid = sheet_rows(tmp_path / "out" / "comparison.xlsx", "Invalid")
    assert {(r["scenario"], r["row"], r["column"]) for r in invalid} == {
        (n, row, col) for n in by for (_, row, col, _) in (errors(n) if by[n]["status"] == "invalid" else [])}


def test_a_bad_base_workbook_is_exit_2_and_nothing_is_written(tmp_path):
    rows = [dict(p) for p in PROJECTS]
    rows[2]["capex"] = "n/a"
    path = workbook(tmp_path / "broken.xlsx", projects=rows)
    code, out = batch_json(path, "-o", tmp_path / "out")
    assert code == 2 and out["status"] == "invalid"
    assert {(e["sheet"], e["row"], e["column"], e["value"]) for e in out["errors"]} == {("Projects", 4, "capex", "n/a")}
    assert not (tmp_path / "out").exists()
    code, out = batch_json(tmp_path / "nowhere.xlsx")
    assert code == 2 and out["errors"][0]["message"] == "file or folder not found"
    code, out = batch_json(path, "--workers", "0")
    assert code == 2 and out["errors"][0]["column"] == "--workers"


@pytest.mark.parametrize("key, parsed", [
    ("equity_capital", ("fund", None, "equity_capital")),
    ("npv_scale:AI", ("npv_scale", "AI", None)),
    ("sector:Renewable Energy:max_share", ("sector", "Renewable Energy", "max_share")),
    ("sector:('Renewable Energy', 'max_share')", ("sector", "Renewable Energy", "max_share")),
])
def test_scenario_keys_parse(key, parsed):
    assert parse_key(key) == parsed


def test_a_negative_scale_swaps_the_pessimistic_and_optimistic_npv():
    from dataclasses import replace

    from optimizer.batch.scenarios import _scaled
    from optimizer.data import Project

    p = Project("A", "a", "AI", 10, 4, (10,), npv_low=2, npv_high=7)
    q = _scaled(p, -0.5)
    assert (q.npv_low, q.npv, q.npv_high) == (-3.5, -2, -1)
    assert _scaled(replace(p, npv_low=None), 2).npv_low is None



def test_a_scenarios_sheet_without_its_scenario_column_is_bad_input(tmp_path):
    path = workbook(tmp_path / "p.xlsx", scenarios=[{"name": "tight", "equity_capital": 100}])
    with pytest.raises(InputError) as err:
        run_batch(path, tmp_path / "out")
    assert [(p.sheet, p.column) for p in err.value.problems] == [("Scenarios", "scenario")]
    assert not (tmp_path / "out").exists()


def test_a_mistyped_scheduler_is_bad_input_and_leaves_the_journal_alone(tmp_path):
    path = workbook(tmp_path / "p.xlsx", scenarios=SCENARIOS[:1])
    run_batch(path, tmp_path / "out")
    journal = (tmp_path / "out" / "journal.jsonl").read_text()
    with pytest.raises(InputError) as err:
        run_batch(path, tmp_path / "out", scheduler="tpc://127.0.0.1:8786")
    assert err.value.problems[0].column == "--scheduler"
    assert (tmp_path / "out" / "journal.jsonl").read_text() == journal
