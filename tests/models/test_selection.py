"""models/selection.py: locks (must fund / exclude), approvals (approval_rule both / either /
none, blank = pending = not approved, an absent column not checked) and the ESG screen.

Every instance is a real workbook solved end to end (``run_case``: run_workbook + the
invariant checker). Equity is the default 300, far above the 40–50 of capex, so only the rule
under test decides; the optimum is then "every allowed project with NPV > 0" (plus locks).
"""

from __future__ import annotations

import pytest

from enumerate import reference, run_case
from optimizer.errors import InfeasibleError

GAP0 = {"mip_gap": 0}


def project(pid, npv, capex=10, **extra):
    return {"project_id": pid, "name": f"Project {pid}", "sector": "Energy", "capex": capex, "npv": npv, **extra}


def test_only_positive_npv_projects_are_funded(tmp_path):
    # A 8, B 6, C 5, D −2; capex 40 ≤ 300. Best: every positive NPV: 8 + 6 + 5 = 19, {A, B, C}.
    projects = [project("A", 8), project("B", 6), project("C", 5), project("D", -2)]
    solved = run_case(tmp_path, projects=projects, fund=GAP0)
    assert solved.objective == pytest.approx(19)
    assert solved.selected == {"A", "B", "C"}


def test_decision_locks_must_fund_and_exclude(tmp_path):
    # A (8) is excluded, D (−2) must be funded: B + C + D = 6 + 5 − 2 = 9, {B, C, D}.
    # Without the locks the optimum is 19 ({A, B, C}): the locks bind.
    projects = [project("A", 8, decision="exclude", decision_reason="political"),
                project("B", 6, decision="auto"), project("C", 5),
                project("D", -2, decision="must fund")]
    solved = run_case(tmp_path, "locked", projects=projects, fund=GAP0)
    assert solved.objective == pytest.approx(9)
    assert solved.selected == {"B", "C", "D"}

    free = run_case(tmp_path, "free", projects=[{**p, "decision": None} for p in projects], fund=GAP0)
    assert free.objective == pytest.approx(19)
    assert free.objective > solved.objective


def test_must_fund_that_an_exclusion_rule_keeps_out_is_infeasible(tmp_path):
    # D is locked in but Japan has not approved it (approval_rule both): no portfolio exists.
    projects = [project("A", 8, us_approval="yes", jp_approval="yes"),
                project("D", 3, us_approval="yes", jp_approval="no", decision="must fund")]
    with pytest.raises(InfeasibleError):
        run_case(tmp_path, projects=projects, fund=GAP0)


# approvals: (us_approval, jp_approval) per project, blank = None
APPROVALS = {
    "A": (8, "yes", "yes"),
    "B": (6, "yes", None),       # Japan blank = pending
    "C": (5, "pending", "yes"),
    "D": (4, None, None),        # both blank
    "E": (3, "no", "no"),
}


def approval_projects(columns=("us_approval", "jp_approval")):
    out = []
    for pid, (npv, us, jp) in APPROVALS.items():
        values = dict(zip(("us_approval", "jp_approval"), (us, jp)))
        out.append(project(pid, npv, **{c: values[c] for c in columns}))
    return out


@pytest.mark.parametrize("rule, expected, selected", [
    # both: only A has yes / yes (B's blank counts as pending, not approved) → 8
    ("both", 8, {"A"}),
    # either: A, B (US yes), C (Japan yes); D blank/blank and E no/no are out → 8 + 6 + 5 = 19
    ("either", 19, {"A", "B", "C"}),
    # none: approvals are not checked → 8 + 6 + 5 + 4 + 3 = 26
    ("none", 26, {"A", "B", "C", "D", "E"}),
    # the default is both
    (None, 8, {"A"}),
])
def test_approval_rule(tmp_path, rule, expected, selected):
    fund = {**GAP0, **({"approval_rule": rule} if rule else {})}
    solved = run_case(tmp_path, projects=approval_projects(), fund=fund)
    assert solved.objective == pytest.approx(expected)
    assert solved.selected == selected


def test_approval_rule_binds(tmp_path):
    # With approval_rule both the optimum is 8; with the approvals not checked it is 26.
    both = run_case(tmp_path, "both", projects=approval_projects(), fund={**GAP0, "approval_rule": "both"})
    none = run_case(tmp_path, "none", projects=approval_projects(), fund={**GAP0, "approval_rule": "none"})
    assert both.objective == pytest.approx(8)
    assert none.objective == pytest.approx(26)
    assert none.objective > both.objective


def test_absent_approval_column_is_not_checked(tmp_path):
    # Only us_approval is on the sheet; Japan's approval is not checked even under "both".
    # US yes: A and B → 8 + 6 = 14 (C pending, D blank, E no are out).
    solved = run_case(tmp_path, projects=approval_projects(("us_approval",)), fund={**GAP0, "approval_rule": "both"})
    assert solved.objective == pytest.approx(14)
    assert solved.selected == {"A", "B"}


def test_no_approval_columns_means_no_approval_check(tmp_path):
    # No approval columns at all: every positive project is funded, 26.
    solved = run_case(tmp_path, projects=approval_projects(()), fund=GAP0)
    assert solved.objective == pytest.approx(26)


def test_min_esg_score(tmp_path):
    # ESG A 80, B 40, C 60, D 55 with min_esg_score 55: B is below and screened out;
    # D at exactly 55 is not below and stays. A + C + D = 8 + 5 + 4 = 17, {A, C, D}.
    projects = [project("A", 8, esg_score=80), project("B", 6, esg_score=40),
                project("C", 5, esg_score=60), project("D", 4, esg_score=55)]
    solved = run_case(tmp_path, "screened", projects=projects, fund={**GAP0, "min_esg_score": 55})
    assert solved.objective == pytest.approx(17)
    assert solved.selected == {"A", "C", "D"}
    # without the screen all four are funded: 23 > 17, the screen binds
    free = run_case(tmp_path, "free", projects=projects, fund=GAP0)
    assert free.objective == pytest.approx(23)
    assert free.objective > solved.objective


def test_reference_agrees_on_the_selection_cases():
    # the brute force of tests/enumerate.py reads the same rows the same way
    assert reference(approval_projects(), fund={"approval_rule": "either"}).objective == pytest.approx(19)
    assert reference(approval_projects(("us_approval",))).objective == pytest.approx(14)


def test_approved_is_the_rule_on_the_projects_own_approvals():
    """Pipeline.approved: worked out once for each of its projects, and answered from a project's
    own approvals for one it does not hold (a copy with other approvals) and under another rule."""
    from dataclasses import replace

    from optimizer.data import Fund, Pipeline, Project

    approvals = [("yes", "yes"), ("yes", "no"), ("no", "pending"), ("pending", "yes")]
    projects = tuple(Project(f"P{k}", f"Project {k}", "Energy", 10.0, 5.0, (10.0,), row=k + 2, us_approval=us,
                             jp_approval=jp)
                     for k, (us, jp) in enumerate(approvals))
    want = {"both": [True, False, False, False], "either": [True, True, False, True], "none": [True] * 4}
    for rule, expected in want.items():
        data = Pipeline(projects=projects, fund=Fund(approval_rule=rule), approval_columns=("US", "JP"))
        assert [data.approved(p) for p in projects] == expected
        assert [data.approved(p) for p in projects] == expected  # asked again: the same
        flipped = [replace(p, us_approval="no", jp_approval="no") for p in projects]  # same ids, not its own
        assert [data.approved(p) for p in flipped] == [rule == "none"] * 4
        other = data.with_fund(approval_rule="both")
        assert [other.approved(p) for p in projects] == want["both"]
