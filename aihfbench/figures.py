"""Paper figures reproduced from the benchmark's own algorithms."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .algos import get_algo
from .algos.base import NullLogger
from .config import resolve
from .io import atomic_write_bytes
from .registration import make, spec

FIGURE2_METHODS = ("bc", "rlhf", "aihf")
LABELS = {"bc": "SFT", "rlhf": "RLHF", "aihf": "AIHF", "dpo": "DPO", "aihf-dpo": "AIHF-DPO"}


def figure2_data(repeats: int = 100, methods=FIGURE2_METHODS, profile: str = "cpu",
                 on_repeat: Callable[[int], None] | None = None, **task_kwargs) -> pd.DataFrame:
    """Optimal policies of each method over the actions, one row per (repeat, method, action).

    Repeat r draws fresh data with ``data_seed=r`` (the paper averages 100 random repeats).
    """
    spec_ = spec("Bandit-aihf-v0")
    configs = {m: resolve(get_algo(m), spec_, profile).algo for m in methods}
    rows = []
    for r in range(repeats):
        task = make(spec_.id, **{**task_kwargs, "data_seed": r})
        demos, prefs = task.demos(), task.preferences()
        actions = np.arange(1, task.n_actions + 1)
        for method, config in configs.items():
            probs = get_algo(method)(config).fit(task, demos, prefs, seed=r, log=NullLogger()).policy.probs
            rows += [{"repeat": r, "method": LABELS[method], "action": a, "probability": p} for a, p in zip(actions, probs)]
        rows += [{"repeat": r, "method": "Ground truth", "action": a, "probability": p}
                 for a, p in zip(actions, task.true_policy)]
        if on_repeat:
            on_repeat(r)
    frame = pd.DataFrame(rows)
    frame.attrs["covered"] = task.covered
    return frame


def plot_figure2(frame: pd.DataFrame, out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=150)
    sns.lineplot(data=frame, x="action", y="probability", hue="method", style="method", markers=True, dashes=False,
                 errorbar=("ci", 95), ax=ax, markersize=4)
    covered = frame.attrs.get("covered")
    if covered is not None:
        ax.axvline(covered + 0.5, color="red", linestyle=":", label="demonstration coverage")
    repeats = frame["repeat"].nunique()
    ax.set(xlabel="action", ylabel="policy probability",
           title=f"Bandit (paper Fig. 2): optimal policies, mean of {repeats} repeats")
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(out)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(out, buffer.getvalue())
    return out
