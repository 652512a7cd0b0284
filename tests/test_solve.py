"""optimizer/solve.py: one built model, kept in step with HiGHS through many changes.

A persistent solver is only right if every change the analyses make reaches HiGHS: a variable
fixed and freed, a parameter moved, rows switched off and on, a cut added and deleted, the
objective swapped. Each seeded sequence below makes such changes one after another on one
built model and one Solver, and after each asserts the optimum equals that of a model built
afresh with the same change (solved by a new Solver, mip_gap 0)."""

from __future__ import annotations

import random

import pytest

from models.portfolio import build, set_objective
from optimizer.data import BudgetYear, Fund, Pipeline, Project, Rule, SectorLimit
from optimizer.solve import Solver, SolverSettings, extract

EXACT = SolverSettings(mip_gap=0.0, time_limit_s=30.0)
SECTORS = ("Energy", "Chips", "Ports")


def pipeline(rng: random.Random, n: int) -> Pipeline:
    projects = []
    for j in range(n):
        capex = float(rng.randint(5, 40))
        start = rng.choice((None, 2027, 2028))
        projects.append(Project(
            project_id=f"P{j:02d}", name=f"Project {j}", sector=rng.choice(SECTORS), capex=capex,
            npv=float(rng.randint(-3, 25)), schedule=(capex / 2, capex / 2), row=j + 2,
            strategic_score=float(rng.randint(0, 100)), us_approval=rng.choice(("yes", "yes", "no")),
            jp_approval="yes", earliest_start=start, latest_start=None if start is None else start + rng.randint(0, 2),
            min_stake=rng.choice((1.0, 1.0, 0.5)), max_stake=1.0))
    total = sum(p.capex for p in projects)
    fund = Fund(planning_start=2027, equity_capital=round(total * rng.uniform(0.3, 0.6)), max_leverage=0.2,
                debt_cost=0.05, max_ltv=0.5, mip_gap=0.0)
    budget = (BudgetYear(2027, 2, capital_limit=round(total * 0.3)), BudgetYear(2028, 3, capital_limit=round(total * 0.35)))
    sectors = (SectorLimit("Energy", 2, max_share=0.6), SectorLimit("Chips", 3, min_share=0.1))
    rules = (Rule("excludes", ("P00", "P01"), 2), Rule("at_most", ("P02", "P03", "P04"), 3, k=2))
    return Pipeline(projects=tuple(projects), fund=fund, budget=budget, sectors=sectors, rules=rules,
                    approval_columns=("US", "JP"))


def fresh(data: Pipeline, change=None) -> float | None:
    m = build(data)
    if change:
        change(m)
    o = Solver(EXACT).solve(m)
    return o.objective if o.solved else None


def approx(a, b):
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", range(12))
def test_changes_on_one_built_model_equal_a_fresh_build(seed):
    import pyomo.core as pyo

    rng = random.Random(seed)
    data = pipeline(rng, rng.randint(8, 13))
    m = build(data)
    solver = Solver(EXACT)
    assert approx(solver.solve(m).objective, fresh(data))
    ids = list(data.ids)
    for step in range(8):
        kind = rng.choice(("fix", "equity", "rows", "cut", "objective", "fixed"))
        if kind in ("fix", "fixed"):
            p, level = rng.choice(ids), rng.choice((0, 1))
            if kind == "fix":
                m.Select[p].fix(level)
                got = solver.solve(m)
                m.Select[p].unfix()
            else:  # the fast path analyses use: only that column is sent
                got = solver.solve_with_fixed(m, m.Select[p], level)
            want = fresh(data, lambda mm: mm.Select[p].fix(level))
        elif kind == "equity":
            value = data.fund.equity_capital * rng.uniform(0.5, 1.5)
            m.equity_capital.set_value(value)
            got = solver.solve(m)
            want = fresh(data.with_fund(equity_capital=value))
            m.equity_capital.set_value(data.fund.equity_capital)
        elif kind == "rows":
            name = rng.choice(("Approval_Screen", "Sector_Share_Max", "Budget_Capital", "Rule_Excludes"))
            comp = getattr(m, name)
            comp.deactivate()
            got = solver.solve(m)
            comp.activate()
            want = fresh(data, lambda mm: getattr(mm, name).deactivate())
        elif kind == "cut":
            chosen = set(rng.sample(ids, 3))

            def cut(mm):
                mm.Cut = pyo.Constraint(expr=sum(mm.Select[q] for q in chosen) <= 1)

            cut(m)
            got = solver.solve(m)
            m.del_component(m.Cut)
            want = fresh(data, cut)
        else:
            set_objective(m, data, "strategic")
            got = solver.solve(m)
            set_objective(m, data, "npv")
            want = fresh(data, lambda mm: set_objective(mm, data, "strategic"))
        assert approx(got.objective if got.solved else None, want), (seed, step, kind)
        # and back: the model as built, solved again on the same instance
        assert approx(solver.solve(m).objective, fresh(data)), (seed, step, kind, "after undo")


def test_an_infeasible_change_and_back():
    rng = random.Random(99)
    data = pipeline(rng, 10)
    m = build(data)
    solver = Solver(EXACT)
    first = solver.solve(m).objective
    m.equity_capital.set_value(-1.0)  # no portfolio commits less than nothing
    assert solver.solve(m).status == "infeasible"
    m.equity_capital.set_value(data.fund.equity_capital)
    assert solver.solve(m).objective == pytest.approx(first)


def scored_variants(seed: int, n: int):
    """A random pipeline with US and JP scores, built: (model, the nations' ideal variants and the
    variant without the agreement rules)."""
    from optimizer.analysis.agreement import ideal_variants, unagreed_variant

    rng = random.Random(seed)
    data = pipeline(rng, n)
    data = Pipeline(projects=tuple(p.__class__(**{**p.__dict__, "us_score": float(rng.randint(0, 10)),
                                                   "jp_score": float(rng.randint(0, 10))}) for p in data.projects),
                    fund=data.fund, budget=data.budget, sectors=data.sectors, rules=data.rules,
                    approval_columns=data.approval_columns)
    m = build(data)
    return m, ideal_variants(m, data) + [unagreed_variant(m, data)]


def cold_bounds(m, variants) -> list:
    """Each variant's LP relaxation solved on its own, from no basis."""
    out = []
    for change, undo in variants:
        change()
        try:
            out.append(Solver(EXACT).relaxations(m, [(lambda: None, lambda: None)])()[0])
        finally:
            undo()
    return out


def test_variants_side_by_side_equal_one_by_one():
    m, variants = scored_variants(5, 12)
    together = Solver(EXACT).solve_variants(m, variants, workers=2)
    alone = Solver(EXACT).solve_variants(m, variants, workers=1)
    assert [o.objective for o in together] == pytest.approx([o.objective for o in alone])
    # the LP relaxations on the other thread bound each variant's optimum from above
    solver = Solver(EXACT)
    pending = solver.relaxations(m, variants)
    solver.solve(m)
    for bound, o in zip(pending(), alone):
        assert bound >= o.objective - 1e-6


def test_relaxations_take_one_thread_until_waited_for_then_one_a_core(monkeypatch):
    """The variants' LP relaxations run on one thread while the caller goes on (its own thread
    holds the other core), and on one thread a core once it waits; each bound is the one its
    relaxation gives solved on its own."""
    import os
    import threading

    m, variants = scored_variants(5, 12)
    started: list[threading.Thread] = []
    real = threading.Thread

    class Counted(real):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(threading, "Thread", Counted)
    solver = Solver(EXACT)
    pending = solver.relaxations(m, variants)
    solver.solve(m)
    assert len(started) == 1  # while the caller goes on
    bounds = pending()
    assert len(started) == min(os.cpu_count() or 1, len(variants))
    assert not any(t.is_alive() for t in started)
    monkeypatch.setattr(threading, "Thread", real)
    assert bounds == pytest.approx(cold_bounds(m, variants), rel=1e-9)


def test_each_later_relaxation_a_thread_takes_starts_from_its_previous_basis(monkeypatch):
    """A thread's first variant starts from the run's LP basis, each later one from the basis the
    thread's previous variant ended at; the bounds are those of each relaxation solved cold."""
    import threading

    import optimizer.solve as solve_module

    m, variants = scored_variants(7, 14)
    log: dict[int, list] = {}  # per instance: ("set", basis) and ("got", basis) in order
    real = solve_module.new_highs

    class Watched:
        def __init__(self):
            self.h = real()
            log[id(self)] = []

        def __getattr__(self, name):
            return getattr(self.h, name)

        def setBasis(self, b):
            log[id(self)].append(("set", b))
            return self.h.setBasis(b)

        def getBasis(self):
            b = self.h.getBasis()
            log[id(self)].append(("got", b))
            return b

    def new_highs():  # the relaxations' threads' instances watched, the run's own as it is
        return real() if threading.current_thread() is threading.main_thread() else Watched()

    monkeypatch.setattr(solve_module, "new_highs", new_highs)
    solver = Solver(EXACT)
    pending = solver.relaxations(m, variants)
    solver.solve(m)
    bounds = pending()
    monkeypatch.setattr(solve_module, "new_highs", real)
    assert log and all(events and events[0][0] == "set" for events in log.values())
    firsts = [events[0][1] for events in log.values()]
    assert all(b is firsts[0] for b in firsts)  # the run's basis, one object for all threads
    later = 0
    for events in log.values():
        sets = [i for i, (kind, _) in enumerate(events) if kind == "set"]
        for k in sets[1:]:
            assert events[k - 1][0] == "got" and events[k][1] is events[k - 1][1]
            later += 1
    assert sum(1 for events in log.values() for kind, _ in events if kind == "set") == len(variants)
    assert later >= len(variants) - len(log)
    assert bounds == pytest.approx(cold_bounds(m, variants), rel=1e-9)


# ------------------------------------------------------------------ rules held as column bounds
def locked(rng: random.Random, n: int) -> Pipeline:
    """A pipeline with every kind of one-variable rule: approval screens, must-fund and exclude locks."""
    data = pipeline(rng, n)
    projects = list(data.projects)
    for j in rng.sample(range(n), 3):
        projects[j] = projects[j].__class__(**{**projects[j].__dict__, "decision": rng.choice(("must fund", "exclude"))})
    return Pipeline(projects=tuple(projects), fund=data.fund, budget=data.budget, sectors=data.sectors,
                    rules=data.rules, approval_columns=data.approval_columns)


def as_rows(monkeypatch):
    """The same solver with every rule handed to HiGHS as a row (as before rules went as bounds)."""
    import optimizer.solve as solve_module

    monkeypatch.setattr(solve_module, "_foldable", lambda comp, indptr: False)


@pytest.mark.parametrize("seed", range(10))
def test_rules_held_as_bounds_answer_as_rows_do(seed, monkeypatch):
    """Screens and locks go to HiGHS as column bounds. Every change analyses make near them —
    fixing a screened or locked project either way (one at a time and on copies), switching one
    screen row or a whole block off and on — gives the optimum the same rules give as rows."""
    rng = random.Random(1000 + seed)
    data = locked(rng, rng.randint(8, 12))
    m = build(data)
    solver = Solver(EXACT)
    first = solver.solve(m)
    c = solver._c
    names = ("Approval_Screen", "Must_Fund", "Exclude")
    held = [getattr(m, k) for k in names if len(getattr(m, k))]
    assert held and all(id(comp) in c.folded for comp in held)
    assert c.h.getNumRow() == sum(len(comp) for comp in m.component_objects(__import__("pyomo.core").core.Constraint)
                                  if id(comp) not in c.folded)
    steps = []
    for _ in range(6):
        kind = rng.choice(("fix", "row", "block"))
        if kind == "fix":
            keys = [k for comp in held for k in comp]
            p = rng.choice(keys)
            steps.append((kind, p, rng.choice((0, 1))))
        elif kind == "row":
            comp = rng.choice(held)
            steps.append((kind, comp.local_name, rng.choice(list(comp))))
        else:
            steps.append((kind, rng.choice(held).local_name, None))

    def play(mm, sv, step):
        kind, a, b = step
        if kind == "fix":
            return sv.solve_with_fixed(mm, mm.Select[a], b)
        part = getattr(mm, a)[b] if kind == "row" else getattr(mm, a)
        part.deactivate()
        try:
            return sv.solve(mm)
        finally:
            part.activate()

    got = [play(m, solver, s) for s in steps] + [solver.solve(m)]
    fixes = [(m.Select[a], b, None) for kind, a, b in steps if kind == "fix"]
    on_copies = [o for _, o in solver.solve_each_fixed(m, fixes, workers=2)]

    as_rows(monkeypatch)
    mr = build(data)
    rows = Solver(EXACT)
    assert approx(first.objective, rows.solve(mr).objective)
    assert rows._c.folded == {} and rows._c.h.getNumRow() > c.h.getNumRow()
    want = [play(mr, rows, s) for s in steps] + [rows.solve(mr)]
    for step, g, w in zip(steps + [("again", None, None)], got, want):
        assert g.status == w.status, step
        assert approx(g.objective if g.solved else None, w.objective if w.solved else None), step
    fixed_want = [w for (kind, _, _), w in zip(steps, want) if kind == "fix"]
    assert [o.status for o in on_copies] == [w.status for w in fixed_want]
    for g, w in zip(on_copies, fixed_want):
        assert approx(g.objective if g.solved else None, w.objective if w.solved else None)


def test_a_screened_project_forced_in_is_infeasible_and_a_lock_holds():
    """The plain facts the bounds must keep: a project not approved cannot be funded, a must-fund
    project cannot leave, an excluded one cannot enter — however the column is fixed."""
    rng = random.Random(7)
    data = pipeline(rng, 10)
    projects = list(data.projects)
    projects[3] = projects[3].__class__(**{**projects[3].__dict__, "us_approval": "no"})  # a Ports project
    projects[1] = projects[1].__class__(**{**projects[1].__dict__, "us_approval": "yes", "decision": "must fund",
                                           "capex": 5.0, "schedule": (2.5, 2.5)})
    projects[2] = projects[2].__class__(**{**projects[2].__dict__, "us_approval": "yes", "decision": "exclude"})
    data = Pipeline(projects=tuple(projects), fund=data.fund, budget=data.budget, sectors=data.sectors,
                    rules=(), approval_columns=data.approval_columns)
    m = build(data)
    solver = Solver(EXACT)
    base = solver.solve(m)
    assert base.solved and "P01" in base.selected and "P03" not in base.selected and "P02" not in base.selected
    for p, level in (("P03", 1), ("P01", 0), ("P02", 1)):
        assert solver.solve_with_fixed(m, m.Select[p], level).status == "infeasible", p
        m.Select[p].fix(level)
        assert solver.solve(m).status == "infeasible", p
        m.Select[p].unfix()
    jobs = [(m.Select[p], level, None) for p, level in (("P03", 1), ("P01", 0), ("P02", 1), ("P04", 1))]
    statuses = [o.status for _, o in solver.solve_each_fixed(m, jobs, workers=2)]
    assert statuses[:3] == ["infeasible"] * 3 and statuses[3] != "infeasible"
    # and the rules still stand afterwards, in the model and in HiGHS
    again = solver.solve(m)
    assert approx(again.objective, base.objective) and "P01" in again.selected
    # the screen's row switched off, the project may enter; on again, it may not
    m.Approval_Screen["P03"].deactivate()
    assert solver.solve_with_fixed(m, m.Select["P03"], 1).solved
    m.Approval_Screen["P03"].activate()
    assert solver.solve_with_fixed(m, m.Select["P03"], 1).status == "infeasible"


def _same_matrix(a, b) -> None:
    import numpy as np

    for name in ("start", "row", "val", "cost", "row_lo", "row_up", "col_lo", "col_up", "integer", "lo", "up", "col"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.n, a.m, a.offset, a.maximize) == (b.n, b.m, b.offset, b.maximize)


@pytest.mark.parametrize("seed", range(4))
def test_the_heuristic_reads_the_model_as_handed_over_exactly_as_highs_holds_it(seed):
    """_Compiled.matrix() gives the heuristic HiGHS's model from the arrays handed over (no read
    back): the same arrays as reading HiGHS, after fixes and unfixes, screens switched off and
    the objective swapped; and none once a row was added (the heuristic then reads HiGHS)."""
    import numpy as np
    import pyomo.core as pyo

    from optimizer.heuristic import _Matrix

    rng = random.Random(300 + seed)
    data = locked(rng, rng.randint(8, 12))
    m = build(data)
    solver = Solver(EXACT)
    solver.solve(m)
    c = solver._c
    _same_matrix(c.matrix(), _Matrix(c.h))
    p, q = rng.sample(list(data.ids), 2)
    m.Select[p].fix(1)
    m.Select[q].fix(0)
    m.Approval_Screen.deactivate()
    set_objective(m, data, "strategic")
    assert solver._compiled(m) is c  # brought in step, not solved yet: what the heuristic will read
    _same_matrix(c.matrix(), _Matrix(c.h))
    got = solver.solve(m)
    assert approx(got.objective if got.solved else None, fresh(data, lambda mm: (
        mm.Select[p].fix(1), mm.Select[q].fix(0), mm.Approval_Screen.deactivate(),
        set_objective(mm, data, "strategic"))))
    _same_matrix(c.matrix(), _Matrix(c.h))
    m.Select[p].unfix()
    m.Approval_Screen.activate()
    set_objective(m, data, "npv")
    assert solver._compiled(m) is c
    _same_matrix(c.matrix(), _Matrix(c.h))
    solver.solve(m)
    _same_matrix(c.matrix(), _Matrix(c.h))
    # a parameter in a row's bound moved, a block of rows switched off and on: bounds only
    before = c.matrix()
    m.equity_capital = float(pyo.value(m.equity_capital)) * rng.uniform(0.3, 0.9)
    m.Budget_Capital.deactivate()
    assert solver._compiled(m) is c
    _same_matrix(c.matrix(), _Matrix(c.h))
    assert not np.array_equal(before.row_up, c.matrix().row_up)  # a matrix handed out keeps its bounds
    got = solver.solve(m)
    equity = float(pyo.value(m.equity_capital))
    assert approx(got.objective if got.solved else None, fresh(data, lambda mm: (
        setattr(mm, "equity_capital", equity), mm.Budget_Capital.deactivate())))
    m.Budget_Capital.activate()
    solver.solve(m)
    _same_matrix(c.matrix(), _Matrix(c.h))
    m.Cut = pyo.Constraint(expr=m.Select[p] + m.Select[q] <= 1)
    solver.solve(m)
    assert c.matrix() is None


@pytest.mark.parametrize("seed", range(3))
def test_re_solves_on_copies_give_what_one_by_one_gives_and_leave_the_last_answer(seed):
    """solve_each_fixed reads each answer from its own columns and loads only the last one found:
    every Outcome (portfolio, debt, investors) is the one solve_with_fixed gives, and afterwards
    the Pyomo model and values() hold what one re-solve after another would leave, also when the
    last job has no answer."""
    import dataclasses

    import pyomo.core as pyo

    from optimizer.data import Investor

    rng = random.Random(500 + seed)
    data = pipeline(rng, rng.randint(8, 11))
    data = dataclasses.replace(  # less equity, debt on every project, an investor: capital to raise
        data, projects=tuple(dataclasses.replace(p, leverage_eligible=True) for p in data.projects),
        fund=dataclasses.replace(data.fund, equity_capital=round(data.fund.equity_capital * 0.5)),
        investors=(Investor("Pension A", max_commitment=round(data.fund.equity_capital * 0.15)),))
    ids = list(data.ids)
    plan = [(p, rng.choice((0, 1))) for p in rng.sample(ids, 5)]
    plan.append((plan[0][0], 1 - plan[0][1]))
    jobs_of = (lambda mm: [(mm.Select[p], level, None) for p, level in plan])
    m1, m2 = build(data), build(data)
    one, copies = Solver(EXACT), Solver(EXACT)
    one.solve(m1)
    copies.solve(m2)
    want = [one.solve_with_fixed(m1, var, level) for var, level, _ in jobs_of(m1)]
    got = [o for _, o in copies.solve_each_fixed(m2, jobs_of(m2), workers=2)]
    for w, g in zip(want, got):
        assert g.status == w.status
        if w.solved:
            assert approx(g.objective, w.objective)
            assert g.choices == w.choices and g.debt == w.debt and g.investors == w.investors
    assert any(w.debt for w in want) and any(w.investors for w in want)  # read from columns, not loaded
    values = (lambda mm: [pyo.value(v) for v in mm.columns.vars])
    assert values(m2) == pytest.approx(values(m1), abs=1e-9)
    assert copies.values() == pytest.approx(one.values(), abs=1e-9)

    # the last job without an answer: the last answer found stays, as one by one
    blocked = [p for p in ids if data.by_id[p].us_approval == "no"]
    assert blocked
    plan[:] = plan[1:4] + [(blocked[0], 1)]
    m3, m4 = build(data), build(data)
    last, seq = Solver(EXACT), Solver(EXACT)
    last.solve(m3)
    seq.solve(m4)
    outs = [o for _, o in last.solve_each_fixed(m3, jobs_of(m3), workers=2)]
    ones = [seq.solve_with_fixed(m4, var, level) for var, level, _ in jobs_of(m4)]
    assert [o.status for o in outs] == [o.status for o in ones] and outs[-1].status == "infeasible"
    assert last.values() == pytest.approx(seq.values(), abs=1e-9)
    assert extract(m3) == [o for o in ones if o.solved][-1].choices


@pytest.mark.parametrize("seed", range(8))
def test_funded_projects_read_from_columns_are_those_of_the_variables(seed):
    """extract() reads the funded projects of any column values from the model's arrays: on
    random 0/1 values with random stakes, exactly the projects whose start variable is on and
    whose stake is above zero, each with its start year and stake (rounded to 9 places), in
    project order — as read one variable at a time from the Pyomo model."""
    import numpy as np
    import pyomo.core as pyo

    from models.selection import start as start_var

    rng = random.Random(300 + seed)
    data = pipeline(rng, rng.randint(8, 20))
    m = build(data)
    Solver(EXACT).solve(m)
    variables = list(m.columns.vars)
    gen = np.random.default_rng(seed)
    for _ in range(20):
        x = gen.integers(0, 2, size=len(variables)).astype(float)
        for v, k in zip(variables, range(len(variables))):
            if v.parent_component() is getattr(m, "Stake", None):
                x[k] = gen.choice([0.0, 0.5, 1.0 / 3.0, gen.random()])
            v.set_value(x[k], skip_validation=True)
        expected = {}
        for p, t in m.STARTS:
            on = pyo.value(start_var(m, p, t)) > 0.5
            if (p, t) in getattr(m, "VARYING", ()):
                stake = pyo.value(m.Stake[p, t])
            else:
                stake = data.by_id[p].max_stake * (1.0 if on else 0.0)
            if on and stake > 1e-9:
                expected[p] = (round(stake, 9), t)
        got = extract(m, x)
        assert list(got) == list(expected)  # project order
        assert {p: (c.stake, c.start_year) for p, c in got.items()} == expected
        assert extract(m) == got  # from the variables' values
