"""models/rules.py: requires / excludes / at_most / at_least / together from the Rules sheet."""

from __future__ import annotations

import pytest

from enumerate import reference, run_case
from optimizer.errors import InfeasibleError

GAP0 = {"mip_gap": 0}

# Five projects of capex 10 each (50 ≤ 300 equity), NPV A 10, B 8, C −5, D 6, E 3.
# Without rules the optimum is every positive project: A + B + D + E = 27, {A, B, D, E}.
NPVS = {"A": 10, "B": 8, "C": -5, "D": 6, "E": 3}
PROJECTS = [{"project_id": p, "name": f"Project {p}", "sector": "Energy", "capex": 10, "npv": v}
            for p, v in NPVS.items()]
FREE = 27


def solve(tmp_path, name, rules, projects=PROJECTS):
    return run_case(tmp_path, name, projects=projects, rules=rules, fund=GAP0)


def test_no_rules(tmp_path):
    solved = solve(tmp_path, "none", None)
    assert solved.objective == pytest.approx(FREE)
    assert solved.selected == {"A", "B", "D", "E"}


@pytest.mark.parametrize("rule, expected, selected", [
    # A requires C: A with C nets 10 − 5 = 5 > 0, so 27 − 5 = 22, all five.
    ({"rule": "requires", "projects": "A, C"}, 22, {"A", "B", "C", "D", "E"}),
    # A requires C and E (the first requires all the others): same portfolio, 22.
    ({"rule": "requires", "projects": "A, C, E"}, 22, {"A", "B", "C", "D", "E"}),
    # A and B exclude each other: keep A (10 > 8): 10 + 6 + 3 = 19.
    ({"rule": "excludes", "projects": "A, B"}, 19, {"A", "D", "E"}),
    # at most one of A, B, D: A + E = 13.
    ({"rule": "excludes", "projects": "A, B, D"}, 13, {"A", "E"}),
    # at most 2 of A, B, D: drop D (6): 10 + 8 + 3 = 21.
    ({"rule": "at_most", "projects": "A, B, D", "k": 2}, 21, {"A", "B", "E"}),
    # at least 3 of B, C, D: C must come in: 27 − 5 = 22.
    ({"rule": "at_least", "projects": "B, C, D", "k": 3}, 22, {"A", "B", "C", "D", "E"}),
    # C and E together: the pair nets −2, so neither: 10 + 8 + 6 = 24.
    ({"rule": "together", "projects": "C, E"}, 24, {"A", "B", "D"}),
    # A and C together: the pair nets +5, so both: 22.
    ({"rule": "together", "projects": "A, C"}, 22, {"A", "B", "C", "D", "E"}),
])
def test_rule_binds(tmp_path, rule, expected, selected):
    # each rule lowers the optimum below the 27 of no rules
    solved = solve(tmp_path, "rule", [rule])
    assert solved.objective == pytest.approx(expected)
    assert solved.selected == selected
    assert solved.objective < FREE
    assert reference(PROJECTS, rules=[rule]).objective == pytest.approx(expected)


def test_requires_reads_left_to_right(tmp_path):
    # "C, A": C requires A. C is unwanted anyway, so nothing changes: 27.
    solved = solve(tmp_path, "c-needs-a", [{"rule": "requires", "projects": "C, A"}])
    assert solved.objective == pytest.approx(FREE)
    assert solved.selected == {"A", "B", "D", "E"}


def test_rules_that_do_not_bind(tmp_path):
    # at least 1 of C, E (E is in anyway), at most 4 of all five: still 27.
    rules = [{"rule": "at_least", "projects": "C, E", "k": 1},
             {"rule": "at_most", "projects": "A, B, C, D, E", "k": 4}]
    assert solve(tmp_path, "slack", rules).objective == pytest.approx(FREE)


def test_several_rules_together(tmp_path):
    # B requires D; D excludes E; at most 1 of A, B → candidates: A + D (16), B + D (14),
    # A + E (13), A alone 10 … → 16, {A, D}.
    rules = [{"rule": "requires", "projects": "B, D"}, {"rule": "excludes", "projects": "D, E"},
             {"rule": "at_most", "projects": "A, B", "k": 1}]
    solved = solve(tmp_path, "several", rules)
    assert solved.objective == pytest.approx(16)
    assert solved.selected == {"A", "D"}


def test_together_with_an_excluded_partner_is_infeasible_under_a_lock(tmp_path):
    # A must be funded, C is excluded, and A and C go together: no portfolio.
    projects = [{**p, "decision": {"A": "must fund", "C": "exclude"}.get(p["project_id"])} for p in PROJECTS]
    with pytest.raises(InfeasibleError):
        solve(tmp_path, "locked", [{"rule": "together", "projects": "A, C"}], projects)
