"""Two-nation agreement: each government must get enough of what it values.

A nation's score value of a portfolio (SPEC §2) is V[n] = Σ_p score_n[p] × committed[p];
its ideal V*[n] is the largest V[n] of any portfolio obeying every other rule, found by
re-solving this same model with V[n] as the objective (optimizer.analysis.agreement) and
stored in the mutable parameter ideal[n]. Satisfaction = V[n] / V*[n].

Sets
    NATIONS          n ∈ {US, JP}
Parameters
    score_n[p] (us_score / jp_score, blank = 0), ideal[n] (mutable),
    min_satisfaction = min_nation_satisfaction (mutable: the agreement frontier re-solves over
    it; built at 0 when the Fund sheet has none and ModelSettings.frontier = "agreement")
Variables
    MinSatisfaction ∈ [0, 1]   (objective maxmin_satisfaction only)
Linear forms
    score_value[n] = Σ_p score_n[p] × committed[p]
Constraints
    Nation_Satisfaction[n]:  score_value[n] ≥ min_satisfaction × ideal[n]
    Satisfaction_Floor[n]:   ideal[n] × MinSatisfaction − score_value[n] ≤ 0   (objective maxmin_satisfaction)
Objective term (maxmin_satisfaction)
    MinSatisfaction
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import NATIONS, Pipeline

from .linear import Linear, LinearRows


def needs_ideals(data: Pipeline) -> bool:
    return data.fund.min_nation_satisfaction is not None or data.fund.objective == "maxmin_satisfaction"


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    m.NATIONS = pyo.Set(initialize=NATIONS, ordered=True)
    m.score_value = {n: m.forms.committed(np.array([p.score(n) or 0.0 for p in data.projects], dtype=float))
                     for n in NATIONS}
    swept = getattr(settings, "frontier", None) == "agreement"
    if not (needs_ideals(data) or swept):
        return
    m.ideal = pyo.Param(m.NATIONS, initialize=0.0, mutable=True)
    theta = data.fund.min_nation_satisfaction
    if theta or swept:
        m.min_satisfaction = pyo.Param(initialize=theta or 0.0, mutable=True)
        m.Nation_Satisfaction = LinearRows(m.columns, list(NATIONS), [m.score_value[n] for n in NATIONS],
                                           lower=[m.min_satisfaction * m.ideal[n] for n in NATIONS])
    if data.fund.objective == "maxmin_satisfaction":
        m.MinSatisfaction = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, 1))
        j = int(m.columns.add(m.MinSatisfaction)[0])
        m.Satisfaction_Floor = LinearRows(m.columns, list(NATIONS), [-m.score_value[n] for n in NATIONS], upper=0.0,
                                          terms=[(k, m.ideal[n], Linear.of(j)) for k, n in enumerate(NATIONS)])
        m.register("maxmin_satisfaction", Linear.of(j))
