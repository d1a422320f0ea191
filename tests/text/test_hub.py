"""The cpu/paper text profiles' hub code paths: pinned refs refuse in one line when the hub is
unreachable, and with local stand-ins for the hub models and datasets (an id may be a local
folder) the same code builds HH splits, scores with the judge and runs a method."""
import json

import numpy as np
import pytest
import torch

import aihfbench
from aihfbench.cli import main
from aihfbench.config import load_profile
from aihfbench.errors import AihfbenchError
from aihfbench.registration import spec
from aihfbench.text.hub import HubUnavailable, beaver_text, judge
from hh_dialogues import write_hh_jsonl


def test_profiles_pin_every_hub_component_by_commit():
    for task, profile in (("imdb", "cpu"), ("imdb", "paper"), ("hh", "cpu"), ("hh", "paper")):
        hub = load_profile(spec(task), profile)["task"]["hub"]
        for name, ref in hub.items():
            if ref["id"] == "PKU-Alignment/beaver-7b-v3.0-reward":
                assert ref["revision"] is None          # no verified sha: resolved and recorded at build
            else:
                assert len(ref["revision"]) == 40 and int(ref["revision"], 16) >= 0, (task, profile, name)


def test_hub_profiles_refuse_offline_in_one_line(text_root, capsys):
    hub = load_profile(spec("imdb"), "cpu")["task"]["hub"]
    with pytest.raises(HubUnavailable, match=r"cannot load the dataset stanfordnlp/imdb@e6281661ce1c .*--profile offline"):
        aihfbench.make("imdb", data="cpu", hub=hub)
    assert main(["run", "--task", "imdb", "--algo", "bc", "--profile", "cpu", "--out", str(text_root / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hf download stanfordnlp/imdb --revision e6281661" in err[0]
    with pytest.raises(HubUnavailable, match="lvwerra/distilbert-imdb"):
        judge(hub["judge"])
    with pytest.raises(HubUnavailable, match="safe-rlhf"):
        judge({"id": "PKU-Alignment/beaver-7b-v3.0-reward", "revision": None, "kind": "beaver"})
    with pytest.raises(AihfbenchError, match="needs task.hub"):
        aihfbench.make("hh", data="paper")


def test_beaver_reads_hh_dialogues_in_safe_rlhf_format():
    assert beaver_text("\n\nHuman: hi\n\nAssistant:", " Hello!") == \
        "BEGINNING OF CONVERSATION: USER: hi ASSISTANT: Hello!"


@pytest.fixture(scope="module")
def stand_ins(text_root):
    """Local folders standing in for hub repos: a tiny causal LM, a one-logit classifier judge on
    it, and an HH dataset with helpful-base train/test JSON lines."""
    from transformers import AutoModelForSequenceClassification

    from aihfbench.text.models import build_offline_base, load_tokenizer

    root = text_root / "stand-ins"
    data = root / "hh-rlhf" / "helpful-base"
    data.mkdir(parents=True)
    for split, n, seed in (("train", 500, 1), ("test", 80, 2)):
        write_hh_jsonl(data / f"{split}.jsonl.gz", n, seed=seed)
    texts = [json.loads(line)["chosen"] for line in __import__("gzip").open(data / "train.jsonl.gz", "rt")]
    policy = build_offline_base(root / "policy", texts, steps=30, n_positions=128)
    torch.manual_seed(0)
    clf = AutoModelForSequenceClassification.from_pretrained(str(policy), num_labels=1)
    clf.config.pad_token_id = load_tokenizer(policy).pad_token_id
    clf.save_pretrained(root / "judge")
    load_tokenizer(policy).save_pretrained(root / "judge")
    return {"policy": {"id": str(policy), "revision": None},
            "judge": {"id": str(root / "judge"), "revision": None, "kind": "classifier", "label_index": 0},
            "dataset": {"id": str(root / "hh-rlhf"), "revision": None, "data_dir": "helpful-base"}}


def test_hh_builds_from_hub_components_and_scores_with_the_hub_judge(stand_ins, tmp_path):
    from aihfbench.runner import Cell, run
    from aihfbench.text.hh import HHBuild, build, read_pairs

    hub = stand_ins
    manifest = build(HHBuild(hub=hub, eval_prompts=32, base_steps=10, sft_lr=1e-4, n_positions=128,
                             max_new_tokens=16, pref_labels="human"), profile="cpu")
    assert manifest["recipe"] == "hh-hub-recipe-1" and "judge" not in {f.split("/")[0] for f in manifest["files"]}
    task = aihfbench.make("hh", data="cpu", hub=hub, build=False, eval_prompts=32, heldout_pairs=16,
                          max_new_tokens=16)
    # evaluation prompts come from the test split, the rest from train
    test_prompts = {p.prompt for p in read_pairs(HHBuild(hub=hub), "test")[0]}
    assert set(task._prompts["eval"]) <= test_prompts and not set(task.train_prompts()) & test_prompts
    # preferences keep HH's human labels (as the paper, with its external judge)
    assert all(task.preferences(task.max_prefs).columns["human_agrees"])
    # the true reward is the judge's logit, read as transformers reads it
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(hub["judge"]["id"])
    tok = AutoTokenizer.from_pretrained(hub["judge"]["id"])
    d = task.demos().columns
    prompts, completions = list(d["prompt"][:4]), list(d["completion"][:4])
    with torch.no_grad():
        expected = [model(**tok(p + c, return_tensors="pt")).logits[0, 0].item() for p, c in zip(prompts, completions)]
    np.testing.assert_allclose(task.true_reward(prompts, completions), expected, rtol=1e-4, atol=1e-5)
    assert np.all(np.diff(d["true_reward"]) <= 0)          # demonstrations: top judge scores first
    # a method runs on the hub data through the runner (smoke budgets, cpu data)
    overrides = ["task.data=cpu", "task.eval_prompts=32", "task.heldout_pairs=16"] + \
        [f"task.hub.{k}.{f}={v}" for k, ref in hub.items() for f, v in ref.items() if v is not None]
    record = run(Cell(task="hh", algo="bc", demos=20, prefs=20, seed=0, profile="smoke", overrides=tuple(overrides)),
                 out=tmp_path)
    assert record["data"]["recipe"] == "hh-hub-recipe-1" and np.isfinite(record["metrics"]["true_reward"])


def test_imdb_hub_prompts_and_judge_read_the_hub_layout(stand_ins, text_root):
    """stanfordnlp/imdb's layout (text/label, train/test splits) gives the prompt sets; a
    two-label classifier judge is read at its POSITIVE index."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from aihfbench.text.imdb import IMDbBuild, _prompt_sets, prompt_of

    folder = text_root / "stand-ins" / "imdb"
    reviews = {split: [f"{split} review number {i} was<br />great fun" for i in range(60)] for split in ("train", "test")}
    for split, texts in reviews.items():
        Dataset.from_dict({"text": texts, "label": [i % 2 for i in range(60)]}).to_parquet(
            str(folder / f"{split}.parquet"))
    hub = {"dataset": {"id": str(folder), "revision": None}}
    sets = _prompt_sets(IMDbBuild(hub=hub, demo_prompts=10, pref_prompts=10, train_prompts=10, eval_prompts=8))
    train_prompts = {prompt_of(r.replace("<br />", " ")) for r in reviews["train"]}
    assert all(set(sets[k]) <= train_prompts for k in ("demo", "pref", "train"))
    assert len(set(sets["demo"]) | set(sets["pref"]) | set(sets["train"])) == 30
    assert all(p.startswith("test review") for p in sets["eval"]) and len(sets["eval"]) == 8

    two = text_root / "stand-ins" / "two-label"
    torch.manual_seed(1)
    clf = AutoModelForSequenceClassification.from_pretrained(stand_ins["policy"]["id"], num_labels=2)
    tok = AutoTokenizer.from_pretrained(stand_ins["policy"]["id"])
    clf.config.pad_token_id = tok.pad_token_id
    clf.save_pretrained(two)
    tok.save_pretrained(two)
    scores = judge({"id": str(two), "kind": "classifier", "label_index": 1})(["A film"], [" I loved."])
    with torch.no_grad():
        expected = clf(**tok("A film I loved.", return_tensors="pt")).logits[0, 1].item()
    assert scores[0] == pytest.approx(expected, abs=1e-5)
