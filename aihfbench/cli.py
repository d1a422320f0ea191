"""``aihfbench`` command line: run, grid, submit, leaderboard, list, show, figure2.

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

    from .io import finite_json
    from .runner import Cell, run

    if args.threads < 1:
        raise AihfbenchError(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    cell = Cell(task=args.task, algo=args.algo, demos=args.demos, prefs=args.prefs, seed=args.seed,
                profile=args.profile, overrides=tuple(args.overrides))
    record = run(cell, out=args.out, progress=not args.quiet and sys.stderr.isatty())
    if args.json:
        print(json.dumps(finite_json({k: record[k] for k in ("task", "algo", "demos", "prefs", "seed", "profile",
                                                               "metrics", "run_dir")}), allow_nan=False))
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
    shown: dict = {"spec": s.to_dict()}
    try:
        task = make(s.id, **({"build": False} if s.family in ("control", "text") else {}))   # show never builds data
        shown.update(task=task.describe(), data=task.fingerprint())
    except AihfbenchError as exc:
        shown["data"] = f"unavailable: {exc}"
    print(json.dumps(shown, indent=2, default=str))
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


class GridProgress:
    """Live cells done / running / failed display; failures are printed as they happen."""

    def __init__(self, total: int, workers: int, title: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.total, self.workers, self.counts = total, workers, {"done": 0, "skipped": 0, "failed": 0}
        self.console = _console()
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=self.console,
                                 disable=not sys.stdout.isatty())
        self.task = self.progress.add_task(title, total=total, status=self._status())

    def _status(self) -> str:
        finished = sum(self.counts.values())
        running = min(self.workers, self.total - finished)
        c = self.counts
        return f"done {c['done']} · skipped {c['skipped']} · failed {c['failed']} · running {running}"

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def __call__(self, result: dict) -> None:
        self.counts[result["status"]] += 1
        cell = result["cell"]
        where = f"{cell['task']} {cell['algo']} demos={cell['demos']} prefs={cell['prefs']} seed={cell['seed']}"
        if result["status"] == "failed":
            self.progress.console.print(f"[red]failed[/red] {where}: {result['error']}")
        elif result.get("rerun_reason"):
            self.progress.console.print(f"[yellow]re-ran[/yellow] {where}: {result['rerun_reason']}")
        self.progress.update(self.task, advance=1, status=self._status())


def _run_grid(cells, out, args, title) -> int:
    from .grid import run_grid

    with GridProgress(len(cells), args.workers, title) as progress:
        report = run_grid(cells, out, workers=args.workers, executor=args.executor, address=args.address,
                          on_result=progress)
    console = _console()
    console.print(f"{len(cells)} cells: {report.count('done')} run, {report.count('skipped')} already finished, "
                  f"{report.count('failed')} failed · {report.wall_time_s:.1f} s · records under {out}")
    for failure in report.failed:
        console.print(f"  failed {failure['cell']}: {failure['error']}")
    return 1 if report.failed else 0


def cmd_grid(args: argparse.Namespace) -> int:
    from .grid import grid_from_args

    grid = grid_from_args(args.tasks, args.algos, args.demos, args.prefs, args.seeds, args.profile, args.overrides)
    return _run_grid(grid.cells(), args.out, args, "grid")


def cmd_submit(args: argparse.Namespace) -> int:
    from .algos import get_algo
    from .submission import official_cells, submit

    cls = get_algo(args.algo)
    cells = official_cells(args.algo, args.task, args.profile)
    with GridProgress(len(cells), args.workers, f"submit {cls.name}") as progress:
        result = submit(args.algo, args.task, profile=args.profile, out=args.out, workers=args.workers,
                        executor=args.executor, on_result=progress)
    print(f"wrote {result['records']} records and {result['folder']}/submission.json; "
          f"check with: aihfbench leaderboard check {result['folder']}")
    return 0


def cmd_leaderboard_render(args: argparse.Namespace) -> int:
    from .leaderboard import render

    missing = [p for p in args.runs if not Path(p).exists()]
    if missing:
        raise AihfbenchError(f"no such folder or file: {', '.join(missing)}; pass --runs with folders of result records")
    summary = render(args.runs, args.out)
    for problem in summary["refused"]:
        print(f"skipped {problem}", file=sys.stderr)
    for page in summary["pages"]:
        print(f"{args.out}/{page['page']}: {page['records']} records, {', '.join(page['algos'])}")
    print(f"{args.out}/index.md: {len(summary['pages'])} page(s) from {summary['records']} records")
    return 0


def cmd_leaderboard_check(args: argparse.Namespace) -> int:
    from .submission import check

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise AihfbenchError(f"no such folder or file: {', '.join(missing)}")
    accepted, problems = check(args.paths)
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    if problems:
        return EXIT_BAD_INPUT
    print(f"ok: {accepted} records pass every check")
    return 0


def cmd_experts_train(args: argparse.Namespace) -> int:
    try:
        from .control.experts import ExpertConfig, resolve_env, train
    except ImportError as exc:
        raise AihfbenchError(f"experts need the control extra ({exc.name} is missing): pip install 'aihfbench[control]'") from None
    env_id = resolve_env(args.env)
    try:
        net_arch = tuple(int(x) for x in args.net_arch.split(","))
    except ValueError:
        raise AihfbenchError(f"--net-arch {args.net_arch!r} must be comma-separated widths, e.g. 64,64") from None
    config = ExpertConfig(env_id=env_id, algo=args.algo, net_arch=net_arch, total_steps=args.steps,
                          checkpoint_every=args.checkpoint_every, eval_episodes=args.eval_episodes, seed=args.seed,
                          learning_starts=args.learning_starts)

    def report(meta):
        print(f"{env_id} step {meta['steps']:>9,}: return {meta['mean_return']:9.1f} ± {meta['std_return']:7.1f} "
              f"({meta['steps_per_second']:.0f} steps/s)", flush=True)

    folder = train(config, args.out, on_checkpoint=report)
    print(f"done: checkpoints in {folder}/checkpoints")
    return 0


def _control_spec(name: str):
    from .registration import spec

    s = spec(name)
    if s.family != "control":
        raise AihfbenchError(f"{s.id} is a {s.family} task; `aihfbench data` builds the control tasks' splits "
                             "(hopper, halfcheetah, walker2d)")
    try:
        from .control.splits import BuildSpec
    except ImportError as exc:
        raise AihfbenchError(f"control data needs the control extra ({exc.name} is missing): pip install 'aihfbench[control]'") from None
    return s, BuildSpec(env_id=s.kwargs["env_id"], short=s.kwargs["short"])


def _text_build(args: argparse.Namespace, s) -> int:
    """Build a text task's splits for a profile: ``offline`` (local data and components), or
    ``cpu``/``paper`` (the profile's pinned hub components, ``task.hub``, and ``task.split``)."""
    import time

    import torch

    from .config import load_profile

    torch.set_num_threads(1)          # one thread per process is fastest here (see README)
    section = load_profile(s, args.profile or s.default_profile)["task"]
    data = section.get("data", "offline")
    settings = dict(section.get("split") or {}, **({"hub": section["hub"]} if data != "offline" else {}))
    progress = lambda stage, done, total: print(f"{stage}: {done}/{total}", flush=True)   # noqa: E731
    start = time.perf_counter()
    if s.id == "HH-aihf-v0":
        from .text.hh import HHBuild, build

        if data == "offline" and not args.hh_path:
            raise AihfbenchError("HH needs its data: pass --hh-path FILE, an HH .jsonl[.gz] file or folder from "
                                 "github.com/anthropics/hh-rlhf (e.g. helpful-base/train.jsonl.gz)")
        if args.hh_path and not Path(args.hh_path).exists():
            raise AihfbenchError(f"--hh-path {args.hh_path} does not exist: pass an HH .jsonl[.gz] file or folder")
        manifest = build(HHBuild(hh_path=args.hh_path, **settings), profile=data, force=args.force, progress=progress)
        print(f"{s.id} ({data}): built in {time.perf_counter() - start:.1f} s; pairs {manifest['pairs']}; judge "
              f"agrees with held-out human labels on {manifest['judge_heldout_accuracy']:.3f} "
              f"({len(manifest['files'])} files pinned in the manifest)")
        return 0
    from .text.imdb import IMDbBuild, build

    if args.imdb_path and not Path(args.imdb_path).exists():
        raise AihfbenchError(f"--imdb-path {args.imdb_path} does not exist: pass an aclImdb folder or tarball")
    manifest = build(IMDbBuild(imdb_path=args.imdb_path, **settings), profile=data, force=args.force,
                     progress=progress)
    print(f"{s.id} ({data}): built in {time.perf_counter() - start:.1f} s; checkpoint grades {manifest['grades']} "
          f"({len(manifest['files'])} files pinned in the manifest)")
    return 0


def cmd_data_build(args: argparse.Namespace) -> int:
    import time

    from tqdm.auto import tqdm

    from .registration import spec

    if spec(args.task).family == "text":
        return _text_build(args, spec(args.task))
    from .control.splits import build
    from .tasks.control import shipped_checkpoints

    s, build_spec = _control_spec(args.task)
    folder = Path(args.checkpoints) if args.checkpoints else shipped_checkpoints(build_spec.env_id)
    bars: dict = {}

    def progress(stage, done, total):
        bar = bars.setdefault(stage, tqdm(total=total, desc=stage, unit="step", disable=not sys.stderr.isatty()))
        bar.n = min(done, total)
        bar.refresh()

    start = time.perf_counter()
    manifest = build(build_spec, folder, force=args.force, progress=progress)
    for bar in bars.values():
        bar.close()
    print(f"{s.id}: built from {sum(len(v) for v in manifest['checkpoints'].values())} checkpoints in "
          f"{time.perf_counter() - start:.1f} s ({len(manifest['files'])} files pinned in the manifest)")
    return 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    from .registration import spec

    if spec(args.task).family == "text":
        from .text.store import verify as verify_text

        from .config import load_profile

        s = spec(args.task)
        dataset = s.name.lower()
        data = load_profile(s, args.profile or s.default_profile)["task"].get("data", "offline")
        manifest = verify_text(dataset, data, build_hint=f"aihfbench data build {dataset} --profile {data}")
        print(f"{s.id} ({data}): {len(manifest['files'])} files match the manifest ({manifest['recipe']})")
        return 0
    from .control.splits import verify

    s, build_spec = _control_spec(args.task)
    manifest = verify(build_spec)
    print(f"{s.id}: {len(manifest['files'])} files match the manifest ({manifest['recipe']})")
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from rich.table import Table

    from .registration import make, spec

    def quality_table(task, title: str, demo_unit: str, digits: str) -> None:
        table = Table(title=title)
        for col in ("split", "mean ± std", "size"):
            table.add_column(col)
        sizes = [f"{task.max_demos:,} {demo_unit}", f"{task.max_prefs:,} pairs", f"{task.max_prefs:,} pairs"]
        for (name, (mean, std)), size in zip(task.quality().items(), sizes):
            table.add_row(name, f"{mean:{digits}} ± {std:{digits}}", size)
        _console().print(table)

    if spec(args.task).family == "text":
        from .config import load_profile

        section = load_profile(spec(args.task), args.profile or spec(args.task).default_profile)["task"]
        task = make(args.task, build=False, **{k: section[k] for k in ("data", "hub") if k in section})
        quality_table(task, f"{task.spec.id} ({task.data}): quality of the splits (true reward; paper Table 3)",
                      "demonstrations", ".3f")
        if "grades" in task.manifest:
            means = task.manifest["checkpoint_mean_reward"]
            for grade, steps in task.manifest["grades"].items():
                print(f"{grade:>6} checkpoints: " + ", ".join(f"{means[str(k)]:.3f}@RL step {k}" for k in steps))
        if "judge_heldout_accuracy" in task.manifest:
            m = task.manifest
            print(f"gold judge: agrees with the human label on {m['judge_heldout_accuracy']:.3f} of held-out pairs; "
                  f"preference labels from the {m['build']['pref_labels']}; pairs {m['pairs']}")
        return 0
    s, _ = _control_spec(args.task)
    task = make(s.id, build=False)
    quality_table(task, f"{s.id}: quality of the splits (true reward; paper Table 1)", "transitions", ",.1f")
    for grade, members in task.manifest["checkpoints"].items():
        returns = ", ".join(f"{c['mean_return']:.0f}@{c['steps'] // 1000}k" for c in members)
        print(f"{grade:>6} checkpoints: {returns}")
    return 0


def cmd_data_publish(args: argparse.Namespace) -> int:
    """Thin: the Hub's own upload functions do the work (cannot be exercised offline)."""
    from .control.splits import minari_root, task_folder, verify

    s, build_spec = _control_spec(args.task)
    manifest = verify(build_spec)
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise AihfbenchError("publishing needs huggingface_hub: pip install huggingface_hub") from None
    api = HfApi()
    api.create_repo(args.repo, repo_type="dataset", exist_ok=True)
    api.upload_folder(repo_id=args.repo, repo_type="dataset", folder_path=str(task_folder(build_spec)),
                      path_in_repo=f"{build_spec.short}/pairs")
    for dataset_id in manifest["datasets"].values():
        api.upload_folder(repo_id=args.repo, repo_type="dataset", folder_path=str(minari_root() / dataset_id),
                          path_in_repo=f"minari/{dataset_id}")
    print(f"published {s.id} to https://huggingface.co/datasets/{args.repo}")
    return 0


def cmd_experts_ship(args: argparse.Namespace) -> int:
    from .control.experts import resolve_env, ship
    from .tasks.control import shipped_checkpoints

    env_id = resolve_env(args.env)
    source = Path(args.source or f"experts/{env_id}/checkpoints")
    shipped = ship(env_id, source, shipped_checkpoints(env_id))
    for c in shipped:
        print(f"{c['grade']:>6}  step {c['steps']:>9,}  return {c['mean_return']:9.1f}")
    print(f"shipped {len(shipped)} checkpoints into {shipped_checkpoints(env_id)}")
    return 0


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, help="parallel cells (one torch thread each)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local process pool, or Ray tasks (pip install 'aihfbench[ray]')")
    parser.add_argument("--address", default=None, help="Ray cluster address (e.g. auto); default: a local Ray")


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

    grid = sub.add_parser("grid", help="run a grid of cells; finished cells are skipped, interrupted ones re-run")
    grid.add_argument("--tasks", required=True, help="comma-separated task ids or aliases, e.g. bandit,hopper")
    grid.add_argument("--algos", required=True, help="comma-separated, e.g. bc,rlhf,dpo,aihf,aihf-dpo")
    grid.add_argument("--demos", required=True, help="comma-separated budgets, e.g. 100,500,2k")
    grid.add_argument("--prefs", required=True, help="comma-separated budgets, e.g. 1k,10k,245k")
    grid.add_argument("--seeds", default="3", help="a count (3 = seeds 0,1,2) or a list (0,4,7)")
    grid.add_argument("--profile", default=None)
    grid.add_argument("--out", default="runs")
    _executor_options(grid)
    grid.add_argument("overrides", nargs="*", metavar="key=value")
    grid.set_defaults(func=cmd_grid)

    submit = sub.add_parser("submit", help="run a task's official grid for an algorithm and write a submission")
    submit.add_argument("--algo", required=True, help="module:Class, an entry-point name or a built-in name")
    submit.add_argument("--task", default="bandit")
    submit.add_argument("--profile", default=None)
    submit.add_argument("--out", default="submissions")
    _executor_options(submit)
    submit.set_defaults(func=cmd_submit)

    board = sub.add_parser("leaderboard", help="render leaderboards from records, or check records")
    board_sub = board.add_subparsers(dest="action", required=True, parser_class=_Parser)
    render = board_sub.add_parser("render", help="build leaderboards/ from result records")
    render.add_argument("--runs", nargs="+", default=["runs"], help="folders (or files) of result records")
    render.add_argument("--out", default="leaderboards")
    render.set_defaults(func=cmd_leaderboard_render)
    check = board_sub.add_parser("check", help="validate result records or submission folders")
    check.add_argument("paths", nargs="+")
    check.set_defaults(func=cmd_leaderboard_check)

    experts = sub.add_parser("experts", help="train SAC experts for the control tasks")
    experts_sub = experts.add_subparsers(dest="action", required=True, parser_class=_Parser)
    train = experts_sub.add_parser("train", help="train (or resume) one expert; safe to kill and restart")
    train.add_argument("env", help="Hopper-v5, HalfCheetah-v5, Walker2d-v5 (or hopper, halfcheetah, walker2d)")
    train.add_argument("--steps", type=int, default=1_000_000)
    train.add_argument("--checkpoint-every", type=int, default=20_000)
    train.add_argument("--eval-episodes", type=int, default=10)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--algo", choices=("sac", "crossq"), default="sac",
                       help="sac, or crossq (SAC with batch renormalisation; far fewer steps on Walker2d)")
    train.add_argument("--net-arch", default="64,64", help="hidden widths of actor and critic")
    train.add_argument("--learning-starts", type=int, default=10_000)
    train.add_argument("--out", default="experts")
    train.set_defaults(func=cmd_experts_train)
    ship = experts_sub.add_parser("ship", help="copy the graded checkpoints into the package for `data build`")
    ship.add_argument("env")
    ship.add_argument("--source", default=None, help="checkpoint folder (default: experts/<env>/checkpoints)")
    ship.set_defaults(func=cmd_experts_ship)

    data = sub.add_parser("data", help="build, verify, describe or publish a task's splits")
    data_sub = data.add_subparsers(dest="action", required=True, parser_class=_Parser)
    build = data_sub.add_parser("build", help="roll out expert checkpoints into Minari datasets and a pair table")
    build.add_argument("task")
    build.add_argument("--checkpoints", default=None, help="checkpoint folder (default: the ones shipped in the package)")
    build.add_argument("--force", action="store_true", help="rebuild even if built")
    build.add_argument("--imdb-path", default=None, help="IMDb: a local aclImdb folder or tarball (real reviews "
                       "instead of the shipped templates)")
    build.add_argument("--profile", default=None, help="text tasks: offline (default), or cpu / paper to build "
                       "from the profile's pinned hub models and datasets")
    build.add_argument("--hh-path", default=None, help="HH: a local .jsonl[.gz] file or folder in the hh-rlhf "
                       "format (github.com/anthropics/hh-rlhf)")
    build.set_defaults(func=cmd_data_build)
    for action, func, text in (("verify", cmd_data_verify, "check every file against the manifest's sha256"),
                               ("info", cmd_data_info, "quality table of the splits (paper Table 1)")):
        p = data_sub.add_parser(action, help=text)
        p.add_argument("task")
        p.add_argument("--profile", default=None, help="text tasks: whose split (offline, cpu or paper)")
        p.set_defaults(func=func)
    publish = data_sub.add_parser("publish", help="push the splits to the Hugging Face Hub (needs network and a token)")
    publish.add_argument("task")
    publish.add_argument("--repo", required=True, help="ORG/NAME of the Hub dataset repository")
    publish.set_defaults(func=cmd_data_publish)

    fig = sub.add_parser("figure2", help="reproduce the paper's Figure 2 (bandit: SFT, RLHF, AIHF, ground truth)")
    fig.add_argument("--repeats", type=int, default=100, help="independent data draws to average (paper: 100)")
    fig.add_argument("--out", default="figure2.png")
    fig.add_argument("--profile", default="cpu")
    fig.set_defaults(func=cmd_figure2)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if os.getcwd() not in sys.path:      # --algo my_module:MyAlgo resolves from here, as `python -m` would
        sys.path.insert(0, os.getcwd())
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
