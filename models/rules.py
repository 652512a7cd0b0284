"""Interdependencies from the Rules sheet.

Sets
    RULES     r, one per row of the Rules sheet, with its projects P_r and count k_r
Constraints
    Rule_Requires[r, q]:  Select[first(P_r)] − Select[q] ≤ 0     for q in P_r other than the first
    Rule_Excludes[r]:     Σ_(p∈P_r) Select[p] ≤ 1                (mutually exclusive)
    Rule_At_Most[r]:      Σ_(p∈P_r) Select[p] ≤ k_r
    Rule_At_Least[r]:     Σ_(p∈P_r) Select[p] ≥ k_r
    Rule_Together[r, q]:  Select[q] − Select[first(P_r)] = 0     for q in P_r other than the first
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import Linear, LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    if not data.rules:
        return
    by_kind: dict[str, list[int]] = {}
    for r, rule in enumerate(data.rules):
        by_kind.setdefault(rule.rule, []).append(r)
    rules = data.rules
    col = {pid: int(m.forms.select_col[i]) for pid, i in m.forms.position.items()}

    def pairs(kind):
        return [(r, q) for r in by_kind.get(kind, ()) for q in rules[r].projects[1:]]

    def diff(a: str, b: str) -> Linear:  # Select[a] − Select[b]
        return Linear(np.array([col[a], col[b]]), np.array([1.0, -1.0]))

    def total(r: int) -> Linear:
        return Linear(np.array([col[p] for p in rules[r].projects]), np.ones(len(rules[r].projects)))

    req = pairs("requires")
    m.Rule_Requires = LinearRows(m.columns, req, [diff(rules[r].projects[0], q) for r, q in req], upper=0.0)
    tog = pairs("together")
    m.Rule_Together = LinearRows(m.columns, tog, [diff(q, rules[r].projects[0]) for r, q in tog],
                                 lower=0.0, upper=0.0)
    exc = by_kind.get("excludes", [])
    m.Rule_Excludes = LinearRows(m.columns, exc, [total(r) for r in exc], upper=1.0)
    most = by_kind.get("at_most", [])
    m.Rule_At_Most = LinearRows(m.columns, most, [total(r) for r in most], upper=[float(rules[r].k) for r in most])
    least = by_kind.get("at_least", [])
    m.Rule_At_Least = LinearRows(m.columns, least, [total(r) for r in least],
                                 lower=[float(rules[r].k) for r in least])
