"""Control-data speed figures (run on an idle machine; prints figures, asserts nothing).

    python bench/control_data.py [--task halfcheetah] [--build-from DIR]

1. ``make(task) + demos(10k) + preferences(20k)`` with the data present, timed in a fresh
   process after imports (target <= 2 s);
2. sampling 1,000 batches of 256 preference pairs of 50-step segments, observations and
   actions (target <= 5 s);
3. with ``--build-from DIR``: the time to build the task's splits from those checkpoints
   (into a private folder, so the installed data is untouched).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

LOAD = """
import time, aihfbench, torch
torch.set_num_threads(1)
import minari, datasets, gymnasium  # imports are not what is measured
start = time.perf_counter()
task = aihfbench.make({task!r}, build=False)
demos, prefs = task.demos(10_000), task.preferences(20_000)
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="halfcheetah")
    parser.add_argument("--build-from", default=None, help="checkpoint folder to time a full build from")
    args = parser.parse_args()
    import aihfbench

    if args.build_from:
        from aihfbench.control.splits import BuildSpec, build

        s = aihfbench.spec(args.task)
        root = tempfile.mkdtemp()
        os.environ["AIHFBENCH_DATA"], os.environ["MINARI_DATASETS_PATH"] = f"{root}/a", f"{root}/m"
        start = time.perf_counter()
        manifest = build(BuildSpec(env_id=s.kwargs["env_id"], short=s.kwargs["short"]), args.build_from)
        print(f"build {s.id} from {args.build_from}: {time.perf_counter() - start:.1f} s "
              f"({manifest['build']['demo_transitions']:,} demo + {manifest['build']['pool_transitions']:,} pool "
              f"transitions, {manifest['build']['pairs']:,} pairs)")

    loads = [float(subprocess.run([sys.executable, "-c", LOAD.format(task=args.task)], capture_output=True, text=True,
                                  check=True, env=os.environ).stdout.split()[-1]) for _ in range(3)]
    print(f"make + demos(10k) + preferences(20k), fresh process after imports: "
          f"{min(loads):.2f} s best / {sum(loads) / 3:.2f} s mean of 3 (target <= 2 s)")

    task = aihfbench.make(args.task, build=False)
    prefs = task.preferences(20_000)
    batches = task.preference_batches(prefs, 256, seed=0)
    next(batches)
    start = time.perf_counter()
    for _ in range(1000):
        batch = next(batches)
    elapsed = time.perf_counter() - start
    shape = tuple(batch["obs_w"].shape)
    print(f"1,000 batches of 256 segment pairs {shape}: {elapsed:.2f} s (target <= 5 s)")


if __name__ == "__main__":
    main()
