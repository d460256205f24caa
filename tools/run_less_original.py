"""Run LESS's own Adam preconditioning on many generated inputs and write what it computed, as data.

    python tools/run_less_original.py --less LESS [--cases 100] [--out tests/fixtures/less_adam_original.json.gz]

LESS is a checkout of github.com/princeton-nlp/LESS at the commit rait.influence cites (another commit is refused
unless --any-commit):

    git clone https://github.com/princeton-nlp/LESS && git -C LESS checkout 1e4afda

``less/data_selection/collect_grad_reps.py`` is imported as it is; only the imports its two functions here do not use
are stubbed (functorch, gone from current torch). For each case, a small regression network (``Regression``: two
trained layers around a frozen one, so that the frozen parameters must be skipped in order) with random weights, one
batch, and random Adam moments by parameter name, as LESS loads the warm-up's optimizer state: LESS's
``prepare_optimizer_state`` flattens the moments and ``obtain_gradients_with_adam`` preconditions the batch's gradient.
The moments' second values span 1e-12 to 1 so that the eps inside the square root matters in some cases. Everything
is float64. What the fixture keeps per case: the sizes, the weights, the batch, the moments and LESS's vector.
``tests/test_influence.py`` rebuilds each network and expects rait's ``read_moments`` and ``adam_preconditioned`` to
give the same vector.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import torch

COMMIT = "1e4afda"
MODULE = "less/data_selection/collect_grad_reps.py"
REPO = Path(__file__).resolve().parents[1]


class Regression(torch.nn.Module):
    """inputs -> tanh(first) -> tanh(frozen) -> last, squared error against targets; ``model(**batch).loss`` as LESS
    calls a causal LM."""

    def __init__(self, inputs: int, hidden: int):
        super().__init__()
        self.first = torch.nn.Linear(inputs, hidden)
        self.frozen = torch.nn.Linear(hidden, hidden)
        self.last = torch.nn.Linear(hidden, 1)
        self.frozen.requires_grad_(False)

    def forward(self, inputs, targets):
        hidden = torch.tanh(self.frozen(torch.tanh(self.first(inputs))))
        return types.SimpleNamespace(loss=((self.last(hidden).squeeze(-1) - targets) ** 2).mean())


def network(case: dict) -> Regression:
    model = Regression(case["inputs"], case["hidden"]).double()
    model.load_state_dict({name: torch.tensor(value, dtype=torch.float64) for name, value in case["weights"].items()})
    return model


def load_less(less: Path):
    for name in ("functorch",):  # imported at the top of the module, used by none of the functions run here
        stub = types.ModuleType(name)
        stub.grad = stub.make_functional_with_buffers = stub.vmap = None
        sys.modules.setdefault(name, stub)
    spec = importlib.util.spec_from_file_location("collect_grad_reps", less / MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_case(generator: torch.Generator) -> dict:
    inputs, hidden = (int(torch.randint(1, 5, (1,), generator=generator)) for _ in range(2))
    rows = int(torch.randint(1, 4, (1,), generator=generator))
    model = Regression(inputs, hidden).double()
    weights = {name: (torch.randn(p.shape, generator=generator, dtype=torch.float64)).tolist()
               for name, p in model.state_dict().items()}
    scale = 10.0 ** float(torch.randint(-12, 1, (1,), generator=generator))
    moments = {name: {"exp_avg": (torch.randn(p.shape, generator=generator, dtype=torch.float64) * scale ** 0.5).tolist(),
                      "exp_avg_sq": (torch.rand(p.shape, generator=generator, dtype=torch.float64) * scale).tolist()}
               for name, p in model.named_parameters() if p.requires_grad}
    return {"inputs": inputs, "hidden": hidden, "weights": weights,
            "batch": {"inputs": torch.randn(rows, inputs, generator=generator, dtype=torch.float64).tolist(),
                      "targets": torch.randn(rows, generator=generator, dtype=torch.float64).tolist()},
            "moments": moments}


def run_less(less_module, case: dict) -> list[float]:
    model = network(case)
    state = {name: {key: torch.tensor(value, dtype=torch.float64) for key, value in entry.items()}
             for name, entry in case["moments"].items()}
    avg, avg_sq = less_module.prepare_optimizer_state(model, state, torch.device("cpu"))
    batch = {key: torch.tensor(value, dtype=torch.float64) for key, value in case["batch"].items()}
    return less_module.obtain_gradients_with_adam(model, batch, avg, avg_sq).tolist()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--less", type=Path, required=True, help="a checkout of princeton-nlp/LESS")
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "tests/fixtures/less_adam_original.json.gz")
    parser.add_argument("--any-commit", action="store_true", help="run another commit of LESS than the one cited")
    args = parser.parse_args(argv)
    head = subprocess.run(["git", "-C", str(args.less), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    if not head.startswith(COMMIT) and not args.any_commit:
        raise SystemExit(f"{args.less} is at {head[:7]}, not {COMMIT} (the commit rait.influence cites)")
    less_module = load_less(args.less)
    generator = torch.Generator().manual_seed(args.seed)
    cases = []
    for _ in range(args.cases):
        case = make_case(generator)
        cases.append({**case, "less": run_less(less_module, case)})
    with gzip.open(args.out, "wt", encoding="utf-8") as handle:
        json.dump({"less_commit": head, "module": MODULE, "cases": cases}, handle)
    print(f"{args.out}: {len(cases)} cases of LESS {head[:7]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
