"""Equity capital.

Parameters
    equity_capital                 government equity (mutable: frontiers re-solve over it)
Expressions
    equity = equity_capital + investor_equity   (investor commitments, from the investors family)
    debt_total                                  (debt drawn, from the leverage family; 0 without it)
Constraints
    Equity_Capital:  Σ_p committed[p] ≤ equity + debt_total
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    m.equity_capital = pyo.Param(initialize=data.fund.equity_capital, mutable=True)
    m.equity = pyo.Expression(expr=m.equity_capital + m.investor_equity)
    m.total_committed = pyo.Expression(expr=sum(m.committed[p] for p in m.PROJECTS))
    m.Equity_Capital = pyo.Constraint(expr=m.total_committed <= m.equity + m.debt_total)
