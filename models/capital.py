"""Equity capital.

Parameters
    equity_capital                 government equity (mutable: frontiers re-solve over it;
                                   declared by portfolio.build, as the leverage family reads it too)
Linear forms
    total_committed = Σ_p committed[p]
    investor_equity = Σ_i Commit[i]             (from the investors family; 0 without it)
    debt_total                                  (debt drawn, from the leverage family; 0 without it)
Constraints
    Equity_Capital:  Σ_p committed[p] − investor_equity − debt_total ≤ equity_capital
                     (commitments ≤ equity + debt, equity = equity_capital + investor_equity)
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    m.total_committed = m.forms.committed()
    m.Equity_Capital = LinearRows(m.columns, [None], [m.total_committed - m.investor_equity - m.debt_total],
                                  upper=[m.equity_capital])
