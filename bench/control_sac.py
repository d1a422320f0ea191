"""Control-method speed figures, side by side in one script (idle machine; prints, asserts nothing).

    python bench/control_sac.py [--task hopper] [--steps 3000] [--repeats 2] [--aihf-iterations 4]

1. Policy-alignment throughput: environment steps per second of our SAC path (sbx SAC with the
   relabelling replay buffer, rewards from a 64x64 reward MLP) against plain Stable-Baselines3
   SAC (PyTorch, the environment's reward), same env, 64x64 actor and critics, batch 256,
   train_freq 1, one gradient step per env step; timed after ``learning_starts`` (1,000 random
   steps, untimed) and after JIT compilation. Runs alternate; the medians are compared
   (target: ours >= 2.5x SB3).
2. AIHF's overhead at the cpu profile's per-iteration shape (5k SAC steps, 100 reward steps on
   64 demo segments + 64 fresh policy segments + 64 preference pairs): the share of fit time
   that is not SAC itself, i.e. reward alignment + policy-segment sampling + relabelling
   (target <= 15%). ``--aihf-iterations`` of the profile's 20 are run (the share is per iteration).
3. Peak resident memory of this process (ru_maxrss) after both.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time

LEARNING_STARTS = 1_000


def sb3_steps_per_second(env_id: str, steps: int, seed: int) -> float:
    import gymnasium as gym
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", gym.make(env_id), learning_rate=3e-4, batch_size=256, learning_starts=LEARNING_STARTS,
                train_freq=1, gradient_steps=1, policy_kwargs={"net_arch": [64, 64]}, seed=seed, verbose=0, device="cpu")
    model.learn(LEARNING_STARTS + 200, progress_bar=False)             # warm-up: random steps + first updates
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False, progress_bar=False)
    return steps / (time.perf_counter() - start)


def ours_steps_per_second(task, steps: int, seed: int) -> float:
    fam = task.primitives(seed)
    reward = fam.make_reward()
    agent = fam.improve(fam.initial_policy(), reward, prior=None, steps=LEARNING_STARTS + 200)   # warm-up + JIT
    start = time.perf_counter()
    fam.improve(agent, reward, prior=None, steps=steps)
    return steps / (time.perf_counter() - start)


def aihf_overhead(task, iterations: int) -> dict[str, float]:
    from aihfbench.algos import get_algo
    from aihfbench.config import resolve
    from aihfbench.algos.base import NullLogger

    algo_cls = get_algo("aihf")
    config = resolve(algo_cls, task.spec, "cpu", (f"algo.iterations={iterations}",)).algo
    start = time.perf_counter()
    trained = algo_cls(config).fit(task, task.demos(10_000), task.preferences(20_000), seed=0, log=NullLogger())
    total = time.perf_counter() - start
    info = trained.info
    sac_only = info["policy_alignment_s"] - info["relabel_s"]
    return {"fit_s": total, "sac_s": sac_only, "relabel_s": info["relabel_s"], "sampling_s": info["sampling_s"],
            "reward_alignment_s": total - info["policy_alignment_s"] - info["sampling_s"],
            "overhead_share": (total - sac_only) / total, "env_steps": info["sac_env_steps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="hopper")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--aihf-iterations", type=int, default=4)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    import aihfbench

    task = aihfbench.make(args.task, build=False)
    env_id = task.env_id
    ours, sb3 = [], []
    for r in range(args.repeats):
        sb3.append(sb3_steps_per_second(env_id, args.steps, seed=r))
        ours.append(ours_steps_per_second(task, args.steps, seed=r))
        print(f"repeat {r}: SB3 SAC {sb3[-1]:7.1f} steps/s   ours (sbx SAC + relabelling) {ours[-1]:7.1f} steps/s")
    a, b = statistics.median(ours), statistics.median(sb3)
    print(f"policy alignment on {env_id}, 64x64, batch 256: ours {a:.1f} / SB3 {b:.1f} env steps/s = {a / b:.2f}x "
          f"(target >= 2.5x)")

    o = aihf_overhead(task, args.aihf_iterations)
    print(f"AIHF cpu profile, {args.aihf_iterations} iterations ({o['env_steps']:.0f} SAC steps): fit {o['fit_s']:.1f} s = "
          f"SAC {o['sac_s']:.1f} s + relabelling {o['relabel_s']:.2f} s + policy sampling {o['sampling_s']:.2f} s "
          f"+ reward alignment {o['reward_alignment_s']:.2f} s -> overhead {100 * o['overhead_share']:.1f}% (target <= 15%)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MiB (target for a cpu-profile run <= 2048 MiB)")


if __name__ == "__main__":
    main()
