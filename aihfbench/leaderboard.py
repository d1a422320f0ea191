"""Leaderboards generated from result records, never edited by hand.

Per (task, profile): a Markdown table of algorithms × (demos, prefs) budgets with the mean
and a bootstrap 95% CI over seeds of the task's primary metric (plus the interquartile
mean with its bootstrap CI when there are >= 5 seeds), seaborn figures (a heatmap over
the budget grid per method; learning curves), the per-seed records as CSV, and an index.
Profiles are never mixed: each (task, profile) is its own page.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from .budgets import format_budget
from .io import atomic_write_bytes, atomic_write_text
from .runner import RecordError, load_record

IQM_MIN_SEEDS = 5
BOOTSTRAP_RESAMPLES = 10_000


def find_records(paths: Iterable[str | Path]) -> list[Path]:
    """result.json files given directly or found below the given folders (hidden folders skipped)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(p for p in path.rglob("result.json")
                            if not any(part.startswith(".") for part in p.relative_to(path).parts))
    return found


def load_records(paths: Iterable[str | Path], *, official_only: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
    """Verified records (each with its ``_path``) and one line per refused file.
    ``official_only`` also refuses records run with overrides (they are not the profile's cell)."""
    records, problems = [], []
    for path in find_records(paths):
        try:
            record = load_record(path)
        except RecordError as exc:
            problems.append(str(exc))
            continue
        if official_only and record.get("overrides"):
            problems.append(f"{path}: run with overrides {record['overrides']}; leaderboards show the profiles as they are")
            continue
        record["_path"] = str(path)
        records.append(record)
    return records, problems


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        value = r["metrics"].get(r["primary_metric"])
        rows.append({"task": r["task"], "profile": r["profile"], "algo": r["algo"], "demos": r["demos"],
                     "prefs": r["prefs"], "seed": r["seed"], "metric": r["primary_metric"],
                     "higher_is_better": r["higher_is_better"], "value": np.nan if value is None else value,
                     "commit": (r["provenance"].get("git") or {}).get("commit"),
                     "aihfbench": r["provenance"]["versions"].get("aihfbench"),
                     "demos_sha256": r["data"].get("demos_sha256"), "prefs_sha256": r["data"].get("prefs_sha256"),
                     "integrity": r["integrity"], "path": r.get("_path")})
    return pd.DataFrame(rows)


def _ci(values: np.ndarray, statistic) -> tuple[float, float]:
    if len(values) < 2 or np.ptp(values) == 0:
        return (float(statistic(values)),) * 2 if len(values) >= 2 else (np.nan, np.nan)
    res = stats.bootstrap((values,), statistic, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=0.95,
                          method="percentile", random_state=np.random.default_rng(0))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean (the 25% trimmed mean), as rliable's ``aggregate_iqm``."""
    return stats.trim_mean(values, 0.25, axis=axis)


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, profile, algo, demos, prefs): seeds, mean and CI, IQM and CI."""
    rows = []
    keys = ["task", "profile", "algo", "demos", "prefs"]
    for key, group in frame.groupby(keys, sort=True):
        values = group.sort_values("seed")["value"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        row = dict(zip(keys, key), seeds=len(values), metric=group["metric"].iloc[0],
                   higher_is_better=bool(group["higher_is_better"].iloc[0]),
                   mean=float(values.mean()) if len(values) else np.nan)
        row["ci_low"], row["ci_high"] = _ci(values, lambda x, axis=-1: np.mean(x, axis=axis))
        if len(values) >= IQM_MIN_SEEDS:
            row["iqm"] = float(iqm(values))
            row["iqm_low"], row["iqm_high"] = _ci(values, iqm)
        rows.append(row)
    return pd.DataFrame(rows)


def win_rate_frame(records: list[dict[str, Any]], baseline: str = "bc") -> pd.DataFrame:
    """Per seed, the win rate of each method against the ``baseline`` run of the same budget
    and seed, prompt by prompt on the task's held-out prompts (records that store
    ``task_record.eval_true_rewards``, e.g. the text tasks; ties count ½; paper Fig. 5)."""
    keyed = {(r["algo"], r["demos"], r["prefs"], r["seed"]): r
             for r in records if (r.get("task_record") or {}).get("eval_true_rewards")}
    rows = []
    for (algo, demos, prefs, seed), record in sorted(keyed.items(), key=lambda item: item[0]):
        other = keyed.get((baseline, demos, prefs, seed))
        if algo == baseline or other is None:
            continue
        ours = np.asarray(record["task_record"]["eval_true_rewards"], float)
        theirs = np.asarray(other["task_record"]["eval_true_rewards"], float)
        if len(theirs) != len(ours):
            continue
        wins = np.where(ours > theirs, 1.0, np.where(ours == theirs, 0.5, 0.0)).mean()
        rows.append({"task": record["task"], "profile": record["profile"], "algo": algo, "demos": demos,
                     "prefs": prefs, "seed": seed, "metric": f"win_rate_vs_{baseline}", "higher_is_better": True,
                     "value": float(wins)})
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{x:.4g}"


def markdown_table(agg: pd.DataFrame) -> str:
    """Algorithms × budgets for one (task, profile); the best mean per budget in bold."""
    budgets = sorted({(d, p) for d, p in zip(agg["demos"], agg["prefs"])})
    higher = bool(agg["higher_is_better"].iloc[0])
    header = ["algorithm"] + [f"{format_budget(d)} demos / {format_budget(p)} prefs" for d, p in budgets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    best = {}
    for budget in budgets:
        sub = agg[(agg["demos"] == budget[0]) & (agg["prefs"] == budget[1])]
        best[budget] = sub["mean"].max() if higher else sub["mean"].min()
    for algo, group in agg.groupby("algo", sort=True):
        cells = [f"`{algo}`"]
        for budget in budgets:
            hit = group[(group["demos"] == budget[0]) & (group["prefs"] == budget[1])]
            if hit.empty:
                cells.append("")
                continue
            r = hit.iloc[0]
            text = f"{_fmt(r['mean'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
            if np.isfinite(r["mean"]) and r["mean"] == best[budget]:
                text = f"**{_fmt(r['mean'])}** [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
            if "iqm" in r and np.isfinite(r.get("iqm", np.nan)):
                text += f"<br>IQM {_fmt(r['iqm'])} [{_fmt(r['iqm_low'])}, {_fmt(r['iqm_high'])}]"
            text += f"<br>n={int(r['seeds'])}"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def heatmap_figure(agg: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    algos = sorted(agg["algo"].unique())
    metric, higher = agg["metric"].iloc[0], bool(agg["higher_is_better"].iloc[0])
    vmin, vmax = np.nanmin(agg["mean"]), np.nanmax(agg["mean"])
    fig, axes = plt.subplots(1, len(algos), figsize=(2.9 * len(algos) + 0.8, 2.9), squeeze=False)
    for ax, algo in zip(axes[0], algos):
        table = agg[agg["algo"] == algo].pivot(index="demos", columns="prefs", values="mean").sort_index(ascending=False)
        table.index = [format_budget(i) for i in table.index]
        table.columns = [format_budget(c) for c in table.columns]
        sns.heatmap(table, annot=True, fmt=".3g", cmap="viridis" if higher else "viridis_r", vmin=vmin, vmax=vmax,
                    cbar=False, ax=ax, annot_kws={"fontsize": 7})
        ax.set(title=algo, xlabel="prefs", ylabel="demos")
    fig.suptitle(f"{agg['task'].iloc[0]} · {agg['profile'].iloc[0]} · mean {metric} ({'higher' if higher else 'lower'} is better)",
                 fontsize=9)
    fig.tight_layout()
    _save_figure(fig, path)


def curves_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Periodic evaluations (``eval/<metric>``) from each record's curve.jsonl, where present."""
    rows = []
    for r in records:
        curve = Path(r["_path"]).with_name("curve.jsonl")
        if not curve.is_file():
            continue
        key = f"eval/{r['primary_metric']}"
        for line in curve.read_text().splitlines():
            point = json.loads(line)
            if key in point and point[key] is not None:
                rows.append({"algo": r["algo"], "demos": r["demos"], "prefs": r["prefs"], "seed": r["seed"],
                             "step": point["step"], "unit": point.get("unit", "steps"), "value": point[key]})
    return pd.DataFrame(rows)


UNIT_ORDER = ("env_steps", "rl_steps", "gradient_steps", "bc_steps", "sft_steps", "reward_steps", "steps")
UNIT_LABELS = {"env_steps": "environment steps (SAC)", "rl_steps": "RL steps (RLOO)",
               "gradient_steps": "policy gradient steps", "bc_steps": "behaviour-cloning steps (BC / SFT stage)",
               "sft_steps": "SFT steps (end of the SFT stage)", "reward_steps": "reward gradient steps",
               "steps": "training step"}


def curves_figure(curves: pd.DataFrame, metric: str, title: str, path: Path) -> bool:
    """Learning curves at the largest budget with curves, mean ± 95% CI over seeds."""
    if curves.empty:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    demos, prefs = max(zip(curves["demos"], curves["prefs"]))
    sub = curves[(curves["demos"] == demos) & (curves["prefs"] == prefs)]
    units = sorted(sub["unit"].unique(), key=lambda u: (UNIT_ORDER.index(u) if u in UNIT_ORDER else len(UNIT_ORDER), u))
    fig, axes = plt.subplots(1, len(units), figsize=(6 * len(units), 3.6), squeeze=False, sharey=True)
    for ax, unit in zip(axes[0], units):
        sns.lineplot(data=sub[sub["unit"] == unit], x="step", y="value", hue="algo", errorbar=("ci", 95), ax=ax)
        ax.set(xlabel=UNIT_LABELS.get(unit, unit), ylabel=metric)
    fig.suptitle(f"{title} · {format_budget(demos)} demos / {format_budget(prefs)} prefs · mean ± 95% CI over seeds")
    fig.tight_layout()
    _save_figure(fig, path)
    return True


def calibration_figure(records: list[dict[str, Any]], title: str, path: Path) -> bool:
    """Learned reward vs true reward on each method's own held-out samples (paper Fig. 8), at the
    largest budget that has them: a 2-D histogram per method, learned scores standardised per
    run, pooled over seeds, with Spearman's ρ of the pooled points."""
    from scipy.stats import spearmanr

    have = [r for r in records if (r.get("task_record") or {}).get("eval_learned_rewards")]
    if not have:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    demos, prefs = max((r["demos"], r["prefs"]) for r in have)
    algos = sorted({r["algo"] for r in have if (r["demos"], r["prefs"]) == (demos, prefs)})
    fig, axes = plt.subplots(1, len(algos), figsize=(4.2 * len(algos), 3.6), squeeze=False, sharey=True)
    for ax, algo in zip(axes[0], algos):
        true, learned = [], []
        for r in have:
            if (r["algo"], r["demos"], r["prefs"]) == (algo, demos, prefs):
                scores = np.asarray(r["task_record"]["eval_learned_rewards"], float)
                learned.append((scores - scores.mean()) / (scores.std() or 1.0))
                true.append(np.asarray(r["task_record"]["eval_true_rewards"], float))
        true, learned = np.concatenate(true), np.concatenate(learned)
        ax.hist2d(true, learned, bins=20, cmap="viridis")
        ax.set(title=f"{algo}: Spearman ρ = {spearmanr(true, learned).statistic:.2f}", xlabel="true reward",
               ylabel="learned reward (z-score per run)")
    fig.suptitle(f"{title} · {format_budget(demos)} demos / {format_budget(prefs)} prefs · the policy's own samples")
    fig.tight_layout()
    _save_figure(fig, path)
    return True


def render(paths: Iterable[str | Path], out: str | Path = "leaderboards") -> dict[str, Any]:
    """Build every (task, profile) page under ``out`` from the records below ``paths``."""
    records, problems = load_records(paths, official_only=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = records_frame(records)
    pages = []
    if not frame.empty:
        for (task, profile), group in frame.groupby(["task", "profile"], sort=True):
            folder = out / task
            folder.mkdir(parents=True, exist_ok=True)
            agg = aggregate(group)
            stem = profile
            metric, higher = agg["metric"].iloc[0], bool(agg["higher_is_better"].iloc[0])
            heatmap_figure(agg, folder / f"{stem}-heatmap.png")
            group_records = [r for r in records if r["task"] == task and r["profile"] == profile]
            has_curves = curves_figure(curves_frame(group_records), metric, f"{task} · {profile}",
                                       folder / f"{stem}-curves.png")
            atomic_write_text(folder / f"{stem}-records.csv",
                              group.drop(columns=["path"]).sort_values(["algo", "demos", "prefs", "seed"]).to_csv(index=False))
            commits = sorted({c[:10] for c in group["commit"].dropna()})
            page = [f"# {task} — profile `{profile}`", "",
                    "Generated by `aihfbench leaderboard render` from result records; do not edit by hand.", "",
                    f"Metric: **{metric}** ({'higher' if higher else 'lower'} is better). Each cell: mean over seeds "
                    f"[bootstrap 95% CI]; interquartile mean (IQM) [bootstrap 95% CI] where there are ≥ {IQM_MIN_SEEDS} "
                    "seeds; n = seeds. Best mean per budget in bold.", "",
                    markdown_table(agg), ""]
            wins = win_rate_frame(group_records)
            if not wins.empty:
                page += ["Win rate against the `bc` (SFT) run of the same budget and seed, prompt by prompt on the "
                         "held-out prompts (ties count ½; paper Fig. 5):", "", markdown_table(aggregate(wins)), ""]
            page += [f"![score over the budget grid]({stem}-heatmap.png)", ""]
            if calibration_figure(group_records, f"{task} · {profile}", folder / f"{stem}-calibration.png"):
                page += [f"![learned vs true reward on policy samples]({stem}-calibration.png)", ""]
            if has_curves:
                page += [f"![learning curves]({stem}-curves.png)", ""]
            page += [f"Per-seed records: [{stem}-records.csv]({stem}-records.csv) · {len(group)} records · "
                     f"aihfbench {', '.join(sorted(group['aihfbench'].dropna().unique()))} · commits {', '.join(commits) or 'unknown'}", ""]
            atomic_write_text(folder / f"{stem}.md", "\n".join(page))
            pages.append({"task": task, "profile": profile, "page": f"{task}/{stem}.md", "records": len(group),
                          "algos": sorted(group["algo"].unique())})
    index = ["# aihfbench leaderboards", "",
             "Generated from result records by `aihfbench leaderboard render`; see [README.md](README.md) "
             "for how to run, submit and check results.", "",
             "| task | profile | algorithms | records |", "|---|---|---|---|"]
    index += [f"| [{p['task']}]({p['page']}) | `{p['profile']}` | {', '.join(p['algos'])} | {p['records']} |" for p in pages]
    atomic_write_text(out / "index.md", "\n".join(index) + "\n")
    return {"pages": pages, "records": len(records), "refused": problems}
