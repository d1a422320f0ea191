"""Hugging Face Hub components of the ``cpu`` and ``paper`` text profiles, pinned by commit.

Every model and dataset is named by a ``HubRef`` (id + revision) in ``profiles/imdb.yaml`` /
``profiles/hh.yaml``. A revision is a commit sha quoted from a public source (see the YAML's
comments); ``revision: null`` means no verified sha was available when the profile was written:
the download then resolves ``main`` and the resolved commit is recorded in the split's manifest.
An id may also be a local folder (a model saved with ``save_pretrained``, a dataset folder of
parquet/JSON files): that is how the tests run these code paths without the hub.

Loading failures (no network, ``HF_HUB_OFFLINE=1``, a gated or missing repo) become one
``HubUnavailable`` line naming the component and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import AihfbenchError
from .models import device


class HubUnavailable(AihfbenchError):
    pass


@dataclass(frozen=True)
class HubRef:
    id: str
    revision: str | None = None

    @classmethod
    def of(cls, value: Any, what: str) -> "HubRef":
        if isinstance(value, HubRef):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return cls(value["id"], value.get("revision"))
        raise HubUnavailable(f"task.hub.{what} must be {{id: <hub id or local folder>, revision: <commit sha>}}, "
                             f"not {value!r}")

    @property
    def is_local(self) -> bool:
        return Path(self.id).is_dir()

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "revision": self.revision, "local": self.is_local}

    def __str__(self) -> str:
        return self.id if self.revision is None else f"{self.id}@{self.revision[:12]}"


RESOLVED: dict[str, str] = {}      # hub id -> the commit a model was loaded at (recorded in manifests)


def resolved_commits() -> dict[str, str]:
    """The commits hub models were loaded at in this process (``revision: null`` resolves ``main``)."""
    return dict(RESOLVED)


def _load(ref: HubRef, what: str, loader: Callable[..., Any], **kw: Any) -> Any:
    try:
        loaded = loader(ref.id, **({} if ref.is_local else {"revision": ref.revision}), **kw)
        commit = getattr(getattr(loaded, "config", None), "_commit_hash", None)
        if commit and not ref.is_local:
            RESOLVED[ref.id] = commit
        return loaded
    except OSError as exc:        # transformers' and datasets' offline / missing-repo errors are OSErrors
        reason = str(exc).strip().splitlines()[0][:160]
        raise HubUnavailable(
            f"cannot load the {what} {ref} from the Hugging Face Hub ({reason}): on a machine that reaches the "
            f"hub run `hf download {ref.id}{' --revision ' + ref.revision if ref.revision else ''}"
            f"{' --repo-type dataset' if what == 'dataset' else ''}` and share its HF_HOME cache, or use "
            "--profile offline") from None


def causal_lm(ref: HubRef):
    """``(model, tokenizer)`` of a causal LM: float32, left padding, pad = eos when it has none."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = _load(ref, "policy tokenizer", AutoTokenizer.from_pretrained)
    model = _load(ref, "policy model", AutoModelForCausalLM.from_pretrained, dtype=torch.float32)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def save_base(ref: HubRef, folder: Path) -> Path:
    """Download the policy base and save it (safetensors + tokenizer) as the split's ``base``."""
    model, tokenizer = causal_lm(ref)
    model.config._name_or_path = str(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def reward_model(ref: HubRef, seed: int = 0):
    """A reward model with a fresh scalar head on a hub base (paper: GPT-2 / Pythia-1.4B)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .models import TextReward

    torch.manual_seed(seed)
    tokenizer = _load(ref, "reward-model tokenizer", AutoTokenizer.from_pretrained)
    model = _load(ref, "reward-model base", AutoModelForSequenceClassification.from_pretrained, num_labels=1,
                  dtype=torch.float32).to(device())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return TextReward(model, tokenizer)


def dataset(ref: HubRef, split: str, data_dir: str | None = None):
    """A hub dataset split (``datasets.load_dataset``); ``data_dir`` selects a subset (HH's
    ``helpful-base``)."""
    from datasets import load_dataset

    return _load(ref, "dataset", load_dataset, split=split, **({"data_dir": data_dir} if data_dir else {}))


class ClassifierJudge:
    """A sequence classifier's logit for one label as the true reward (``lvwerra/distilbert-imdb``:
    POSITIVE is label 1, as in TRL's IMDb sentiment example)."""

    def __init__(self, ref: HubRef, label_index: int = 1, batch_size: int = 64):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.ref, self.label_index, self.batch_size = ref, int(label_index), batch_size
        self.tokenizer = _load(ref, "judge tokenizer", AutoTokenizer.from_pretrained)
        self.model = _load(ref, "judge", AutoModelForSequenceClassification.from_pretrained,
                           dtype=torch.float32).to(device())
        self.model.requires_grad_(False)
        self.model.train(False)

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(prompts), self.batch_size):
                enc = self._encode(prompts[i:i + self.batch_size], completions[i:i + self.batch_size])
                out.append(self.model(**enc.to(self.model.device)).logits[:, self.label_index].double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def _encode(self, prompts, completions):
        return self.tokenizer([p + c for p, c in zip(prompts, completions)], return_tensors="pt", padding=True,
                              truncation=True)


class PairJudge(ClassifierJudge):
    """A reward model read on (question, answer) pairs, e.g. ``OpenAssistant/reward-model-deberta-v3-large-v2``
    (its card: ``tokenizer(question, answer)``, score = ``logits[0]``)."""

    def __init__(self, ref: HubRef, batch_size: int = 16):
        super().__init__(ref, label_index=0, batch_size=batch_size)

    def _encode(self, prompts, completions):
        return self.tokenizer(list(prompts), [c.strip() for c in completions], return_tensors="pt", padding=True,
                              truncation=True)


def beaver_text(prompt: str, completion: str) -> str:
    """An HH dialogue in safe-rlhf's format: 'BEGINNING OF CONVERSATION: USER: … ASSISTANT:…'."""
    from .sources import ASSISTANT, HUMAN

    text = (prompt + completion).replace(HUMAN, " USER:").replace(ASSISTANT, " ASSISTANT:")
    return "BEGINNING OF CONVERSATION:" + text.rstrip()


class BeaverJudge(ClassifierJudge):
    """``PKU-Alignment/beaver-7b-v3.0-reward`` (paper's HH judge): safe-rlhf's ``AutoModelForScore``,
    read at ``end_scores`` (higher = more helpful). Needs ``pip install safe-rlhf`` and a GPU."""

    def __init__(self, ref: HubRef, batch_size: int = 8):
        try:
            from safe_rlhf.models import AutoModelForScore
        except ImportError:
            raise HubUnavailable("the HH paper judge PKU-Alignment/beaver-7b-v3.0-reward needs safe-rlhf's "
                                 "AutoModelForScore: pip install safe-rlhf (and a GPU with ~16 GB)") from None
        import torch
        from transformers import AutoTokenizer

        self.ref, self.batch_size = ref, batch_size
        self.tokenizer = _load(ref, "judge tokenizer", AutoTokenizer.from_pretrained)
        self.model = _load(ref, "judge", AutoModelForScore.from_pretrained, dtype=torch.bfloat16, device_map="auto")
        self.model.requires_grad_(False)

    def __call__(self, prompts, completions) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(prompts), self.batch_size):
                texts = [beaver_text(p, c) for p, c in zip(prompts[i:i + self.batch_size],
                                                            completions[i:i + self.batch_size])]
                enc = self.tokenizer(texts, return_tensors="pt", padding=True).to(self.model.device)
                out.append(self.model(**enc).end_scores[:, 0].float().cpu().double().numpy())
        return np.concatenate(out) if out else np.zeros(0)


JUDGES = {"classifier": ClassifierJudge, "pair": PairJudge, "beaver": BeaverJudge}


def judge(spec: dict[str, Any]):
    """The true reward named by ``task.hub.judge``: ``{id, revision, kind: classifier|pair|beaver,
    label_index}``."""
    kind = spec.get("kind", "classifier")
    if kind not in JUDGES:
        raise HubUnavailable(f"task.hub.judge.kind must be one of {', '.join(JUDGES)}, not {kind!r}")
    ref = HubRef.of(spec, "judge")
    return JUDGES[kind](ref, **({"label_index": spec["label_index"]} if "label_index" in spec else {}))
