"""Typed errors: each maps to one exit code of SPEC §3; none reaches a user as a traceback."""

from __future__ import annotations

from typing import Sequence


class FundoptError(Exception):
    exit_code = 1
    status = "error"


class InputError(FundoptError):
    """The workbook (or a command-line value) is wrong; nothing was solved or written."""

    exit_code = 2
    status = "invalid"

    def __init__(self, problems: Sequence, message: str | None = None):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(message or f"{n} problem{'s' if n != 1 else ''} in the input")


class InfeasibleError(FundoptError):
    """No portfolio satisfies every rule; ``diagnosis`` says which rules conflict."""

    exit_code = 3
    status = "infeasible"

    def __init__(self, diagnosis: Sequence[dict], message: str = "no portfolio satisfies every rule"):
        self.diagnosis = list(diagnosis)
        super().__init__(message)


class TimeLimitError(FundoptError):
    """The time limit ran out before any feasible portfolio was found."""

    exit_code = 4
    status = "time_limit"


class SolverError(FundoptError):
    """The solver failed in a way the input does not explain."""

    exit_code = 1
    status = "error"


class OutputError(FundoptError):
    """The output could not be written (folder missing or not writable, disk full)."""

    exit_code = 1
    status = "error"
