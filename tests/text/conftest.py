"""A tiny offline IMDb build (template corpus, small GPT-2, a few RLOO steps on VADER)."""
import os

import pytest

pytest.importorskip("trl")
pytest.importorskip("vaderSentiment")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def imdb_data(tmp_path_factory):
    from aihfbench.text.splits import IMDbBuild, build

    root = tmp_path_factory.mktemp("text-data")
    old = os.environ.get("AIHFBENCH_DATA")
    os.environ["AIHFBENCH_DATA"] = str(root)
    spec = IMDbBuild(corpus_reviews=3000, base_steps=300, rl_steps=(0, 20, 40), demo_prompts=120, pref_prompts=160,
                     train_prompts=120, eval_prompts=48, max_new_tokens=16, rl_lr=1e-4, seed=0)
    manifest = build(spec)
    yield {"root": root, "spec": spec, "manifest": manifest}
    if old is None:
        os.environ.pop("AIHFBENCH_DATA", None)
    else:
        os.environ["AIHFBENCH_DATA"] = old
