"""Grid throughput and overhead, measured side by side in one script (run on an idle machine).

    python bench/grid_scaling.py [--cells 60] [--workers 1,2] [--algo aihf]

Cells are identical in cost: one algorithm at the bandit's default budgets, seeds 0..n-1.
Prints, against the baseline of calling ``runner.run`` directly in one process:
- per-cell overhead of the grid machinery (validation, locks, record checks, staging);
- throughput with N local workers and the scaling ratio throughput(N) / throughput(1);
- the machine's own ceiling: N independent direct loops started together as separate
  processes (no grid at all), i.e. the best any executor could do here.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--algo", default="aihf")
    parser.add_argument("--direct-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from aihfbench.grid import GridSpec, run_grid
    from aihfbench.runner import run

    cells = GridSpec(("bandit",), (args.algo,), ("2k",), ("245k",), tuple(range(args.cells))).cells()
    run(cells[0], out=tempfile.mkdtemp())                     # warm imports and caches

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for cell in cells:
            run(cell, out=out)
        direct = time.perf_counter() - start
    if args.direct_only:
        print(direct)
        return

    rows = []
    for n in [int(x) for x in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as out:
            report = run_grid(cells, out, workers=n)
            assert report.count("done") == len(cells), report.failed[:1]
            rows.append((n, report.wall_time_s))

    print(f"machine: {os.cpu_count()} logical CPUs · {len(cells)} cells of {args.algo} on Bandit-aihf-v0 (2k/245k)")
    print(f"{'setup':<28}{'wall s':>9}{'cells/s':>9}{'vs direct':>11}{'scaling':>9}")
    print(f"{'direct runner.run loop':<28}{direct:>9.2f}{len(cells) / direct:>9.2f}{1.0:>11.2f}{'':>9}")
    base = None
    for n, wall in rows:
        throughput = len(cells) / wall
        base = base or throughput
        label = f"grid, {n} worker{'s' if n > 1 else ''}" + (" (in-process)" if n == 1 else " (process pool)")
        print(f"{label:<28}{wall:>9.2f}{throughput:>9.2f}{direct / wall:>11.2f}{throughput / base:>9.2f}")
    for n, _ in rows:
        if n > 1:
            share = max(1, args.cells // n)
            procs = [subprocess.Popen([sys.executable, __file__, "--direct-only", "--cells", str(share), "--algo", args.algo],
                                      stdout=subprocess.PIPE, text=True) for _ in range(n)]
            longest = max(float(p.communicate()[0].split()[-1]) for p in procs)
            ceiling = (share * n / longest) / (len(cells) / direct)
            print(f"{f'ceiling: {n} direct loops in parallel':<28}{longest:>9.2f}{share * n / longest:>9.2f}{'':>11}{ceiling:>9.2f}")
    one = dict(rows).get(1)
    if one is not None:
        print(f"grid machinery overhead per cell: {(one - direct) / len(cells) * 1000:.0f} ms "
              f"(grid 1 worker minus direct loop; target <= 1000 ms)")
    for n, wall in rows:
        if n > 1 and one is not None:
            print(f"scaling with {n} workers: {one / wall:.2f}x (target >= {0.8 * n:.1f}x up to the core count)")


if __name__ == "__main__":
    main()
