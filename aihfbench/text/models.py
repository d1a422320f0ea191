"""Language-model pieces of the text family (transformers + TRL), CPU-friendly.

- ``train_tokenizer``: a byte-level BPE tokenizer trained on a corpus (``tokenizers``).
- ``build_offline_base``: the offline profile's small GPT-2-style policy, pre-trained with
  TRL's ``SFTTrainer`` on plain text; saved with ``save_pretrained`` (safetensors).
- ``TextPolicy``: a causal LM + tokenizer: sampling and completion log-probabilities.
- ``TextReward``: a sequence-classification reward model scored exactly as TRL's
  ``RewardTrainer`` trains it (prompt + completion + eos, right padding, last real token).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Sequence

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EOS, PAD = "<|endoftext|>", "<pad>"



def device() -> torch.device:
    """Where text models live: ``$AIHFBENCH_DEVICE``, else the first GPU when there is one, else
    the CPU. (The CPU path is the tested one; no GPU was available to this project's checks.)"""
    return torch.device(os.environ.get("AIHFBENCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))


# Every TRL config here runs in float32 without checkpointing (TRL's defaults assume a GPU with
# bf16=True and gradient checkpointing on), on the CPU unless ``device()`` is a GPU.
TRAINER_DEFAULTS = dict(use_cpu=device().type == "cpu", bf16=False, fp16=False, activation_checkpointing=False,
                        report_to="none", save_strategy="no", logging_steps=10, dataloader_num_workers=0,
                        disable_tqdm=True)


def step_progress(progress, stage: str):
    """A ``TrainerCallback`` reporting ``progress(stage, step, max_steps)`` every 10 steps."""
    from transformers import TrainerCallback

    class _StepProgress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if progress is not None and (state.global_step % 10 == 0 or state.global_step == state.max_steps):
                progress(stage, state.global_step, state.max_steps)

    return _StepProgress()


def quiet(trainer):
    """Drop transformers' console printer (its per-step dicts would flood ``aihfbench run``);
    the runner's curve and progress bar report instead."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    return trainer


def train_tokenizer(texts: Sequence[str], vocab_size: int = 2000):
    """Byte-level BPE on ``texts`` (deterministic), wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS, PAD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=PAD)
    hf.padding_side = "left"
    return hf


def gpt2_config(tokenizer, *, n_layer: int = 2, n_embd: int = 128, n_head: int = 4, n_positions: int = 128, **kw):
    from transformers import GPT2Config

    return GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                      n_head=n_head, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                      pad_token_id=tokenizer.pad_token_id, **kw)


def build_offline_base(folder: str | Path, texts: Sequence[str], *, seed: int = 0, steps: int = 600,
                       batch_size: int = 32, lr: float = 1e-3, vocab_size: int = 2000, n_layer: int = 2,
                       n_embd: int = 128, n_positions: int = 128, progress=None) -> Path:
    """Train a tokenizer and pre-train a small GPT-2 on ``texts``; save both into ``folder``."""
    from transformers import GPT2LMHeadModel

    tokenizer = train_tokenizer(texts, vocab_size)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(gpt2_config(tokenizer, n_layer=n_layer, n_embd=n_embd, n_positions=n_positions))
    return train_lm(model, tokenizer, folder, texts, seed=seed, steps=steps, batch_size=batch_size, lr=lr,
                    progress=progress)


def train_lm(model, tokenizer, folder: str | Path, texts: Sequence[str], *, seed: int = 0, steps: int = 600,
             batch_size: int = 32, lr: float = 1e-3, warmup: int = 50, progress=None) -> Path:
    """Language-model training on plain ``texts`` with TRL's ``SFTTrainer`` (pre-training the
    offline base, or the paper's "full-SFT" of a hub model on HH's chosen dialogues); the
    model and tokenizer are saved into ``folder`` (safetensors)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    folder = Path(folder)
    model.config._name_or_path = str(folder)
    args = SFTConfig(output_dir=str(folder / ".trainer"), max_steps=steps, per_device_train_batch_size=batch_size,
                     learning_rate=lr, lr_scheduler_type="cosine", warmup_steps=min(warmup, steps // 10),
                     max_length=context_length(model), dataset_text_field="text", seed=seed, **TRAINER_DEFAULTS)
    trainer = quiet(SFTTrainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": list(texts)}),
                               processing_class=tokenizer, callbacks=[step_progress(progress, "base model")]))
    trainer.train()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def load_tokenizer(folder: str | Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    tok.padding_side = "left"
    return tok


class TextPolicy:
    """A causal LM and its tokenizer; ``act``-free: text policies generate and score."""

    def __init__(self, model, tokenizer, *, max_new_tokens: int = 24):
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, max_new_tokens

    @classmethod
    def load(cls, folder: str | Path, **kw: Any) -> "TextPolicy":
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).to(device())
        model.config._name_or_path = str(folder)
        return cls(model, load_tokenizer(folder), **kw)

    def copy(self, trainable: bool = False) -> "TextPolicy":
        """An independent copy, rebuilt from config and weights: TRL trainers patch a model's
        ``forward`` on the instance, and a deep copy would keep calling the original."""
        model = type(self.model)(self.model.config).to(self.model.device)
        model.load_state_dict(self.model.state_dict())
        model.generation_config = copy.deepcopy(self.model.generation_config)
        model.requires_grad_(trainable)
        model.train(False)
        return TextPolicy(model, self.tokenizer, max_new_tokens=self.max_new_tokens)

    def parameters(self):
        return self.model.parameters()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Parameters for safetensors: tied weights (GPT-2's lm_head = wte) stored once."""
        out, seen = {}, set()
        for name, tensor in self.model.state_dict().items():
            if tensor.data_ptr() not in seen:
                seen.add(tensor.data_ptr())
                out[name] = tensor
        return out

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], *, seed: int, temperature: float = 1.0, greedy: bool = False,
                 batch_size: int = 64) -> list[str]:
        """One completion per prompt (sampled at ``temperature``, or greedy), text after the prompt."""
        self.model.eval()
        tok = self.tokenizer
        torch.manual_seed(seed)
        out = []
        for i in range(0, len(prompts), batch_size):
            enc = tok(list(prompts[i:i + batch_size]), return_tensors="pt", padding=True).to(self.model.device)
            ids = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=not greedy,
                                      temperature=temperature if not greedy else None, top_k=0 if not greedy else None,
                                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            out += tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return out

    def log_prob(self, prompts: Sequence[str], completions: Sequence[str]) -> torch.Tensor:
        """``[B]`` Σ log π(completion tokens | prompt) (with grad if the model has it)."""
        ids, attention, mask = (t.to(self.model.device) for t in completion_batch(self.tokenizer, prompts, completions))
        logits = self.model(input_ids=ids, attention_mask=attention).logits[:, :-1]
        token_logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        return (token_logp * mask[:, 1:]).sum(-1)


def completion_batch(tokenizer, prompts: Sequence[str], completions: Sequence[str]):
    """Right-padded ``prompt + completion`` token ids, attention mask and a completion-token
    mask (prompt tokens and padding 0), tokenised as TRL's SFT/DPO trainers do: prompt ids,
    then completion ids, no separator added."""
    rows, masks = [], []
    for p, c in zip(prompts, completions):
        p_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
        c_ids = tokenizer(c, add_special_tokens=False)["input_ids"]
        rows.append(p_ids + c_ids)
        masks.append([0] * len(p_ids) + [1] * len(c_ids))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([m + [0] * (width - len(m)) for m in masks], dtype=torch.float32)
    return ids, attention, mask


class TextReward(torch.nn.Module):
    """r_θ(x, y): a GPT-2 sequence classifier read at the eos after ``prompt + completion``."""

    def __init__(self, model, tokenizer):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer

    @classmethod
    def from_policy_base(cls, folder: str | Path, seed: int = 0) -> "TextReward":
        """Reward model on the policy's base network (paper: GPT-2 reward base), fresh scalar head."""
        from transformers import AutoModelForSequenceClassification

        from transformers.utils import logging

        torch.manual_seed(seed)
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()     # the fresh head is expected: no "MISSING score.weight" report
        try:
            model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1,
                                                                       dtype=torch.float32).to(device())
        finally:
            logging.set_verbosity(verbosity)
        tok = load_tokenizer(folder)
        model.config.pad_token_id = tok.pad_token_id
        return cls(model, tok)

    @classmethod
    def load(cls, folder: str | Path) -> "TextReward":
        """A trained reward model saved with ``save`` (head included)."""
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1,
                                                                   dtype=torch.float32).to(device())
        model.requires_grad_(False)
        model.train(False)
        return cls(model, load_tokenizer(folder))

    def save(self, folder: str | Path) -> None:
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))

    @torch.no_grad()
    def score(self, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 64):
        """``[N]`` numpy rewards, in batches, no gradient (a judge's use)."""
        import numpy as np

        self.model.train(False)
        return np.concatenate([self(prompts[i:i + batch_size], completions[i:i + batch_size]).double().cpu().numpy()
                               for i in range(0, len(prompts), batch_size)]) if len(prompts) else np.zeros(0)

    def forward(self, prompts: Sequence[str], completions: Sequence[str]) -> torch.Tensor:
        """``[B]`` rewards; right padding + eos, as ``RewardTrainer`` scores pairs."""
        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "right"
        try:
            enc = tok([p + c + tok.eos_token for p, c in zip(prompts, completions)], return_tensors="pt",
                      padding=True, add_special_tokens=False)
        finally:
            tok.padding_side = side
        return self.model(**enc.to(self.model.device)).logits[:, 0]


def train_reward(reward: TextReward, prompts: Sequence[str], chosen: Sequence[str], rejected: Sequence[str], *,
                 steps: int, batch_size: int = 16, lr: float = 1e-4, seed: int = 0, workdir: str | Path,
                 progress=None) -> list[dict]:
    """Fit ``reward`` on labelled pairs with TRL's ``RewardTrainer`` (BTL); returns its log history."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    data = Dataset.from_dict({"prompt": list(prompts), "chosen": list(chosen), "rejected": list(rejected)})
    reward.model.requires_grad_(True)
    args = RewardConfig(output_dir=str(Path(workdir) / ".reward-trainer"), max_steps=steps,
                        per_device_train_batch_size=batch_size, learning_rate=lr, lr_scheduler_type="cosine",
                        warmup_steps=min(20, steps // 10), max_length=context_length(reward.model), seed=seed,
                        **TRAINER_DEFAULTS)
    trainer = quiet(RewardTrainer(model=reward.model, args=args, train_dataset=data,
                                  processing_class=reward.tokenizer, callbacks=[step_progress(progress, "judge")]))
    trainer.train()
    reward.model.requires_grad_(False)
    reward.model.train(False)
    return trainer.state.log_history


def context_length(model) -> int:
    """Positions a model (or its config) can attend over (GPT-2 ``n_positions``, GPT-NeoX/Llama
    ``max_position_embeddings``)."""
    config = getattr(model, "config", model)
    return int(getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings"))
