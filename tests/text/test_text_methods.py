"""Text primitives on the tiny offline IMDb build: scoring matches TRL's trainers, losses equal
their closed forms, the RL step moves the true reward, and all five methods run end to end."""
import math

import numpy as np
import pytest
import torch

import aihfbench
from aihfbench.algos.aihf_dpo import implicit_alignment_loss
from aihfbench.families.text import Pairs, Texts
from aihfbench.losses import btl_loss, dpo_loss
from aihfbench.runner import Cell, run


@pytest.fixture(scope="module")
def imdb(imdb_data):
    task = aihfbench.make("imdb", build=False, eval_prompts=48, heldout_pairs=32, max_new_tokens=16)
    return task, task.primitives(seed=0)


def manual_log_prob(policy, prompt, completion):
    """Σ log π(token) over the completion tokens, token by token from the model's logits."""
    tok = policy.tokenizer
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tok(completion, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p_ids + c_ids])
    with torch.no_grad():
        logp = torch.log_softmax(policy.model(input_ids=ids).logits[0], -1)
    return sum(float(logp[len(p_ids) + i - 1, t]) for i, t in enumerate(c_ids))


def test_sequence_log_probs_and_dpo_losses_equal_their_closed_forms(imdb):
    task, fam = imdb
    reference = task.base_policy()
    policy = fam.make_policy(reference)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.02 * torch.randn_like(p))
    prompts = ["This movie is", "The acting was", "I thought the plot"]
    good, bad = [" wonderful and moving.", " great fun.", " was clever."], [" awful.", " dull and slow.", " a waste."]
    ratio = lambda c: np.array([manual_log_prob(policy.policy, p, x) - manual_log_prob(reference, p, x)   # noqa: E731
                                for p, x in zip(prompts, c)])
    got = fam.log_ratio(policy, Texts(prompts, good)).detach().numpy()
    assert np.allclose(got, ratio(good), atol=1e-4)
    beta = 0.1
    pref = np.mean([math.log1p(math.exp(-beta * d)) for d in ratio(good) - ratio(bad)])
    pairs = Pairs(Texts(prompts, good), Texts(prompts, bad))
    assert dpo_loss(fam.log_ratio(policy, pairs.chosen), fam.log_ratio(policy, pairs.rejected), beta).item() == \
        pytest.approx(pref, rel=1e-4)
    samples = Texts(prompts, [" fine.", " okay.", " so so."], demonstrations=good)
    contrast = fam.contrast_pairs(Texts(prompts[:1], bad[:1]), samples)     # paired with each prompt's own demo
    assert contrast.chosen.completions == good and contrast.rejected.prompts == prompts
    demo = np.mean([math.log1p(math.exp(-beta * d)) for d in ratio(good) - ratio([" fine.", " okay.", " so so."])])
    for alpha in (0.0, 1.0):
        assert implicit_alignment_loss(fam, policy, pairs, contrast, alpha, beta).item() == \
            pytest.approx((pref + alpha * demo) / (1 + alpha), rel=1e-4)


def test_reward_model_scores_pairs_as_trls_reward_trainer_does(imdb):
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from aihfbench.text.models import TRAINER_DEFAULTS, quiet

    task, fam = imdb
    reward = fam.make_reward()
    pairs = fam.pref_batch(task.preferences(100), 16)
    ours = btl_loss(fam.returns(reward, pairs.chosen), fam.returns(reward, pairs.rejected)).item()
    data = Dataset.from_dict({"prompt": pairs.chosen.prompts, "chosen": pairs.chosen.completions,
                              "rejected": pairs.rejected.completions})
    args = RewardConfig(output_dir=str(task.folder / ".rt"), per_device_eval_batch_size=16, max_length=128,
                        **TRAINER_DEFAULTS)
    trainer = quiet(RewardTrainer(model=reward.model, args=args, train_dataset=data, eval_dataset=data,
                                  processing_class=reward.tokenizer))
    assert trainer.evaluate()["eval_loss"] == pytest.approx(ours, rel=1e-4)


def test_the_rl_step_raises_a_reward_it_is_given(imdb):
    """RLOO against the *true* reward (VADER) from the base model: the reward goes up."""
    from aihfbench.text.rl import RLOOLearner, RLSettings

    task, fam = imdb
    base = task.base_policy()
    prompts = task.train_prompts()
    before = task.true_reward(prompts, base.generate(prompts, seed=1)).mean()
    learner = RLOOLearner(base.copy(trainable=True), base, task.true_reward, prompts,
                          RLSettings(learning_rate=1e-4, prompts_per_step=8, num_generations=4, max_completion_length=16),
                          seed=0)
    policy = learner.learn(20)
    policy = learner.learn(20)                     # a second call continues the same learner
    after = task.true_reward(prompts, policy.generate(prompts, seed=1)).mean()
    learner.close()
    assert learner.steps_done == 40
    assert after > before + 0.05, (before, after)


@pytest.mark.parametrize("algo", ["bc", "rlhf", "dpo", "aihf", "aihf-dpo"])
def test_each_method_runs_offline_and_reports_the_text_metrics(algo, imdb, tmp_path):
    record = run(Cell(task="imdb", algo=algo, demos=100, prefs=100, seed=0, profile="smoke",
                      overrides=("task.eval_prompts=48", "task.max_new_tokens=16")), out=tmp_path)
    m = record["metrics"]
    assert -1.0 <= m["true_reward"] <= 1.0 and 0.0 <= m["win_rate_vs_base"] <= 1.0
    if algo != "aihf":
        # methods that start from SFT on the high-quality demonstrations beat the base model's
        # completions (seeded run; measured 0.55-0.63 here). AIHF starts from the base itself and
        # makes 2 x 3 RLOO steps at this budget: it barely moves (0.51, KL 0.04), so no claim.
        assert m["win_rate_vs_base"] > 0.5
    assert np.isfinite(m["kl_to_base"]) and m["generation_tokens_per_s"] > 0
    if algo in ("rlhf", "aihf"):
        assert 0.0 <= m["reward_accuracy"] <= 1.0 and np.isfinite(m["reward_spearman"])
        learned = record["task_record"]["eval_learned_rewards"]              # calibration data (Fig. 8)
        from scipy.stats import spearmanr
        assert len(learned) == 48
        assert m["reward_spearman_policy"] == pytest.approx(
            spearmanr(learned, record["task_record"]["eval_true_rewards"]).statistic, abs=1e-3)
        assert record["fit_info"]["rl_steps"] > 0
    assert len(record["task_record"]["samples"]) == 8
    rewards = record["task_record"]["eval_true_rewards"]       # per held-out prompt, for paired win rates
    assert len(rewards) == 48 and np.mean(rewards) == pytest.approx(m["true_reward"], abs=1e-5)
    assert (tmp_path / record["run_dir"] / "policy.safetensors").is_file()
    # the stored policy, reloaded into the base architecture, repeats the metrics (leaderboard check)
    task = aihfbench.make("imdb", build=False, **record["task_kwargs"])
    again = task.recompute_metrics({**record, "_path": str(tmp_path / record["run_dir"] / "result.json")})
    for key in ("true_reward", "kl_to_base", "win_rate_vs_base"):
        assert again[key] == pytest.approx(m[key], abs=1e-4), key


def test_sft_on_high_quality_demonstrations_raises_the_true_reward(imdb, log):
    task, fam = imdb
    demos = task.demos()
    assert np.mean(demos.columns["true_reward"]) > task._eval_set["base_reward"].mean()   # the build's premise

    from aihfbench.algos.bc import BCConfig

    sft = fam.imitate(demos, BCConfig(lr=5e-4, batch_size=16, steps=80), log)
    assert task.evaluate(sft)["true_reward"] > task._eval_set["base_reward"].mean()


def test_hub_data_needs_hub_components(imdb):
    from aihfbench.errors import AihfbenchError

    with pytest.raises(AihfbenchError, match="needs task.hub components"):
        aihfbench.make("imdb", data="paper")
    with pytest.raises(AihfbenchError, match="task.data must be one of offline, smollm2, cpu, paper"):
        aihfbench.make("imdb", data="cloud")
