"""A stage's checkpoint as its consumers read it: a full model, or a LoRA adapter over a base (issue 26).

A LoRA stage stored as an adapter (``training.lora_storage: adapter``) holds PEFT's adapter files, the tokenizer,
its statistics, and ``ADAPTER_FILE``: the full checkpoint it applies to (``base``, as the plan names it: the
model, or a stage trained in full such as CRaFT's rehearsal), that checkpoint's fingerprint and the class of the
model (a reward model is a sequence classifier: its adapter file also holds the score head it trained whole, as
PEFT saves it). The adapter is the whole chain's (``rait.adapters.stack``): a stage that starts from another adapter
stage stores the parent's update and its own as one, so that every consumer applies one adapter to one base.
Consumers load through ``load_model`` (the base with the adapter merged in memory) whatever the checkpoint is; a
trainer starting from
an adapter stage starts from ``materialize``'s merged copy in its scratch folder, so that DPO's reference and RL's
KL anchor are the parent as before.

An adapter whose base is gone or is another model than the one it was trained on (another revision, another
key) is refused before any engine loads, naming both: the fingerprint is the base's ``config.json`` and the names
and sizes of its weight files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rait.adapters import CONFIG_FILE, WEIGHTS_FILE, Adapter, read_adapter, write_adapter_files
from rait.errors import RaitError

ADAPTER_FILE = "rait_adapter.json"
# an SFT stage with adam_moments: its optimizer's Adam moments of the trainable parameters, by name (rait.influence)
MOMENTS_FILE = "adam_moments.safetensors"
CAUSAL_LM = "AutoModelForCausalLM"
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def is_adapter(path) -> bool:
    return (Path(path) / ADAPTER_FILE).is_file()


def same_checkpoint(a, b) -> bool:
    """Whether two paths name one checkpoint folder."""
    return Path(a).resolve() == Path(b).resolve()


def adapter_over(checkpoint, base, engine: str) -> bool:
    """How an engine loaded over the full checkpoint ``base`` serves ``checkpoint``: as an adapter over it (True),
    or as ``base`` itself (False); anything else is an error naming both."""
    if same_checkpoint(checkpoint, base):
        return False
    if is_adapter(checkpoint) and same_checkpoint(adapter_base(checkpoint), base):
        return True
    raise RaitError(f"{engine} over {base} cannot serve {checkpoint}: neither that checkpoint nor an adapter over it")


def fingerprint(folder) -> str:
    """The base checkpoint's identity: its config.json and the names and sizes of its weight files (cheap for a
    16 GB model, and it changes with another model or revision)."""
    folder = Path(folder)
    config = folder / "config.json"
    if not config.is_file():
        raise RaitError(f"{folder}: no config.json: not a checkpoint folder")
    digest = hashlib.sha256(config.read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix in WEIGHT_SUFFIXES:
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _record(path) -> dict:
    """An adapter checkpoint's ``ADAPTER_FILE``: its base, the base's fingerprint, its stacked rank."""
    record_path = Path(path) / ADAPTER_FILE
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        return {"base": str(record["base"]), "fingerprint": record.get("fingerprint"), "rank": int(record["rank"]),
                "model_class": str(record.get("model_class", CAUSAL_LM))}
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise RaitError(f"{record_path}: unreadable adapter record ({err}); retrain the stage") from None


def adapter_base(path) -> str:
    """The full checkpoint an adapter checkpoint applies to, checked to be the one it was trained on."""
    record = _record(path)
    base = record["base"]
    if not Path(base).is_dir():
        raise RaitError(f"{path}: its base checkpoint {base} is gone")
    found = fingerprint(base)
    if found != record["fingerprint"]:
        raise RaitError(f"{path}: trained on a base with fingerprint {record['fingerprint']}, but {base} is "
                        f"now {found} (another model or revision under that path): retrain the stage")
    return base


def adapter_rank(path) -> int:
    """The stacked rank an adapter checkpoint's record states."""
    return _record(path)["rank"]


def adapter_model_class(path) -> str:
    """The transformers auto class an adapter checkpoint's model is (a reward model: a sequence classifier)."""
    return _record(path)["model_class"]


def write_adapter_checkpoint(adapter: Adapter, base: str, folder: Path, model_class: str = CAUSAL_LM) -> None:
    """The adapter's files and its record into ``folder`` (the caller's atomic scratch folder)."""
    write_adapter_files(adapter, folder)
    record = {"base": str(base), "fingerprint": fingerprint(base), "rank": adapter.rank, "model_class": model_class}
    (Path(folder) / ADAPTER_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def chain_of(start) -> tuple[str, list[Adapter]]:
    """(base, adapters) a stage starting from ``start`` stacks its own adapter onto: an adapter checkpoint's
    base and stacked adapter, or ``start`` itself and none."""
    if is_adapter(start):
        return adapter_base(start), [read_adapter(start)]
    return str(start), []


def check_adapter_files(path) -> None:
    """An adapter checkpoint's files are all there: checked before its base loads (minutes for a large model)."""
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (Path(path) / name).is_file():
            raise RaitError(f"{path}: no {name}: a half-written adapter checkpoint; retrain the stage")


def load_causal_lm(path, **kwargs):
    """``AutoModelForCausalLM.from_pretrained(path, **kwargs)``, or for an adapter checkpoint its base with the
    adapter merged in (the model the stage trained, to rounding)."""
    return load_model(path, CAUSAL_LM, **kwargs)


def load_model(path, model_class: str, **kwargs):
    """``model_class.from_pretrained(path, **kwargs)`` (a transformers auto class's name), or for an adapter
    checkpoint its base loaded as that class with the adapter, and any module it trained whole (a reward model's
    score head), merged in. A sequence classifier has one label, as rait's reward models."""
    import transformers

    auto = getattr(transformers, model_class)
    if model_class == "AutoModelForSequenceClassification":
        kwargs = {"num_labels": 1, **kwargs}
    if not is_adapter(path):
        return auto.from_pretrained(str(path), **kwargs)
    from peft import PeftModel

    stored = adapter_model_class(path)
    if stored != model_class:
        raise RaitError(f"{path}: an adapter of a {stored}, not of a {model_class}")
    base_path = adapter_base(path)
    check_adapter_files(path)
    base = auto.from_pretrained(base_path, **kwargs)
    return PeftModel.from_pretrained(base, str(path)).merge_and_unload()


def export(path, folder) -> Path:
    """A full checkpoint of any stage in ``folder``, to upload or serve elsewhere: an adapter merged into its
    base, a full checkpoint copied; written atomically either way."""
    import shutil

    from rait.io import atomic_dir

    if is_adapter(path):
        return materialize(path, folder, keep=False)
    with atomic_dir(folder) as tmp:
        shutil.copytree(path, tmp, dirs_exist_ok=True)
    return Path(folder)


def materialize(path, folder, keep: bool = True) -> Path:
    """A full checkpoint (weights and tokenizer) of the adapter checkpoint ``path`` in ``folder``, written
    atomically; with ``keep``, a complete one already there is kept (a resumed training job)."""
    from transformers import AutoConfig, AutoTokenizer

    from rait.io import atomic_dir

    folder = Path(folder)
    if keep and (folder / "config.json").is_file():
        return folder
    dtype = AutoConfig.from_pretrained(adapter_base(path)).dtype
    model = load_model(path, adapter_model_class(path), dtype=dtype or "auto")
    with atomic_dir(folder) as tmp:
        model.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(path)).save_pretrained(tmp)
    return folder
