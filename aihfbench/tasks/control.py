"""``Hopper-aihf-v0``, ``HalfCheetah-aihf-v0``, ``Walker2d-aihf-v0``: MuJoCo tasks with fixed,
checksummed splits (see ``aihfbench.control.splits`` for the recipe).

Units: ``--demos`` counts transitions, ``--prefs`` counts labelled pairs of 50-step segments.
Scores: return, and the D4RL-normalised score 100·(R − R_random)/(R_expert − R_random).
Optional simulated-teacher noise (B-Pref style) relabels the pairs deterministically:
``teacher="bt"`` (Bradley–Terry-rational, P(keep) = σ((R_w − R_l)/temperature)) or
``teacher="mistake"`` (each label flipped with probability ``epsilon``).
"""
from __future__ import annotations

import json
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..data import Demonstrations, Preferences, fingerprint_arrays
from ..errors import ConfigError
from .base import Task

TEACHERS = ("perfect", "bt", "mistake")
DEMO_UNIT = "transitions"
PREF_UNIT = "labelled segment pairs (50 steps)"


def shipped_checkpoints(env_id: str) -> Path:
    return Path(str(resources.files("aihfbench") / "control" / "checkpoints" / env_id))


class ControlTask(Task):
    def __init__(self, spec, env_id: str, short: str, teacher: str = "perfect", temperature: float = 1.0,
                 epsilon: float = 0.0, noise_seed: int = 0, checkpoints: str | None = None, build: bool = True,
                 sac: dict[str, Any] | None = None, reward_hidden: Any = (64, 64), eval_episodes: int = 10,
                 heldout_pairs: int = 5_000):
        super().__init__(spec)
        if teacher not in TEACHERS:
            raise ConfigError(f"teacher must be one of {', '.join(TEACHERS)}, got {teacher!r}")
        numbers = (temperature, epsilon, noise_seed)
        if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in numbers) \
                or not temperature > 0 or not 0 <= epsilon <= 0.5:
            raise ConfigError("teacher noise needs numbers: temperature > 0 and 0 <= epsilon <= 0.5")
        if isinstance(eval_episodes, bool) or not isinstance(eval_episodes, int) or eval_episodes < 1:
            raise ConfigError(f"eval_episodes must be an integer >= 1, got {eval_episodes!r}")
        if isinstance(heldout_pairs, bool) or not isinstance(heldout_pairs, int) or heldout_pairs < 0:
            raise ConfigError(f"heldout_pairs must be an integer >= 0, got {heldout_pairs!r}")
        self.eval_episodes, self.heldout_pairs = eval_episodes, heldout_pairs
        try:
            from ..control.splits import BuildSpec, build as build_splits, task_folder, verify
            from ..families.control import ControlSettings, SACSettings
        except ImportError as exc:
            raise ConfigError(f"{spec.id} needs the control extra ({exc.name} is missing): "
                              "pip install 'aihfbench[control]'") from None

        self.env_id, self.short = env_id, short
        try:
            hidden = tuple(int(x) for x in reward_hidden)
            self.settings = ControlSettings(sac=SACSettings.from_dict(sac), reward_hidden=hidden)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bad control settings (task.sac / task.reward_hidden): {exc}") from None
        self.teacher = {"teacher": teacher, "temperature": float(temperature), "epsilon": float(epsilon),
                        "noise_seed": int(noise_seed)}
        self.build_spec = BuildSpec(env_id=env_id, short=short)
        if not (task_folder(self.build_spec) / "manifest.json").exists():
            if not build:
                raise ConfigError(f"{spec.id} data is not built: run `aihfbench data build {short}`")
            from tqdm.auto import tqdm

            bars: dict[str, Any] = {}

            def progress(stage, done, total):
                bar = bars.setdefault(stage, tqdm(total=total, desc=f"building {short} {stage}", unit="step"))
                bar.n = min(done, total)
                bar.refresh()

            build_splits(self.build_spec, Path(checkpoints) if checkpoints else shipped_checkpoints(env_id),
                         progress=progress)
            for bar in bars.values():
                bar.close()
        self.manifest = verify(self.build_spec)
        self.folder = task_folder(self.build_spec)

    def __repr__(self) -> str:
        return f"ControlTask<{self.spec.id}>(env={self.env_id}, teacher={self.teacher['teacher']})"

    # data -------------------------------------------------------------------------------------
    @staticmethod
    def _flatten(dataset_id: str) -> dict[str, np.ndarray]:
        import minari

        episodes = list(minari.load_dataset(dataset_id).iterate_episodes())
        obs = np.concatenate([e.observations[:-1] for e in episodes]).astype(np.float32)
        return {
            "obs": obs,
            "action": np.concatenate([e.actions for e in episodes]).astype(np.float32),
            "reward": np.concatenate([e.rewards for e in episodes]).astype(np.float32),
            "next_obs": np.concatenate([e.observations[1:] for e in episodes]).astype(np.float32),
            "terminal": np.concatenate([e.terminations for e in episodes]).astype(bool),
            "episode": np.concatenate([np.full(len(e.rewards), i) for i, e in enumerate(episodes)]).astype(np.int64),
            "offsets": np.concatenate([[0], np.cumsum([len(e.rewards) for e in episodes])]).astype(np.int64),
        }

    @cached_property
    def _expert(self) -> dict[str, np.ndarray]:
        return self._flatten(self.manifest["datasets"]["expert"])

    @cached_property
    def pool(self) -> dict[str, np.ndarray]:
        """The preference pool's transitions; ``offsets[e]`` is where episode e starts."""
        return self._flatten(self.manifest["datasets"]["pool"])

    @cached_property
    def _demos(self) -> Demonstrations:
        return Demonstrations({k: v for k, v in self._expert.items() if k != "offsets"}, unit=DEMO_UNIT)

    @cached_property
    def _prefs(self) -> Preferences:
        import pyarrow.parquet as pq

        table = pq.read_table(self.folder / "pairs.parquet").to_pydict()
        cols = {k: np.asarray(v) for k, v in table.items()}
        flip = self._noise(cols["chosen_return"] - cols["rejected_return"])
        for name in ("episode", "start", "return"):
            c, r = cols[f"chosen_{name}"], cols[f"rejected_{name}"]
            cols[f"chosen_{name}"], cols[f"rejected_{name}"] = np.where(flip, r, c), np.where(flip, c, r)
        cols["flipped"] = flip
        return Preferences(cols, unit=PREF_UNIT)

    def _noise(self, margin: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng([self.teacher["noise_seed"], 7])
        u = rng.random(len(margin))
        if self.teacher["teacher"] == "bt":
            return u >= 1 / (1 + np.exp(-margin / self.teacher["temperature"]))
        if self.teacher["teacher"] == "mistake":
            return u < self.teacher["epsilon"]
        return np.zeros(len(margin), dtype=bool)

    def _demo_split(self) -> Demonstrations:
        return self._demos

    def _pref_split(self) -> Preferences:
        return self._prefs

    # batch samplers ---------------------------------------------------------------------------
    def segments(self, episodes: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[B, 50, obs_dim]`` observations and ``[B, 50, act_dim]`` actions of pool segments."""
        from ..control.splits import SEGMENT

        rows = self.pool["offsets"][episodes][:, None] + starts[:, None] + np.arange(SEGMENT)
        return self.pool["obs"][rows], self.pool["action"][rows]

    def preference_batches(self, prefs: Preferences, batch_size: int, seed: int = 0) -> Iterator[dict[str, Any]]:
        """Endless batches of (segment_w, segment_l) torch tensors drawn from ``prefs``."""
        import torch

        rng = np.random.default_rng(seed)
        while True:
            b = prefs.sample(batch_size, rng)
            obs_w, act_w = self.segments(b["chosen_episode"], b["chosen_start"])
            obs_l, act_l = self.segments(b["rejected_episode"], b["rejected_start"])
            yield {"obs_w": torch.from_numpy(obs_w), "act_w": torch.from_numpy(act_w),
                   "obs_l": torch.from_numpy(obs_l), "act_l": torch.from_numpy(act_l)}

    def demo_batches(self, demos: Demonstrations, batch_size: int, seed: int = 0) -> Iterator[dict[str, Any]]:
        """Endless batches of demonstration (s, a) torch tensors."""
        import torch

        rng = np.random.default_rng(seed)
        while True:
            b = demos.sample(batch_size, rng)
            yield {"obs": torch.from_numpy(b["obs"]), "action": torch.from_numpy(b["action"])}

    # environment and scoring ------------------------------------------------------------------
    def env(self, **kwargs: Any):
        import gymnasium as gym

        return gym.make(self.env_id, **kwargs)

    def normalized_score(self, ret: float) -> float:
        """D4RL's normalisation with the spec's reference returns."""
        random, expert = self.spec.reference_scores["random"], self.spec.reference_scores["expert"]
        return 100 * (ret - random) / (expert - random)

    def evaluate(self, policy: Any, episodes: int | None = None, seed: int = 0) -> dict[str, float]:
        """True-reward return of ``policy.act(obs)`` (deterministic) over ``episodes`` episodes
        (default: the task's ``eval_episodes``, 10)."""
        from ..control.policy import episode_returns

        episodes = episodes or self.eval_episodes
        env = self.env()
        try:
            returns = episode_returns(env, policy.act, episodes, seed=1_000_000 + seed * 1000)
        finally:
            env.close()
        mean = float(np.mean(returns))
        return {"normalized_score": self.normalized_score(mean), "return_mean": mean,
                "return_std": float(np.std(returns)), "episodes": episodes}

    def primitives(self, seed: int = 0):
        from ..families.control import ControlPrimitives

        return ControlPrimitives(self, self.settings, seed)

    def evaluate_reward(self, reward: Any, policy: Any = None) -> dict[str, float]:
        """Agreement of a learned r_θ with the true reward on held-out pairs: the last
        ``heldout_pairs`` pairs of the split (never inside a budget below that tail), true
        labels (no teacher noise). Accuracy of sign(R_θ(a) − R_θ(b)) and Spearman's ρ
        between R_θ and the true return over their segments."""
        import torch
        from scipy.stats import spearmanr

        if not self.heldout_pairs:
            return {}
        split = self._prefs.columns
        tail = slice(len(split["chosen_return"]) - self.heldout_pairs, None)
        learned, true = [], []
        with torch.no_grad():
            for side in ("chosen", "rejected"):
                episodes, starts = split[f"{side}_episode"][tail], split[f"{side}_start"][tail]
                values = []
                for chunk in range(0, len(episodes), 1000):
                    obs, act = self.segments(episodes[chunk:chunk + 1000], starts[chunk:chunk + 1000])
                    values.append(reward(torch.from_numpy(obs), torch.from_numpy(act)).sum(-1).numpy())
                learned.append(np.concatenate(values))
                true.append(split[f"{side}_return"][tail])
        agree = np.sign(learned[0] - learned[1]) == np.sign(true[0] - true[1])
        rho = spearmanr(np.concatenate(learned), np.concatenate(true)).statistic
        return {"reward_accuracy": float(agree.mean()), "reward_spearman": float(rho),
                "reward_heldout_pairs": self.heldout_pairs}

    def recompute_metrics(self, record: dict[str, Any]) -> dict[str, float] | None:
        """Re-evaluate the actor a run stored (policy.safetensors beside its result.json)."""
        from safetensors.torch import load_file

        from ..control.policy import SquashedGaussianActor

        where = record.get("_path") or (Path(record["run_dir"]) / "result.json" if record.get("run_dir") else None)
        policy = Path(where).with_name("policy.safetensors") if where else None
        if policy is None or not policy.is_file():
            return None
        actor = SquashedGaussianActor.from_state_dict(load_file(str(policy)))
        return self.evaluate(actor, episodes=int(record["metrics"].get("episodes", self.eval_episodes)))

    def fingerprint(self) -> dict[str, str]:
        return {"recipe": self.manifest["recipe"],
                "manifest_sha256": fingerprint_arrays({"m": np.frombuffer(
                    json.dumps(self.manifest["files"], sort_keys=True).encode(), dtype=np.uint8)}),
                "teacher": json.dumps(self.teacher, sort_keys=True)}

    def quality(self) -> dict[str, tuple[float, float]]:
        """Mean ± std return: demonstration episodes, preferred and non-preferred segments (Table 1)."""
        e = self._expert
        episode_returns = np.add.reduceat(e["reward"], e["offsets"][:-1])
        p = self._prefs.columns
        return {"demonstrations (episode return)": (float(episode_returns.mean()), float(episode_returns.std())),
                "preferred segments (50-step return)": (float(p["chosen_return"].mean()), float(p["chosen_return"].std())),
                "non-preferred segments (50-step return)": (float(p["rejected_return"].mean()), float(p["rejected_return"].std()))}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "env_id": self.env_id, "teacher": self.teacher, "quality": self.quality()}
