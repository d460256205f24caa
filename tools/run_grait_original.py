"""Run GRAIT's own selection script on many generated inputs and write what it chose, as data.

    python tools/run_grait_original.py --grait GRAIT [--cases 200] [--out tests/fixtures/grait_original.json.gz]

GRAIT is a checkout of github.com/opendatalab/GRAIT at the commit rait.construct.grait cites (another commit is
refused unless --any-commit):

    git clone https://github.com/opendatalab/GRAIT && git -C GRAIT checkout 2be8d64

``data_process/get_grait_data/construct_grait_data.py`` is executed as it is, with only its file names and its three
counts (4000 vanilla, 1000 idk, the 500 of its softmax) replaced, each replacement checked to occur as often as
expected. Each case writes its inputs in the script's formats: the data file (``KQ.correct_init``, ``entropy_init``)
and the three inner-product matrices as ``.pt`` files, computed from small integer gradient rows so that every sum
is exact in float32 and float64 alike (rait computes in float64), and ties are common. Correctness values lie on a
grid of tenths, so 0.5 itself, in neither group, occurs. What the fixture keeps per case: the rows, the correctness,
the counts, and the script's result: the vanilla and idk positions of what it wrote (its ``index`` field) and its
``softmax_alphas`` of the idk examples. ``tests/test_construct_grait.py`` runs rait.construct.grait.select on each
case and expects the same choice and the same weights.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

COMMIT = "2be8d64"
SCRIPT = "data_process/get_grait_data/construct_grait_data.py"
REPO = Path(__file__).resolve().parents[1]


def patched_source(source: str, folder: Path, vanilla: int, idk: int, scale: int) -> str:
    replacements = [
        ("/mnt/petrelfs/zhurunchuan/code/LESS/data/train/our/mmlu.json", str(folder / "data.json"), 1),
        ("grads/llama3-8b-instruct-mmlu-rehearsal/", f"{folder}/", 3),
        ("dataset/RAIT_dataset/mmlu/llama-3-8b-instruct-hf/grait.json", str(folder / "grait.json"), 1),
        ("[:4000]", f"[:{vanilla}]", 1),
        ("range(1000)", f"range({idk})", 1),
        ("[:1000]", f"[:{idk}]", 2),
        ("sum(exp_alphas.values()) / 500", f"sum(exp_alphas.values()) / {scale}", 1),
    ]
    for old, new, times in replacements:
        if source.count(old) != times:
            raise SystemExit(f"{SCRIPT}: expected {old!r} {times} time(s), found {source.count(old)}")
        source = source.replace(old, new)
    return source


def make_case(rng: random.Random) -> dict:
    size = rng.randint(6, 40)
    dim = rng.randint(2, 6)
    spread = rng.choice([1, 2, 3])
    rows = lambda: [[rng.randint(-spread, spread) for _ in range(dim)] for _ in range(size)]
    correctness = [rng.choice([i / 10 for i in range(11)]) for _ in range(size)]
    below = sum(c < 0.5 for c in correctness)
    if below < 2 or not any(c > 0.5 for c in correctness):
        return make_case(rng)
    return {"correctness": correctness, "answer": rows(), "refusal": rows(),
            "vanilla": rng.randint(1, size), "idk": rng.randint(1, below - 1), "scale": rng.choice([500, 10, 1])}


def run_case(case: dict, grait: Path) -> dict:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = [{"id": f"q{i:03d}", "KQ": {"correct_init": c, "entropy_init": 0.0}}
                for i, c in enumerate(case["correctness"])]
        (folder / "data.json").write_text(json.dumps(data))
        answer = torch.tensor(case["answer"], dtype=torch.float32)
        refusal = torch.tensor(case["refusal"], dtype=torch.float32)
        torch.save(refusal @ refusal.T, folder / "idk_idk_inner.pt")
        torch.save(refusal @ answer.T, folder / "idk_van_inner.pt")
        torch.save(answer @ answer.T, folder / "van_van_inner.pt")
        source = patched_source((grait / SCRIPT).read_text(), folder, case["vanilla"], case["idk"], case["scale"])
        source += "\nimport json as _j\n_j.dump({k: float(v) for k, v in softmax_alphas.items()}, " \
                  f"open({str(folder / 'weights.json')!r}, 'w'))\n"
        (folder / "script.py").write_text(source)
        subprocess.run([sys.executable, str(folder / "script.py")], check=True, cwd=folder,
                       stdout=subprocess.DEVNULL)
        written = json.loads((folder / "grait.json").read_text())
        weights = json.loads((folder / "weights.json").read_text())
    chosen = {"vanilla": [r["index"] for r in written if r.get("target") != "I don't know."],
              "idk": [r["index"] for r in written if r.get("target") == "I don't know."]}
    return {**case, "expected": {"vanilla": sorted(chosen["vanilla"]), "idk": sorted(chosen["idk"]),
                                 "weights": {str(k): v for k, v in weights.items()}}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grait", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "tests/fixtures/grait_original.json.gz")
    parser.add_argument("--any-commit", action="store_true")
    args = parser.parse_args(argv)
    head = subprocess.run(["git", "-C", str(args.grait), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    if not head.startswith(COMMIT) and not args.any_commit:
        raise SystemExit(f"{args.grait} is at {head[:12]}, not {COMMIT} (--any-commit to run it anyway)")
    rng = random.Random(args.seed)
    cases = [run_case(make_case(rng), args.grait) for _ in range(args.cases)]
    with gzip.open(args.out, "wt", encoding="utf-8") as handle:
        json.dump({"grait_commit": head, "cases": cases}, handle)
    print(f"{args.out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
