"""The batch journal: one JSON line per finished scenario, so that ``--resume`` runs only what is missing.

Each record is appended, flushed and fsynced only after the scenario's workbook has been
renamed into place, so a record always names a complete workbook. A record is keyed by the
scenario's name and a hash of what defines it (the input file's SHA-256, the scenario's
values and the solver options): a workbook changed since does not reuse stale results.

A kill -9 can cut the last line short; :func:`Journal.load` drops such a line (and rewrites
the file without it, atomically) so that the next append starts on a line of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

JOURNAL_NAME = "journal.jsonl"
FORMAT = 1


def scenario_hash(input_sha256: str, label: str, values: Any, options: dict) -> str:
    """What defines one scenario's result, hashed."""
    text = json.dumps({"format": FORMAT, "input": input_sha256, "scenario": label,
                       "values": values, "options": options}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Journal:
    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / JOURNAL_NAME

    def load(self) -> dict[tuple[str, str], dict]:
        """(scenario, hash) -> its latest complete record; a torn last line is dropped."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        records: dict[tuple[str, str], dict] = {}
        good: list[bytes] = []
        torn = False
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key = (rec["scenario"], rec["hash"])
            except (ValueError, KeyError, TypeError):
                torn = True  # a line cut short by a kill: not a finished scenario
                continue
            records[key] = rec
            good.append(line)
        if torn or (raw and not raw.endswith(b"\n")):
            self._rewrite(b"".join(g + b"\n" for g in good))
        return records

    def start_afresh(self) -> None:
        self._rewrite(b"")

    def append(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False, default=_plain) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def _rewrite(self, content: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _plain(v: Any) -> Any:
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)
