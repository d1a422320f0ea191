"""HH-aihf-v0 offline: the build's gold judge, demonstration and preference selection, prompt
truncation, the five methods end to end, and the one-line refusals."""
from pathlib import Path

import numpy as np
import pytest

import aihfbench
from aihfbench.cli import main
from aihfbench.runner import Cell, run
from aihfbench.text.hh import HHBuild, read_pairs, trailing_turns

SHARED_HH = Path(__file__).resolve().parents[3] / "shared" / "data" / "hh-rlhf" / "harmless-base" / "test.jsonl.gz"


@pytest.fixture(scope="module")
def hh(hh_data):
    task = aihfbench.make("hh", build=False, eval_prompts=48, heldout_pairs=32, max_new_tokens=16)
    return task, task.primitives(seed=0)


def test_prompts_keep_their_trailing_turns_cut_at_a_human_turn():
    dialogue = "\n\nHuman: first question\n\nAssistant: an answer\n\nHuman: second?\n\nAssistant:"
    assert trailing_turns(dialogue, 1000) == dialogue
    assert trailing_turns(dialogue, 40) == "\n\nHuman: second?\n\nAssistant:"
    assert trailing_turns(dialogue, 10) is None


def test_the_gold_judge_learns_the_human_labels_and_scores_the_splits(hh, hh_data):
    task, _ = hh
    m = hh_data["manifest"]
    assert m["judge_heldout_accuracy"] > 0.9            # helpful vs curt replies, on never-trained pairs
    demos, prefs = task.demos(), task.preferences(task.max_prefs)
    d, p = demos.columns, prefs.columns
    # demonstrations: the pool's top half by judge score, stored best first, scores = the judge's
    assert m["pairs"]["demos"] == round(m["pairs"]["demo_pool"] * 0.5) == len(d["prompt"])
    assert np.all(np.diff(d["true_reward"]) <= 0)
    rescored = task.true_reward(list(d["prompt"][:16]), list(d["completion"][:16]))
    np.testing.assert_allclose(rescored, d["true_reward"][:16], rtol=1e-4, atol=1e-5)
    assert np.mean(d["true_reward"]) > np.mean(p["rejected_reward"])
    # preferences: labelled by the judge (ties dropped); the human label is kept
    assert np.all(p["chosen_reward"] > p["rejected_reward"])
    assert np.mean(p["human_agrees"]) > 0.9
    # prompt sets are disjoint
    sets = [set(d["prompt"]), set(p["prompt"]), set(task.train_prompts()), set(task._prompts["eval"])]
    assert all(not (a & b) for i, a in enumerate(sets) for b in sets[i + 1:])


def test_sft_on_the_top_demonstrations_raises_the_judges_reward(hh, log):
    from aihfbench.algos.bc import BCConfig

    task, fam = hh
    base = task._eval_set["base_reward"].mean()
    sft = fam.imitate(task.demos(), BCConfig(lr=5e-4, batch_size=16, steps=60), log)
    assert task.evaluate(sft)["true_reward"] > base + 0.5


@pytest.mark.parametrize("algo", ["bc", "rlhf", "dpo", "aihf", "aihf-dpo"])
def test_each_method_runs_on_hh_and_reports_the_text_metrics(algo, hh, tmp_path):
    record = run(Cell(task="hh", algo=algo, demos=60, prefs=100, seed=0, profile="smoke",
                      overrides=("task.eval_prompts=48", "task.heldout_pairs=32")), out=tmp_path)
    m = record["metrics"]
    assert np.isfinite(m["true_reward"]) and 0.0 <= m["win_rate_vs_base"] <= 1.0 and np.isfinite(m["kl_to_base"])
    if algo in ("rlhf", "aihf"):
        assert 0.0 <= m["reward_accuracy"] <= 1.0 and record["fit_info"]["rl_steps"] > 0
    assert record["data"]["recipe"] == "hh-offline-recipe-1"
    assert len(record["task_record"]["eval_true_rewards"]) == 48


def test_hh_refuses_bad_input_in_one_line(hh, tmp_path, capsys):
    from aihfbench.errors import AihfbenchError

    with pytest.raises(AihfbenchError, match="exceeds the 16 new tokens"):
        aihfbench.make("hh", build=False, max_new_tokens=64)
    assert main(["data", "build", "hh", "--force"]) == 2
    assert "pass --hh-path FILE" in capsys.readouterr().err
    assert main(["data", "build", "hh", "--hh-path", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(AihfbenchError, match="pref_labels"):
        HHBuild(hh_path="x", pref_labels="crowd")


@pytest.mark.skipif(not SHARED_HH.exists(), reason="real HH data (../shared/data) not present")
def test_real_hh_pairs_are_read_truncated_and_deduplicated():
    pairs, counts = read_pairs(HHBuild(hh_path=str(SHARED_HH)))
    assert len(pairs) + sum(counts.values()) == 2312
    assert len(pairs) > 2000 and len({p.prompt for p in pairs}) == len(pairs)
    assert all(len(p.prompt) <= 400 and p.prompt.startswith("\n\nHuman:") and p.prompt.endswith("\n\nAssistant:")
               for p in pairs)
    assert all(p.chosen.startswith(" ") and p.chosen.strip() for p in pairs)
