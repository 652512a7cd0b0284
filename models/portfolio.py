"""Assemble the fund's model: ``build(data, settings) -> ConcreteModel``.

Each rule family lives in its own module with one entry point ``add_to(m, data, settings)``
and returns early when its data is absent. Families register their objective terms in
``m.objective_terms[kind]`` (Switch's cost-components list); the objective sums the terms of
the kind the Fund sheet names:

    npv        Σ_p npv_value[p]  − debt_cost × debt − Σ_i required_return[i] × commitment[i]
    strategic  Σ_p stake × strategic_score[p]
    jobs       Σ_p stake × jobs[p]
    weighted   Σ_k weight[k] × term[k] over the kinds named in objective_weights
    maxmin_satisfaction   MinSatisfaction (agreement), the smaller nation's satisfaction

Index letters: p project, t start year, y calendar year, s sector, n nation, i investor, r rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.core as pyo

from optimizer.data import Pipeline

from . import agreement, budget, capital, investors, leverage, risk, rules, sectors, selection
from .linear import FormObjective, Linear

#: the families, in build order (later families may use what earlier ones defined)
FAMILIES = (selection, investors, leverage, capital, budget, sectors, rules, risk, agreement)


@dataclass(frozen=True)
class ModelSettings:
    """What to build beyond the data: kept small so a batch worker can pickle it."""

    objective: str | None = None  # None: the Fund sheet's objective
    #: the rule a frontier sweeps ("budget", "risk" or "agreement"), built as a mutable
    #: parameter even when the Fund sheet leaves that rule off (None: as the Fund sheet says)
    frontier: str | None = None


def build(data: Pipeline, settings: ModelSettings | None = None) -> pyo.ConcreteModel:
    """The fund's model. ``m.equity_capital`` (government equity, mutable) is declared here, before
    the families, because both the capital and the leverage family read it."""
    settings = settings or ModelSettings()
    m = pyo.ConcreteModel(name="fundopt")
    m.objective_terms = {}

    def register(kind: str, form: Linear) -> None:
        m.objective_terms.setdefault(kind, []).append(form)

    m.register = register
    m.register_money = lambda name, form: register("npv", form)
    m.equity_capital = pyo.Param(initialize=data.fund.equity_capital, mutable=True)
    m.debt_total = Linear()
    for family in FAMILIES:
        family.add_to(m, data, settings)
    set_objective(m, data, settings.objective or data.fund.objective)
    return m


def objective_expression(m: pyo.ConcreteModel, data: Pipeline, kind: str) -> Linear:
    """The objective of that kind, as a linear form over the model's columns."""
    from optimizer.workbook.validate import parse_weights  # pure parsing, no I/O

    if kind == "weighted":
        weights, _ = parse_weights(data.fund.objective_weights or "npv=1")
        return Linear.total(w * Linear.total(m.objective_terms.get(k, ())) for k, w in weights.items())
    return Linear.total(m.objective_terms.get(kind, ()))


def set_objective(m: pyo.ConcreteModel, data: Pipeline, kind: str) -> None:
    set_objective_expr(m, objective_expression(m, data, kind))


def set_objective_expr(m: pyo.ConcreteModel, expr) -> None:
    """Maximize ``expr`` (a linear form or a Pyomo expression); analyses swap objectives on one
    built model and re-solve it. A form stays a form (models.linear.FormObjective): the solver
    reads its arrays instead of walking an expression."""
    if hasattr(m, "Objective"):
        m.del_component(m.Objective)
    if isinstance(expr, Linear):
        m.Objective = FormObjective(expr=0.0, sense=pyo.maximize)
        m.Objective.hold(m.columns, expr.merged())
    else:
        m.Objective = pyo.Objective(expr=expr, sense=pyo.maximize)


def agreement_rules(m: pyo.ConcreteModel) -> list:
    """The constraint families that make up the two-nation agreement (SPEC §2 price of agreement)."""
    return [c for c in (getattr(m, "Approval_Screen", None), getattr(m, "Nation_Satisfaction", None),
                        getattr(m, "Satisfaction_Floor", None)) if c is not None]


def satisfaction_rules(m: pyo.ConcreteModel) -> list:
    """Rules that depend on the nations' ideals: off while the ideals are found."""
    return [c for c in (getattr(m, "Nation_Satisfaction", None), getattr(m, "Satisfaction_Floor", None))
            if c is not None]
