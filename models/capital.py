"""Equity capital.

Parameters
    equity_capital                 government equity (mutable: frontiers re-solve over it)
Expressions
    equity = equity_capital (+ investor commitments, when that family is on)
    debt   = 0 (debt drawn, when the leverage family is on)
Constraints
    Equity_Capital:  Σ_p committed[p] ≤ equity + debt
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    m.equity_capital = pyo.Param(initialize=data.fund.equity_capital, mutable=True)
    m.total_committed = pyo.Expression(expr=sum(m.committed[p] for p in m.PROJECTS))
    m.Equity_Capital = pyo.Constraint(expr=m.total_committed <= m.equity_capital + m.debt_total)
