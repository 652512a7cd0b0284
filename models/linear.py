"""The model built from arrays: linear forms over the model's columns, and rows in bulk.

A pipeline of 10,000 projects gives about 300,000 nonzeros. Built term by term, as Pyomo
expressions, that takes seconds before the solver sees a number; here every family builds its
rows from numpy arrays instead, and the solver takes them as they are (optimizer/solve.py).

* :class:`Columns` — every variable the families declare, in order: a variable's column is its
  position. ``m.columns.add(m.Select)`` registers an indexed variable and returns the columns
  of its members, in index order.
* :class:`Linear` — a linear form Σ_j coef_j × x_j + constant over those columns, as two arrays.
  Forms add, subtract and scale like numbers (``committed - share * total``); the same column may
  appear more than once (terms are summed when rows are made).
* :class:`FormObjective` — a Pyomo objective that holds a form: the solver reads its arrays, and
  the Pyomo expression (tens of thousands of terms) is made only if someone asks for it.
* :class:`LinearRows` — an indexed Pyomo constraint whose rows ``lower[k] ≤ form[k] ≤ upper[k]``
  are held as one sparse matrix (after Pyomo's MatrixConstraint, which bypasses the expression
  system the same way), indexed by the family's own keys (``Budget_Capital[2028]``). It behaves as
  a Pyomo constraint: rows are looked up by key, (de)activated, and show ``body``, ``lower`` and
  ``upper``. A bound may be a Pyomo expression of mutable parameters (``m.equity_capital``), and a
  row may carry a term ``multiplier × form`` whose multiplier is such an expression: the solver
  re-reads both when a parameter changes, so frontiers and the nations' ideals re-solve the one
  built model.
"""

from __future__ import annotations

import weakref
import numpy as np
from pyomo.core.base.constraint import IndexedConstraint
from pyomo.core.base.matrix_constraint import _MatrixConstraintData
from pyomo.core.base.objective import ObjectiveData, ScalarObjective
from pyomo.core.base.set_types import Any
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.core.expr.numvalue import is_constant, value

_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=float)


class Columns:
    """The model's variables in column order."""

    def __init__(self) -> None:
        self.vars: list = []

    def add(self, var) -> np.ndarray:
        """Register every member of ``var`` (in index order); their columns."""
        members = list(var.values())
        first = len(self.vars)
        self.vars.extend(members)
        return np.arange(first, first + len(members), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.vars)

    def expr(self, form: "Linear"):
        """The form as a Pyomo expression (for readers; the solver never needs it)."""
        f = form.merged()
        return LinearExpression(constant=f.constant, linear_coefs=f.coefs.tolist(),
                                linear_vars=[self.vars[j] for j in f.cols.tolist()])


class Linear:
    """Σ_j coefs[j] × x[cols[j]] + constant."""

    __slots__ = ("cols", "coefs", "constant")

    def __init__(self, cols=_EMPTY_I, coefs=_EMPTY_F, constant: float = 0.0):
        self.cols = np.asarray(cols, dtype=np.int64)
        self.coefs = np.asarray(coefs, dtype=float)
        self.constant = float(constant)

    @classmethod
    def of(cls, col: int, coef: float = 1.0) -> "Linear":
        return cls(np.array([col], dtype=np.int64), np.array([coef], dtype=float))

    @staticmethod
    def total(forms) -> "Linear":
        forms = list(forms)
        if not forms:
            return Linear()
        return Linear(np.concatenate([f.cols for f in forms]), np.concatenate([f.coefs for f in forms]),
                      sum(f.constant for f in forms))

    def __add__(self, other):
        if isinstance(other, Linear):
            return Linear(np.concatenate([self.cols, other.cols]), np.concatenate([self.coefs, other.coefs]),
                          self.constant + other.constant)
        return Linear(self.cols, self.coefs, self.constant + float(other))

    __radd__ = __add__

    def __neg__(self):
        return Linear(self.cols, -self.coefs, -self.constant)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, k):
        k = float(k)
        return Linear(self.cols, self.coefs * k, self.constant * k)

    __rmul__ = __mul__

    def __len__(self) -> int:
        return len(self.cols)

    def merged(self) -> "Linear":
        """The same form with each column once (coefficients summed, zeros dropped)."""
        if len(self.cols) == 0:
            return self
        cols, inverse = np.unique(self.cols, return_inverse=True)
        coefs = np.bincount(inverse, weights=self.coefs, minlength=len(cols))
        keep = coefs != 0.0
        return Linear(cols[keep], coefs[keep], self.constant)

    def value(self, x) -> float:
        """The form's value at column values ``x``."""
        return float(np.dot(self.coefs, np.asarray(x)[self.cols])) + self.constant

    def dense(self, n: int) -> np.ndarray:
        """Coefficients as a dense vector of ``n`` columns."""
        return np.bincount(self.cols, weights=self.coefs, minlength=n)[:n] if len(self.cols) else np.zeros(n)


def csr(forms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, cols, coefs) of the forms as rows, each column once per row, in column order."""
    forms = list(forms)
    lengths = np.fromiter((len(f.cols) for f in forms), dtype=np.int64, count=len(forms))
    if lengths.sum() == 0:
        return np.zeros(len(forms) + 1, dtype=np.int64), _EMPTY_I, _EMPTY_F
    rows = np.repeat(np.arange(len(forms), dtype=np.int64), lengths)
    cols = np.concatenate([f.cols for f in forms])
    coefs = np.concatenate([f.coefs for f in forms])
    return _compress(len(forms), rows, cols, coefs)


def _compress(nrows: int, rows, cols, coefs):
    order = np.lexsort((cols, rows))
    rows, cols, coefs = rows[order], cols[order], coefs[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(coefs, starts) if len(starts) else coefs
    rows, cols = rows[starts], cols[starts]
    keep = summed != 0.0
    rows, cols, summed = rows[keep], cols[keep], summed[keep]
    indptr = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=nrows), out=indptr[1:])
    return indptr, cols, summed


class _RowData(_MatrixConstraintData):
    """One row of a :class:`LinearRows` block, known by the block's key."""

    __slots__ = ()

    def index(self):
        return self.parent_component()._keys[self._index]

    @property
    def body(self):
        comp = self.parent_component()
        return comp.columns.expr(comp.form(self._index))

    @property
    def lower(self):
        return self.parent_component().bound(self._index, 0)

    @property
    def upper(self):
        return self.parent_component().bound(self._index, 1)

    @property
    def equality(self):
        lo, up = self.lower, self.upper
        return lo is not None and up is not None and lo == up

    def set_value(self, expr):
        raise NotImplementedError("rows built in bulk are not edited one by one; rebuild the model")


class LinearRows(IndexedConstraint):
    """``lower[k] ≤ forms[k] ≤ upper[k]`` for each key k, held as one sparse matrix.

    ``lower`` / ``upper``: one value per key — a number, None (no bound) or a Pyomo expression of
    mutable parameters. ``terms``: (row position, multiplier, form) triples adding
    ``value(multiplier) × form`` to that row (a coefficient that moves with a parameter).
    A form's constant is moved into the bounds.
    """

    def __init__(self, columns: Columns, keys, forms, lower=None, upper=None, terms=()):
        keys = list(keys)
        forms = list(forms)
        n = len(keys)
        if len(forms) != n:
            raise ValueError("one form per key")
        IndexedConstraint.__init__(self, Any)
        self.columns = columns
        self._keys = keys
        self._pos = {k: i for i, k in enumerate(keys)}
        self._forms = forms
        self._indptr, self._cols, self._coefs = csr(forms)
        self._constants = np.fromiter((f.constant for f in forms), dtype=float, count=n)
        self._lower = _bounds(lower, n)
        self._upper = _bounds(upper, n)
        self._terms = list(terms)

    def construct(self, data=None):
        if self._constructed:
            return
        self._constructed = True
        ref = weakref.ref(self)
        self._data = {k: _RowData(i, ref) for i, k in enumerate(self._keys)}

    # ------------------------------------------------------------ Pyomo's mapping interface
    def __getitem__(self, key):
        return self._data[key]

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._pos

    def keys(self, sort=None, ordered=None):
        return iter(self._keys)

    def values(self, sort=None, ordered=None):
        return iter(self._data.values())

    def items(self, sort=None, ordered=None):
        return iter(self._data.items())

    def add(self, index, expr):  # pragma: no cover - rows are made in bulk only
        raise NotImplementedError

    def __delitem__(self, key):  # pragma: no cover
        raise NotImplementedError

    def __setitem__(self, key, val):  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------ the rows
    def form(self, i: int) -> Linear:
        """Row i as a form: its own terms plus the parameter terms at their current values."""
        f = self._forms[i]
        for k, mult, extra in self._terms:
            if k == i:
                f = f + float(value(mult)) * extra
        return Linear(f.cols, f.coefs)

    def bound(self, i: int, side: int):
        b = (self._lower, self._upper)[side][i]
        if b is None:
            return None
        return float(value(b)) - self._constants[i]

    def parameters(self) -> tuple:
        """The current value of every parameter the rows read (to tell when they moved)."""
        vals = [float(value(m)) for _, m, _ in self._terms]
        for side in (self._lower, self._upper):
            vals += [float(value(b)) for b in side if b is not None and not is_constant(b)]
        return tuple(vals)

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, cols, coefs, lower, upper) at the parameters' current values; ±inf for no bound."""
        indptr, cols, coefs = self._indptr, self._cols, self._coefs
        if self._terms:
            rows = [np.repeat(np.arange(len(self._keys)), np.diff(indptr))]
            cols_l, coefs_l = [cols], [coefs]
            for k, mult, extra in self._terms:
                rows.append(np.full(len(extra.cols), k, dtype=np.int64))
                cols_l.append(extra.cols)
                coefs_l.append(extra.coefs * float(value(mult)))
            indptr, cols, coefs = _compress(len(self._keys), np.concatenate(rows), np.concatenate(cols_l),
                                            np.concatenate(coefs_l))
        lo = np.array([-np.inf if b is None else float(value(b)) for b in self._lower]) - self._constants
        up = np.array([np.inf if b is None else float(value(b)) for b in self._upper]) - self._constants
        return indptr, cols, coefs, lo, up

    def active_rows(self) -> np.ndarray:
        """True for each row that is active (the block itself active)."""
        if not self.active:
            return np.zeros(len(self._keys), dtype=bool)
        return np.fromiter((d._active for d in self._data.values()), dtype=bool, count=len(self._keys))


def _bounds(b, n: int) -> list:
    if b is None:
        return [None] * n
    if not isinstance(b, (list, tuple, np.ndarray)):
        return [b] * n
    out = list(b)
    if len(out) != n:
        raise ValueError("one bound per key")
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in out]


class FormObjective(ScalarObjective):
    """An objective given as a :class:`Linear` form (see :meth:`hold`).

    ``form`` is the form while it stands; setting another expression on the objective drops it,
    and the objective is then an ordinary Pyomo objective.
    """

    form: Linear | None = None

    def hold(self, columns: Columns, form: Linear) -> "FormObjective":
        self.columns = columns
        self.form = form
        self._pending = True
        return self

    @property
    def args(self):
        if getattr(self, "_pending", False):
            self._pending = False
            ObjectiveData.set_value(self, self.columns.expr(self.form))
        return self._args_

    def set_value(self, expr):
        self._pending = False
        self.form = None
        return super().set_value(expr)
