"""What ``aihfbench.make`` returns: fixed feedback splits, evaluation, family primitives."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..budgets import check_budget
from ..data import Demonstrations, Preferences
from ..registration import TaskSpec


class Task(ABC):
    """A task with fixed, versioned demonstration and preference splits.

    Subclasses provide the full splits (``_demo_split``/``_pref_split``), ``evaluate``,
    ``primitives`` and ``fingerprint``; budgets are nested prefixes of the splits.
    """

    def __init__(self, spec: TaskSpec):
        self.spec = spec

    # feedback -------------------------------------------------------------
    @abstractmethod
    def _demo_split(self) -> Demonstrations: ...

    @abstractmethod
    def _pref_split(self) -> Preferences: ...

    @property
    def max_demos(self) -> int:
        return len(self._demo_split())

    @property
    def max_prefs(self) -> int:
        return len(self._pref_split())

    def demos(self, n: int | None = None) -> Demonstrations:
        """The first ``n`` demonstrations (all when ``n`` is None)."""
        split = self._demo_split()
        if n is None:
            return split
        check_budget(n, len(split), what="demos", unit=split.unit, task_id=self.spec.id)
        return split.prefix(n)

    def preferences(self, n: int | None = None) -> Preferences:
        """The first ``n`` preferences (all when ``n`` is None)."""
        split = self._pref_split()
        if n is None:
            return split
        check_budget(n, len(split), what="prefs", unit=split.unit, task_id=self.spec.id)
        return split.prefix(n)

    # evaluation and algorithms ------------------------------------------------
    @abstractmethod
    def evaluate(self, policy: Any) -> dict[str, float]:
        """Score a policy with the *true* reward; keys include ``spec.primary_metric``."""

    @abstractmethod
    def primitives(self, seed: int = 0) -> Any:
        """The family's primitives (make/imitate/improve/sample/returns...) for algorithms."""

    @abstractmethod
    def fingerprint(self) -> dict[str, str]:
        """Checksums and recipe version of the data this task serves."""

    def evaluate_reward(self, reward: Any, policy: Any = None) -> dict[str, float]:
        """Agreement of a learned reward model with the true reward (default: none); ``policy``
        is the trained policy, for tasks that score the reward on its samples."""
        return {}

    def recompute_metrics(self, record: dict[str, Any]) -> dict[str, float] | None:
        """Re-evaluate the policy a result record stores (None: this task cannot)."""
        return None

    def record(self, trained: Any, demos: Demonstrations, prefs: Preferences) -> dict[str, Any]:
        """Task-specific facts for ``result.json`` (e.g. learned parameters); default none."""
        return {}

    def describe(self) -> dict[str, Any]:
        """A summary for ``aihfbench show``."""
        return {"max_demos": self.max_demos, "max_prefs": self.max_prefs}
