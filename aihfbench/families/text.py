"""Primitives for the text family (DESIGN.md §2–§3): items are (prompt, completion) texts.

R_θ(x, y) is a GPT-2 sequence classifier read at the eos after prompt + completion (scored as
TRL's ``RewardTrainer`` trains it); log π(y|x) sums the completion tokens' log-probabilities;
``imitate`` is TRL's ``SFTTrainer``; ``improve`` is TRL's ``RLOOTrainer`` against the learned
reward, KL-regularised towards the prior with the task's β, and persists across calls.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, NamedTuple

import numpy as np
import torch

from ..data import Demonstrations, Preferences
from ..text.models import TRAINER_DEFAULTS, TextPolicy, TextReward, context_length, quiet
from ..text.rl import RLOOLearner


class Texts(NamedTuple):
    prompts: list[str]
    completions: list[str]
    weights: torch.Tensor | None = None
    demonstrations: list[str] | None = None    # fresh samples: the demonstrated completion of each prompt


class Pairs(NamedTuple):
    chosen: Texts
    rejected: Texts
    weights: torch.Tensor | None = None


class RelativeText:
    """A trainable copy π of a reference π⁰ (DPO, AIHF-DPO); π⁰ stays frozen."""

    def __init__(self, reference: TextPolicy):
        self.reference = reference
        self.policy = reference.copy(trainable=True)

    def parameters(self):
        return self.policy.parameters()

    def log_ratio(self, texts: Texts) -> torch.Tensor:
        """``[B]`` log π(y|x) − log π⁰(y|x)."""
        self.policy.model.train(False)        # no dropout: the log-probabilities DPO compares
        with torch.no_grad():
            ref = self.reference.log_prob(texts.prompts, texts.completions)
        return self.policy.log_prob(texts.prompts, texts.completions) - ref

    def freeze(self) -> TextPolicy:
        return self.policy.copy(trainable=False)


class TextAgent:
    """The RL learner that persists across policy alignments; behaves like its policy."""

    def __init__(self, learner: RLOOLearner):
        self.learner = learner

    @property
    def policy(self) -> TextPolicy:
        return self.learner.policy

    @property
    def tokenizer(self):
        return self.policy.tokenizer

    def generate(self, prompts, **kw):
        return self.policy.generate(prompts, **kw)

    def log_prob(self, prompts, completions):
        return self.policy.log_prob(prompts, completions)

    def state_dict(self):
        return self.policy.state_dict()

    def __repr__(self) -> str:
        return f"TextAgent(rl_steps={self.learner.steps_done})"


class TextPrimitives:
    def __init__(self, task: Any, seed: int = 0):
        self.task, self.seed = task, seed
        self.rng = np.random.default_rng([seed, 13])
        self.timings: dict[str, float] = defaultdict(float)
        self._learners: list[RLOOLearner] = []

    # policies -------------------------------------------------------------------------------
    def initial_policy(self) -> TextPolicy:
        """π⁰ for AIHF: the pre-trained base model, not fine-tuned on demonstrations (paper Fig. 6)."""
        return self.task.base_policy()

    def imitate(self, demos: Demonstrations, config: Any, log: Any) -> TextPolicy:
        """SFT with TRL's ``SFTTrainer`` on (prompt, completion) demonstrations, completion tokens only."""
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer

        start = time.perf_counter()
        policy = self.task.base_policy().copy(trainable=True)
        cols = demos.columns
        data = Dataset.from_dict({"prompt": list(cols["prompt"]), "completion": list(cols["completion"])})
        with self.task.scratch() as out:
            args = SFTConfig(output_dir=out, max_steps=config.steps, per_device_train_batch_size=config.batch_size,
                             learning_rate=config.lr, lr_scheduler_type="constant", completion_only_loss=True,
                             max_length=context_length(policy.model), seed=int(self.rng.integers(2**31)),
                             **TRAINER_DEFAULTS)
            trainer = quiet(SFTTrainer(model=policy.model, args=args, train_dataset=data,
                                       processing_class=policy.tokenizer))
            trainer.train()
        policy.tokenizer.padding_side = "left"
        policy.model.requires_grad_(False)
        log(config.steps, sft_loss=float(trainer.state.log_history[-1].get("train_loss", np.nan)))
        log.policy(config.steps, lambda: policy, unit="sft_steps")
        self.timings["sft_s"] += time.perf_counter() - start
        return policy

    def make_policy(self, reference: TextPolicy) -> RelativeText:
        return RelativeText(reference)

    def improve(self, policy: Any, reward: TextReward, *, prior: TextPolicy, steps: int, log: Any = None) -> TextAgent:
        """Policy alignment: ``steps`` RLOO steps on r_θ with KL(π‖prior) weighted by the task's β.
        A ``TextAgent`` continues (AIHF); a policy starts a new learner from a copy of itself."""
        if not isinstance(policy, TextAgent):
            learner = RLOOLearner(policy.copy(trainable=True), prior, reward, self.task.train_prompts(),
                                  self.task.rl_settings, seed=int(self.rng.integers(2**31)))
            self._learners.append(learner)
            policy = TextAgent(learner)
        policy.learner.learn(steps, log)
        return policy

    def sample(self, policy: Any, n: int, context: Demonstrations | None = None) -> Texts:
        """Fresh completions y' ~ π: on n demonstration prompts when ``context`` holds the
        demonstrations (paper: generations from the demonstration prompts; each sample keeps its
        prompt's demonstrated completion), else on n of the task's RL prompts."""
        start = time.perf_counter()
        demonstrated = None
        if context is not None:
            rows = context.sample(n, self.rng)
            prompts, demonstrated = list(rows["prompt"]), list(rows["completion"])
        else:
            prompts = self.task.sample_prompts(n, self.rng)
        completions = policy.generate(prompts, seed=int(self.rng.integers(2**31)))
        self.timings["sampling_s"] += time.perf_counter() - start
        self.timings["sampled_completions"] += n
        return Texts(prompts, completions, demonstrations=demonstrated)

    # rewards --------------------------------------------------------------------------------
    def make_reward(self) -> TextReward:
        """Reward model on the base network with a fresh scalar head (paper: GPT-2 reward base)."""
        return self.task.base_reward(seed=int(self.rng.integers(2**31)))

    def returns(self, reward: TextReward, texts: Texts) -> torch.Tensor:
        """``[B]`` r_θ(x, y) (one 'segment' per response)."""
        reward.model.train(False)
        return reward(texts.prompts, texts.completions)

    def log_prob(self, policy: Any, texts: Texts) -> torch.Tensor:
        actor = policy.policy if isinstance(policy, (RelativeText, TextAgent)) else policy
        return actor.log_prob(texts.prompts, texts.completions)

    def log_ratio(self, policy: RelativeText, texts: Texts) -> torch.Tensor:
        return policy.log_ratio(texts)

    def optimizer(self, params, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam([p for p in params if p.requires_grad], lr=lr)

    # data -----------------------------------------------------------------------------------
    def demo_batch(self, demos: Demonstrations, size: int) -> Texts:
        b = demos.sample(size, self.rng)
        return Texts(list(b["prompt"]), list(b["completion"]))

    def pref_batch(self, prefs: Preferences, size: int) -> Pairs:
        b = prefs.sample(size, self.rng)
        prompts = list(b["prompt"])
        return Pairs(Texts(prompts, list(b["chosen"])), Texts(prompts, list(b["rejected"])))

    def contrast_pairs(self, demo: Texts, agent: Texts) -> Pairs:
        """AIHF-DPO's pairs (demonstration ≻ fresh sample) on the *same* prompt: each sample
        drawn on a demonstration prompt is paired with that prompt's demonstration; samples
        without one are paired with ``demo`` row by row."""
        if agent.demonstrations is not None:
            chosen = Texts(agent.prompts, agent.demonstrations)
        else:
            n = min(len(demo.prompts), len(agent.prompts))
            chosen, agent = Texts(demo.prompts[:n], demo.completions[:n]), Texts(agent.prompts[:n], agent.completions[:n])
        return Pairs(chosen, Texts(agent.prompts, agent.completions))

    def report(self) -> dict[str, float]:
        facts = dict(self.timings)
        rl_seconds = sum(le.seconds for le in self._learners)
        steps = sum(le.steps_done for le in self._learners)
        tokens = sum(le.generated_tokens for le in self._learners)
        if steps:
            facts.update(rl_steps=float(steps), rl_seconds_per_step=rl_seconds / steps,
                         rl_generated_tokens_per_s=tokens / rl_seconds if rl_seconds else 0.0)
        return facts
