"""models/linear.py: linear forms, rows held as one sparse matrix, and the form objective.

The rows are what HiGHS receives, so each test checks the matrix itself (coefficients summed
per column, constants moved into the bounds, parameter terms at their current values) and the
Pyomo face the analyses use (keys, body, bounds, activation)."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo
import pytest

from models.linear import Columns, FormObjective, Linear, LinearRows, csr


def model(n: int = 4):
    m = pyo.ConcreteModel()
    m.columns = Columns()
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    cols = m.columns.add(m.x)
    return m, cols


def test_columns_are_positions_in_declaration_order():
    m, cols = model(3)
    m.y = pyo.Var(["a", "b"], bounds=(0, 1))
    assert cols.tolist() == [0, 1, 2]
    assert m.columns.add(m.y).tolist() == [3, 4]
    assert m.columns.vars[4] is m.y["b"] and len(m.columns) == 5


def test_forms_add_scale_and_merge_like_numbers():
    a = Linear([0, 1], [2.0, 3.0], 1.0)
    b = Linear([1, 2], [-3.0, 4.0])
    f = 2 * (a + b) - 1.5
    assert f.constant == pytest.approx(0.5)
    g = f.merged()
    assert dict(zip(g.cols.tolist(), g.coefs.tolist())) == {0: 4.0, 2: 8.0}  # column 1 cancels and is dropped
    x = np.array([1.0, 5.0, 0.5])
    assert f.value(x) == pytest.approx(2 * (2 + 15 + 1 - 15 + 2) - 1.5)
    total = Linear.total([a, b, Linear.of(2, 1.0)]).merged()
    assert total.cols.tolist() == [0, 2] and total.coefs.tolist() == [2.0, 5.0] and total.constant == 1.0
    assert (-a).constant == -1.0 and (5 - a).constant == 4.0


def test_csr_sums_repeated_columns_row_by_row():
    indptr, cols, coefs = csr([Linear([2, 0, 2], [1.0, 2.0, 3.0]), Linear(), Linear([1, 1], [1.0, -1.0])])
    assert indptr.tolist() == [0, 2, 2, 2]
    assert cols.tolist() == [0, 2] and coefs.tolist() == [2.0, 4.0]


def test_rows_by_key_with_bounds_constants_and_activation():
    m, cols = model(3)
    m.cap = pyo.Param(initialize=10.0, mutable=True)
    m.R = LinearRows(m.columns, ["low", "high"],
                     [Linear([0, 1], [3.0, 4.0], 2.0), Linear([2], [1.0])],
                     lower=[None, 1.0], upper=[m.cap, None])
    assert list(m.R) == ["low", "high"] and len(m.R) == 2 and "low" in m.R
    row = m.R["low"]
    assert row.index() == "low" and row.name == "R[low]"
    assert row.upper == pytest.approx(8.0) and row.lower is None  # the constant 2 moved into the bound
    assert str(row.body) == "3.0*x[0] + 4.0*x[1]"
    indptr, c, v, lo, up = m.R.matrix()
    assert c.tolist() == [0, 1, 2] and lo.tolist() == [-np.inf, 1.0] and up.tolist() == [8.0, np.inf]
    m.cap.set_value(20.0)
    assert m.R.matrix()[4][0] == pytest.approx(18.0) and m.R.parameters() == (20.0,)
    m.R["high"].deactivate()
    assert m.R.active_rows().tolist() == [True, False]
    m.R.deactivate()
    assert m.R.active_rows().tolist() == [False, False]
    m.R.activate()
    assert m.R.active_rows().tolist() == [True, True]
    active = [c.name for c in m.component_data_objects(pyo.Constraint, active=True)]
    assert active == ["R[low]", "R[high]"]


def test_a_parameter_term_moves_a_coefficient():
    m, cols = model(2)
    m.k = pyo.Param(initialize=2.0, mutable=True)
    m.R = LinearRows(m.columns, [None], [Linear([0], [1.0])], upper=0.0, terms=[(0, m.k, Linear([1], [-1.0]))])
    indptr, c, v, lo, up = m.R.matrix()
    assert dict(zip(c.tolist(), v.tolist())) == {0: 1.0, 1: -2.0}
    m.k.set_value(5.0)
    assert dict(zip(m.R.matrix()[1].tolist(), m.R.matrix()[2].tolist())) == {0: 1.0, 1: -5.0}
    assert str(m.R[None].body) == "x[0] - 5.0*x[1]"


def test_form_objective_reads_as_an_expression_only_when_asked():
    m, cols = model(2)
    m.Objective = FormObjective(expr=0.0, sense=pyo.maximize)
    m.Objective.hold(m.columns, Linear([0, 1, 0], [1.0, 2.0, 1.0]).merged())
    assert m.Objective._pending
    assert str(m.Objective.expr) == "2.0*x[0] + 2.0*x[1]"
    m.x[0].set_value(1)
    m.x[1].set_value(0)
    assert pyo.value(m.Objective) == pytest.approx(2.0)
    m.Objective.expr = 3 * m.x[1]
    assert m.Objective.form is None and str(m.Objective.expr) == "3*x[1]"
