"""Where every file of a run lies: one definition of the output layout, with a parser for the names that are read
back (the report finds evaluations, knowledge labels and flows on disk).

Each path function's arguments default to their wildcards, so ``LAYOUT.eval_file()`` is the rule's output pattern
``results/eval/{model}_{method}.json`` and ``LAYOUT.eval_file("llama2_7b", "dpo")`` the file of one evaluation.
The user-facing names never change: ``results/eval/{model}_{method}.json``, ``results/{summary}.csv``.

A model key, a stage and a method may hold ``_``, which also joins them in ``{model}_{method}``: a name is read
back against the configured models and the registry's methods (``parse_eval``), never by splitting at a ``_``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath

# Inside a trained checkpoint, beside the weights: the training statistics, the trainer's whole log history (one
# logged step per line: loss, learning rate, rewards, KL, ...), and TensorBoard's event files when hparams ask for
# them (report_to: tensorboard).
STATS_FILE = "training_stats.json"
LOG_HISTORY_FILE = "log_history.jsonl"
TENSORBOARD_DIR = "tensorboard"


@dataclasses.dataclass(frozen=True)
class Layout:
    root: str = "results"

    # ---- stage 1-2: questions and models -------------------------------------------------------------------------

    def world(self) -> str:
        return f"{self.root}/synthetic/world.jsonl"

    def questions(self, dataset: str = "{dataset}", split: str = "{split}") -> str:
        return f"{self.root}/data/{dataset}/{split}.jsonl"

    def model(self, model: str = "{model}") -> str:
        """A model made by the DAG (downloaded, converted, pretrained)."""
        return f"{self.root}/models/{model}"

    def checkpoint(self, model: str = "{model}", stage: str = "{stage}") -> str:
        return f"{self.root}/checkpoints/{model}_{stage}"

    def merged_checkpoint(self, model: str = "{model}", stage: str = "{stage}") -> str:
        """A stage's full checkpoint for use outside the DAG (rule export_merged); nothing in the DAG reads it."""
        return f"{self.root}/merged/{model}_{stage}"

    # ---- stage 3-5: samples, knowledge, CRaFT, training data -----------------------------------------------------

    def sample_shard(self, model="{model}", dataset="{dataset}", split="{split}", shard="{shard}",
                     shards="{shards}") -> str:
        return f"{self.root}/samples/{model}/shards/{dataset}_{split}/{shard}-of-{shards}.jsonl"

    def samples(self, model: str = "{model}", dataset: str = "{dataset}", split: str = "{split}",
                stage: str | None = None) -> str:
        """The base model's samples, or (``stage``) those of a stage's checkpoint."""
        folder = model if stage is None else f"{model}/{stage}"
        return f"{self.root}/samples/{folder}/{dataset}_{split}.jsonl"

    def heldout_samples(self, model: str = "{model}", stage: str = "{stage}") -> str:
        """A stage's checkpoint's samples of the train questions its own training set left out."""
        return f"{self.root}/samples/{model}/{stage}/heldout.jsonl"

    def knowledge(self, model: str = "{model}", dataset: str = "{dataset}", split: str = "{split}",
                  kind: str | None = None) -> str:
        """Knowledge labels, or (``kind``: ``certainty``, ``rehearsed``, ``flow``) CRaFT's per-question files."""
        folder = model if kind is None else f"{model}/{kind}"
        return f"{self.root}/knowledge/{folder}/{dataset}_{split}.jsonl"

    def gradients(self, model: str = "{model}", dataset: str = "{dataset}", split: str = "{split}") -> str:
        """GRAIT's gradient features of a split's questions (rait.influence), numpy arrays by question."""
        return f"{self.root}/knowledge/{model}/gradients/{dataset}_{split}.npz"

    def train_data(self, model: str = "{model}", stage: str = "{stage}") -> str:
        return f"{self.root}/train_data/{model}_{stage}.jsonl"

    # ---- stage 7-8: answers, evaluations, the comparison ---------------------------------------------------------

    def predictions(self, model: str = "{model}", method: str = "{method}", dataset: str = "{dataset}") -> str:
        return f"{self.root}/predictions/{model}_{method}/{dataset}_test.jsonl"

    def engine_address(self, model: str = "{model}") -> str:
        """The address file of the model's engine service (rait.answer_service): a service output, there while the
        service runs."""
        return f"{self.root}/engines/{model}.json"

    def judgments(self, judge: str = "{judge}", model: str = "{model}", method: str = "{method}",
                  dataset: str = "{dataset}") -> str:
        return f"{self.root}/judgments/{judge}/{model}_{method}/{dataset}_test.jsonl"

    def eval_file(self, model: str = "{model}", method: str = "{method}") -> str:
        return self.eval_named(f"{model}_{method}")

    def eval_named(self, name: str = "{name}") -> str:
        """An eval folder's JSON file by its name (what a glob of the folder finds, parse_eval reads)."""
        return f"{self.root}/eval/{name}.json"

    def graded_answers(self, model: str = "{model}", method: str = "{method}") -> str:
        return f"{self.root}/eval/{model}_{method}.graded.jsonl"

    def curves(self, model: str = "{model}", method: str = "{method}") -> str:
        return f"{self.root}/eval/curves/{model}_{method}.json"

    def summary(self, summary: str = "{summary}", suffix: str = "csv") -> str:
        return f"{self.root}/{summary}.{suffix}"

    def report(self, summary: str = "{summary}", category: str = "{category}") -> str:
        return f"{self.root}/report/{summary}/{category}"

    # ---- logs and benchmarks: one file per job, named by its rule ------------------------------------------------

    def log(self, rule: str, job: str) -> str:
        return f"{self.root}/logs/{rule}/{job}.log"

    def benchmark(self, rule: str, job: str) -> str:
        return f"{self.root}/benchmarks/{rule}/{job}.tsv"

    # ---- names read back ------------------------------------------------------------------------------------------

    def parse_eval(self, path: str, models, methods) -> tuple[str, str] | None:
        """(model, method) of ``results/eval/{model}_{method}.json`` for a configured model and a registry method,
        else None (a stray JSON file, a sidecar). One name has one reading: the model key and the method must both
        be known, and a name that two splits would read is refused by ``check_unambiguous``."""
        path = PurePosixPath(Path(path).as_posix())
        if path.parent != PurePosixPath(self.root) / "eval" or path.suffix != ".json":
            return None
        readings = eval_readings(path.stem, models, methods)
        return readings[0] if len(readings) == 1 else None

    def parse_knowledge(self, path: str) -> dict:
        """{model, dataset, split, kind} of a ``knowledge`` file (``kind`` None for the labels). A split holds no
        ``_`` (the wildcard constraint), so the name's last ``_`` separates it from the dataset."""
        path = Path(path)
        kind = None if path.parent.parent.name == "knowledge" else path.parent.name
        model = path.parent.name if kind is None else path.parent.parent.name
        dataset, split = path.stem.rsplit("_", 1)
        return {"model": model, "dataset": dataset, "split": split, "kind": kind}


def eval_readings(name: str, models, methods) -> list[tuple[str, str]]:
    """Every (model, method) of configured ``models`` and registry ``methods`` whose ``{model}_{method}`` is
    ``name``."""
    return [(name[: -len(method) - 1], method) for method in methods
            if name.endswith(f"_{method}") and name[: -len(method) - 1] in models]


def check_unambiguous(models, methods) -> None:
    """Two (model, method) pairs with one file name would overwrite each other's evaluation (a model ``a_sft`` with
    the method ``dpo`` and a model ``a`` with a method ``sft_dpo``): refused when the plan is built."""
    from rait.errors import RaitError

    for model in models:
        for method in methods:
            readings = eval_readings(f"{model}_{method}", models, methods)
            if len(readings) > 1:
                shown = " and ".join(f"model {m!r} with method {n!r}" for m, n in readings)
                raise RaitError(f"config key models: {shown} would write the same results/eval/{model}_{method}.json;"
                                " rename the model")


LAYOUT = Layout()
