"""Interdependencies from the Rules sheet.

Sets
    RULES     r, one per row of the Rules sheet, with its projects P_r and count k_r
Constraints
    Rule_Requires[r, q]:  Select[first(P_r)] ≤ Select[q]       for q in P_r other than the first
    Rule_Excludes[r]:     Σ_(p∈P_r) Select[p] ≤ 1              (mutually exclusive)
    Rule_At_Most[r]:      Σ_(p∈P_r) Select[p] ≤ k_r
    Rule_At_Least[r]:     Σ_(p∈P_r) Select[p] ≥ k_r
    Rule_Together[r, q]:  Select[q] = Select[first(P_r)]       for q in P_r other than the first
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    if not data.rules:
        return
    by_kind: dict[str, list[int]] = {}
    for r, rule in enumerate(data.rules):
        by_kind.setdefault(rule.rule, []).append(r)
    rules = data.rules
    pairs = lambda kind: [(r, q) for r in by_kind.get(kind, ()) for q in rules[r].projects[1:]]  # noqa: E731

    m.Rule_Requires = pyo.Constraint(
        pairs("requires"), rule=lambda m, r, q: m.Select[rules[r].projects[0]] <= m.Select[q])
    m.Rule_Together = pyo.Constraint(
        pairs("together"), rule=lambda m, r, q: m.Select[q] == m.Select[rules[r].projects[0]])
    m.Rule_Excludes = pyo.Constraint(
        by_kind.get("excludes", []), rule=lambda m, r: sum(m.Select[p] for p in rules[r].projects) <= 1)
    m.Rule_At_Most = pyo.Constraint(
        by_kind.get("at_most", []), rule=lambda m, r: sum(m.Select[p] for p in rules[r].projects) <= rules[r].k)
    m.Rule_At_Least = pyo.Constraint(
        by_kind.get("at_least", []), rule=lambda m, r: sum(m.Select[p] for p in rules[r].projects) >= rules[r].k)
