"""Tiny offline text builds, in one data root for the session: IMDb (template corpus, small
GPT-2, a few RLOO steps on VADER) and HH (generated HH-format dialogues, a small GPT-2 and a
gold judge)."""
import os

import pytest
from hh_dialogues import write_hh_jsonl

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


@pytest.fixture(scope="session")
def hh_data(text_root):
    """A tiny offline HH build over generated HH-format dialogues."""
    from aihfbench.text.hh import HHBuild, build

    source = write_hh_jsonl(text_root / "hh-train.jsonl.gz", 700)
    spec = HHBuild(hh_path=str(source), eval_prompts=48, base_steps=150, judge_steps=60, n_positions=128,
                   max_new_tokens=16, seed=0)
    return {"root": text_root, "spec": spec, "manifest": build(spec), "source": source}
