"""Write the demo's question subset: a seeded sample of an embedded set with a chosen share of Ik questions.

    # the base model's knowledge labels of the whole set (no `limit`), at the demo's settings:
    snakemake -c all results/knowledge/smollm2_135m/world_train.jsonl results/knowledge/smollm2_135m/world_test.jsonl \\
        --configfiles whole_world.yaml        # datasets.world without limit and ids
    python tools/select_demo_subset.py --labels results/knowledge/smollm2_135m --dataset world \\
        --size train=200 test=200 --ik-share 0.5 --out rait/datasets/embedded/world_open_demo.txt

The file lists the ids, both splits, under a header that says how it was chosen; the config's ``datasets.world.ids``
names it (rait.datasets.subsets says why the demo needs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rait.datasets.subsets import stratified_ids  # noqa: E402
from rait.io import atomic_open, read_jsonl  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, required=True, help="results/knowledge/<model>")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--size", nargs="+", required=True, help="split=count ...")
    parser.add_argument("--ik-share", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    header = [f"# {args.dataset}: a seeded subset (seed {args.seed}) stratified by the base model's knowledge labels "
              f"in {args.labels}, an Ik share of {args.ik_share} per split (tools/select_demo_subset.py)"]
    lines = []
    for item in args.size:
        split, count = item.split("=")
        path = args.labels / f"{args.dataset}_{split}.jsonl"
        labels = read_jsonl(path)
        ids = stratified_ids(labels, int(count), args.ik_share, args.seed, where=str(path))
        share = sum(record["ik"] for record in labels) / len(labels)
        header.append(f"# {split}: {len(ids)} of {len(labels)} questions (Ik in the whole split: {share:.3f})")
        lines += ids
    with atomic_open(args.out) as handle:
        handle.write("\n".join(header + lines) + "\n")
    print("\n".join(header))


if __name__ == "__main__":
    main()
