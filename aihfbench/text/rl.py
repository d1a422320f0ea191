"""The text family's RL step: TRL's ``RLOOTrainer`` (PPOTrainer no longer exists in TRL 1.16)
against a reward *callable*, KL-regularised towards a reference model with coefficient β.

The learner persists across calls (AIHF's policy alignments continue one another): weights
and optimiser carry over; each call runs ``steps`` more optimiser steps on freshly shuffled
prompts. The reward callable is called at generation time, so a reward model updated in
place between calls (AIHF's reward alignment) is what the next steps optimise.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from transformers import TrainerCallback

from .models import TRAINER_DEFAULTS, TextPolicy, quiet


@dataclass(frozen=True)
class RLSettings:
    learning_rate: float = 1.41e-5        # paper Table 2 (IMDb policy learning rate)
    beta: float = 0.05                    # KL(π‖π_ref) coefficient
    prompts_per_step: int = 8
    num_generations: int = 4              # completions per prompt (RLOO's leave-one-out baseline)
    max_completion_length: int = 24
    temperature: float = 1.0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "RLSettings":
        values = dict(values or {})
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown RL setting(s) {sorted(unknown)}: known are {sorted(cls.__dataclass_fields__)}")
        return cls(**values)


RewardFn = Callable[[Sequence[str], Sequence[str]], Sequence[float]]


class _Offer(TrainerCallback):
    """Offers the policy to the run's logger after every RLOO step and drives the progress bar;
    ``log`` and ``steps`` are set by each ``learn`` call."""

    def __init__(self, learner: "RLOOLearner"):
        self.learner, self.log, self.steps = learner, None, 0

    def on_step_end(self, args, state, control, **kwargs):
        if self.log is not None:
            learner = self.learner
            self.log.policy(learner.steps_done + state.global_step, lambda: learner.policy, unit="rl_steps")
            self.log.progress(state.global_step, self.steps, "RLOO steps")


class RLOOLearner:
    """``RLOOTrainer`` on ``policy`` (trained in place) with ``reward(prompts, completions)``."""

    def __init__(self, policy: TextPolicy, reference: TextPolicy, reward: RewardFn, prompts: Sequence[str],
                 settings: RLSettings, seed: int, workdir: str | Path | None = None):
        self.policy, self.reward, self.settings, self.seed = policy, reward, settings, seed
        self.prompts = list(prompts)
        self._tmp = tempfile.TemporaryDirectory(prefix="aihfbench-rl-", dir=workdir)
        # RLOO has no ref_model argument: with β > 0 it loads the reference from the policy's
        # _name_or_path, so the reference is saved to a folder first (in-memory models have none).
        ref_dir = Path(self._tmp.name) / "reference"
        reference.model.save_pretrained(ref_dir)
        reference.tokenizer.save_pretrained(ref_dir)
        policy.model.config._name_or_path = str(ref_dir)
        policy.model.requires_grad_(True)
        self.steps_done = 0
        self.trainer = None
        self._offer = _Offer(self)
        self.seconds = 0.0
        self.generated_tokens = 0

    def _reward_fn(self):
        reward, learner = self.reward, self

        def learned_reward(prompts, completions, completion_ids=None, **kwargs):
            learner.generated_tokens += sum(len(ids) for ids in completion_ids or [])
            with torch.no_grad():
                return [float(x) for x in reward(list(prompts), list(completions))]

        return learned_reward

    def learn(self, steps: int, log: Any = None) -> TextPolicy:
        import time

        from datasets import Dataset
        from trl import RLOOConfig, RLOOTrainer

        if steps <= 0:
            return self.policy
        start = time.perf_counter()
        s = self.settings
        order = torch.randperm(len(self.prompts), generator=torch.Generator().manual_seed(self.seed + self.steps_done))
        dataset = Dataset.from_dict({"prompt": [self.prompts[i] for i in order.tolist()]})
        self._offer.log, self._offer.steps = log, steps

        if self.trainer is None:
            args = RLOOConfig(output_dir=str(Path(self._tmp.name) / "trainer"), max_steps=steps,
                              per_device_train_batch_size=s.prompts_per_step * s.num_generations,
                              num_generations=s.num_generations, max_completion_length=s.max_completion_length,
                              temperature=s.temperature, beta=s.beta, learning_rate=s.learning_rate,
                              lr_scheduler_type="constant", seed=self.seed, **TRAINER_DEFAULTS)
            self.trainer = quiet(RLOOTrainer(model=self.policy.model, reward_funcs=[self._reward_fn()], args=args,
                                             train_dataset=dataset, processing_class=self.policy.tokenizer,
                                             callbacks=[self._offer]))
        else:
            self.trainer.args.max_steps = steps
            self.trainer.train_dataset = dataset
        self.trainer.train()
        self.steps_done += steps
        self.seconds += time.perf_counter() - start
        self.policy.tokenizer.padding_side = "left"
        return self.policy

    def close(self) -> None:
        self._tmp.cleanup()
