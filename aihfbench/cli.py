"""``aihfbench`` command line: run, list, show, figure2.

Bad input answers with one line naming the problem and the fix, exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from .errors import AihfbenchError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "inf (null in JSON)" if value is None else str(value)


def cmd_run(args: argparse.Namespace) -> int:
    import torch
    from rich.table import Table

    from .runner import Cell, run

    torch.set_num_threads(args.threads)
    cell = Cell(task=args.task, algo=args.algo, demos=args.demos, prefs=args.prefs, seed=args.seed,
                profile=args.profile, overrides=tuple(args.overrides))
    record = run(cell, out=args.out, progress=not args.quiet and sys.stderr.isatty())
    if args.json:
        print(json.dumps({k: record[k] for k in ("task", "algo", "demos", "prefs", "seed", "profile", "metrics", "run_dir")},
                         default=_fmt))
        return 0
    table = Table(title=f"{record['algo']} on {record['task']}  ·  demos={record['demos']:,}  prefs={record['prefs']:,}  "
                        f"seed={record['seed']}  profile={record['profile']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in record["metrics"].items():
        mark = " ←" if key == record["primary_metric"] else ""
        table.add_row(key + mark, _fmt(value))
    console = _console()
    console.print(table)
    info = record["fit_info"]
    if "converged" in info:
        console.print(f"fit: {info['iterations']} iterations, converged={info['converged']} (‖∇‖={info['grad_norm']:.2e})")
    console.print(f"wall time {record['wall_time_s']:.2f} s  ·  run directory {record['run_dir']}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from .algos import get_algo, list_algos
    from .budgets import format_budget
    from .registration import list_tasks

    tasks = Table(title="tasks")
    for col in ("id", "family", "aliases", "default budgets (demos / prefs)", "profiles"):
        tasks.add_column(col)
    for s in list_tasks():
        tasks.add_row(s.id, s.family, ", ".join(s.aliases),
                      f"{format_budget(s.default_demos)} {s.demo_unit} / {format_budget(s.default_prefs)} {s.pref_unit}",
                      ", ".join(s.profiles))
    algos = Table(title="algorithms")
    algos.add_column("name")
    algos.add_column("description")
    for name in list_algos():
        try:
            doc = (get_algo(name).__module__ and sys.modules[get_algo(name).__module__].__doc__ or "").strip()
        except AihfbenchError as exc:
            doc = f"(cannot load: {exc})"
        algos.add_row(name, doc.splitlines()[0] if doc else "")
    console = _console()
    console.print(tasks)
    console.print(algos)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .registration import make, spec

    s = spec(args.task)
    task = make(s.id)
    print(json.dumps({"spec": s.to_dict(), "task": task.describe(), "data": task.fingerprint()},
                     indent=2, default=str))
    return 0


def cmd_figure2(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from .figures import figure2_data, plot_figure2
    from .io import atomic_write_text

    out = Path(args.out)
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise AihfbenchError(f"cannot write {str(out)!r}: its folder is missing or not writable; pass --out PATH.png in a writable folder")
    if args.repeats < 1:
        raise AihfbenchError("--repeats must be >= 1")
    torch.set_num_threads(1)
    bar = tqdm(total=args.repeats, desc="Figure 2 repeats", disable=not sys.stderr.isatty())
    frame = figure2_data(repeats=args.repeats, profile=args.profile, on_repeat=lambda r: bar.update())
    bar.close()
    plot_figure2(frame, out)
    means = frame.groupby(["method", "action"])["probability"].mean().unstack("method")
    csv = out.with_suffix(".csv")
    atomic_write_text(csv, means.to_csv())
    covered = frame.attrs["covered"]
    uncovered = means[means.index > covered].sum()
    print(f"wrote {out} and {csv} ({args.repeats} repeats)")
    print("mass on uncovered actions " + ", ".join(f"{m}={v:.4f}" for m, v in uncovered.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aihfbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one cell (task, algo, budgets, seed, profile)")
    run.add_argument("--task", required=True, help="task id or alias, e.g. bandit, Bandit-aihf-v0")
    run.add_argument("--algo", required=True, help="bc, rlhf, dpo, aihf, aihf-dpo, an entry-point name or module:Class")
    run.add_argument("--demos", default=None, help="demonstration budget, e.g. 2k, 1.5k, 500 (default: the task's)")
    run.add_argument("--prefs", default=None, help="preference budget, e.g. 245k, 20k (default: the task's)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--profile", default=None, help="smoke, cpu or paper (default: the task's)")
    run.add_argument("--out", default="runs", help="root folder of run directories (default: runs)")
    run.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest per process here)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. algo.alpha=0.5 task.covered=40")
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list tasks and algorithms")
    lst.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="show a task's spec, splits and data checksums")
    show.add_argument("task")
    show.set_defaults(func=cmd_show)

    fig = sub.add_parser("figure2", help="reproduce the paper's Figure 2 (bandit: SFT, RLHF, AIHF, ground truth)")
    fig.add_argument("--repeats", type=int, default=100, help="independent data draws to average (paper: 100)")
    fig.add_argument("--out", default="figure2.png")
    fig.add_argument("--profile", default="cpu")
    fig.set_defaults(func=cmd_figure2)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AihfbenchError as exc:
        print(f"aihfbench: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("aihfbench: interrupted; no partial run directory was left", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
