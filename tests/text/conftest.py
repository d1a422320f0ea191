"""Tiny offline text builds, in one data root for the session: IMDb (template corpus, small
GPT-2, a few RLOO steps on VADER) and HH (generated HH-format dialogues, a small GPT-2 and a
gold judge)."""
import os

import pytest

pytest.importorskip("trl")
pytest.importorskip("vaderSentiment")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def text_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-data")
    old = os.environ.get("AIHFBENCH_DATA")
    os.environ["AIHFBENCH_DATA"] = str(root)
    yield root
    if old is None:
        os.environ.pop("AIHFBENCH_DATA", None)
    else:
        os.environ["AIHFBENCH_DATA"] = old


@pytest.fixture(scope="session")
def imdb_data(text_root):
    from aihfbench.text.imdb import IMDbBuild, build

    spec = IMDbBuild(corpus_reviews=3000, base_steps=300, rl_steps=(0, 20, 40), demo_prompts=120, pref_prompts=160,
                     train_prompts=120, eval_prompts=48, max_new_tokens=16, rl_lr=1e-4, seed=0)
    return {"root": text_root, "spec": spec, "manifest": build(spec)}


TOPICS = ["bake bread", "fix a flat tyre", "learn guitar", "plant tomatoes", "write a cover letter", "save money",
          "train a puppy", "paint a room", "start running", "clean an oven", "study for exams", "make coffee"]
HELPFUL = ["Sure! To {t}, start by gathering what you need, then go step by step and take your time.",
           "Happy to help. The easiest way to {t} is to begin small, follow a simple plan, and practise daily.",
           "Great question! First, read a short guide on how to {t}. Then try it once and adjust as you go."]
UNHELPFUL = ["I don't know.", "No.", "Why would you want to {t}?", "That is not something I can talk about."]


def write_hh_jsonl(path, n, seed=0):
    """HH-format pairs (`chosen`/`rejected` dialogues sharing the prompt): chosen replies are
    helpful instructions, rejected ones curt; one or two turns, distinct prompts."""
    import gzip
    import json
    import random

    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            t = rng.choice(TOPICS)
            prompt = f"\n\nHuman: How do I {t}? (question {i})\n\nAssistant:"
            if rng.random() < 0.3:
                prompt = f"\n\nHuman: Hi there.\n\nAssistant: Hello! How can I help?" + prompt
            good = rng.choice(HELPFUL).format(t=t)
            bad = rng.choice(UNHELPFUL).format(t=t)
            f.write(json.dumps({"chosen": prompt + " " + good, "rejected": prompt + " " + bad}) + "\n")
    return path


@pytest.fixture(scope="session")
def hh_data(text_root):
    """A tiny offline HH build over generated HH-format dialogues."""
    from aihfbench.text.hh import HHBuild, build

    source = write_hh_jsonl(text_root / "hh-train.jsonl.gz", 700)
    spec = HHBuild(hh_path=str(source), eval_prompts=48, base_steps=150, judge_steps=60, n_positions=128,
                   max_new_tokens=16, seed=0)
    return {"root": text_root, "spec": spec, "manifest": build(spec), "source": source}
