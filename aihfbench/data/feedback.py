"""Demonstrations and preferences as read-only, columnar views over a fixed split.

A split is a mapping ``column -> numpy array`` whose first axis is the split's fixed
order. A budget of ``n`` is the first ``n`` rows, so smaller budgets are nested inside
larger ones (the 1k split is the first 1k of the 10k split).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterator, Mapping

import numpy as np


def fingerprint_arrays(columns: Mapping[str, np.ndarray]) -> str:
    """sha256 over column names, dtypes, shapes and bytes, in sorted column order."""
    digest = hashlib.sha256()
    for name in sorted(columns):
        array = np.ascontiguousarray(columns[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        if array.dtype == object:       # text: hash the contents (object arrays' bytes are pointers)
            digest.update(json.dumps([str(v) for v in array.ravel()], ensure_ascii=False).encode())
        else:
            digest.update(array.tobytes())
    return digest.hexdigest()


class FeedbackView:
    """The first ``n`` rows of a fixed split.

    ``unit`` says what one row counts as (an action draw, a transition, a labelled
    segment pair...), the same unit the ``--demos``/``--prefs`` budgets count in.
    """

    kind = "feedback"

    def __init__(self, columns: Mapping[str, np.ndarray], n: int | None = None, *, unit: str):
        sizes = {len(v) for v in columns.values()}
        if len(sizes) != 1:
            raise ValueError(f"columns of a {self.kind} split differ in length: {sizes}")
        total = sizes.pop()
        n = total if n is None else n
        if not 0 <= n <= total:
            raise ValueError(f"view of {n} rows over a split of {total}")
        self._columns = {}
        for name, array in columns.items():
            view = np.asarray(array)[:n]
            view.flags.writeable = False
            self._columns[name] = view
        self.unit = unit

    def __len__(self) -> int:
        return len(next(iter(self._columns.values())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self):,} {self.unit}; columns={list(self._columns)})"

    @property
    def columns(self) -> Mapping[str, np.ndarray]:
        """Read-only arrays of this view (no copy)."""
        return dict(self._columns)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return {name: array[index] for name, array in self._columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]

    def prefix(self, n: int) -> "FeedbackView":
        """The first ``n`` rows: the nested smaller budget."""
        return type(self)(self._columns, n, unit=self.unit)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, seed: int | None = None, drop_last: bool = False
    ) -> Iterator[dict[str, np.ndarray]]:
        """One pass over the view in batches of columns."""
        order = np.random.default_rng(seed).permutation(len(self)) if shuffle else np.arange(len(self))
        stop = len(self) - (len(self) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            yield {name: array[idx] for name, array in self._columns.items()}

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A batch drawn uniformly with replacement (for stochastic gradient steps)."""
        idx = rng.integers(0, len(self), size=batch_size)
        return {name: array[idx] for name, array in self._columns.items()}

    def fingerprint(self) -> str:
        return fingerprint_arrays(self._columns)


class Demonstrations(FeedbackView):
    """High-quality behaviour to imitate; one row per ``unit`` (e.g. an action, a transition)."""

    kind = "demonstrations"


class Preferences(FeedbackView):
    """Labelled comparisons: each row holds a preferred (``chosen``) and a dispreferred
    (``rejected``) item, e.g. two actions, two segments or two responses."""

    kind = "preferences"
