"""aihfbench: align policies with human feedback from demonstrations *and* preferences.

    >>> import aihfbench
    >>> task = aihfbench.make("Bandit-aihf-v0")
    >>> len(task.demos(1000)), len(task.preferences(10_000))
    (1000, 10000)
"""
from . import tasks as _tasks  # noqa: F401  (registers the built-in tasks)
from .budgets import format_budget, parse_budget
from .registration import TaskSpec, list_tasks, make, register, spec

__version__ = "0.1.0"
__all__ = ["make", "spec", "register", "list_tasks", "TaskSpec", "parse_budget", "format_budget", "__version__"]
