"""Generated blocks of the docs, each between its markers: the rule graph in docs/architecture.md, the demo's
comparison in docs/results.md.

The rule graph of the full demo (`snakemake --rulegraph mermaid-js demo_all`; GitHub renders the mermaid block).
Snakemake prints the edges in no fixed order: they are sorted, and the colours dropped, so the block changes only
when the rules do. The demo's comparison: the tables of a demo run's `results/summary_full.md`.

    python tools/update_docs.py                 # rewrite the rule graph
    python tools/update_docs.py --check         # exit 1 when the rule graph is stale (tests/test_rulegraph.py)
    python tools/update_docs.py --summary DEMO/results/summary_full.md   # the demo's tables
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURE = REPO / "docs" / "architecture.md"
RESULTS = REPO / "docs" / "results.md"
START, END = "<!-- rulegraph: python tools/update_docs.py -->", "<!-- /rulegraph -->"
SUMMARY_START, SUMMARY_END = "<!-- summary: python tools/update_docs.py --summary -->", "<!-- /summary -->"


def rulegraph() -> str:
    """The mermaid rule graph, normalised: nodes in Snakemake's order, edges sorted, no styles."""
    output = subprocess.run(
        [sys.executable, "-m", "snakemake", "--rulegraph", "mermaid-js", "demo_all"], cwd=REPO, check=True,
        capture_output=True, text=True,
    ).stdout
    lines = [line.strip() for line in output.splitlines()]
    body = lines[lines.index("flowchart TB") + 1:]
    nodes = [line for line in body if "[" in line and "-->" not in line]
    edges = sorted((line for line in body if "-->" in line), key=lambda e: [int(n[2:]) for n in e.split(" --> ")])
    return "\n".join(["```mermaid", "flowchart TB", *(f"  {line}" for line in nodes + edges), "```"])


def readme_block(text: str, start: str = START, end: str = END) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"no markers {start} ... {end}")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def replace_block(text: str, body: str, start: str = START, end: str = END) -> str:
    readme_block(text, start, end)
    before, rest = text.split(start, 1)
    return f"{before}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"


def summary_tables(markdown: str) -> str:
    """The tables of a summary.md, its title and preamble left out (the page says where they come from)."""
    lines = markdown.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("## "))
    return "\n".join(line.replace("## ", "#### ", 1) if line.startswith("## ") else line
                     for line in lines[first:]).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/architecture.md's rule graph is stale")
    parser.add_argument("--summary", type=Path, help="a demo run's results/summary_full.md: its tables go in")
    args = parser.parse_args()
    if args.summary:
        text = RESULTS.read_text()
        RESULTS.write_text(replace_block(text, summary_tables(args.summary.read_text()), SUMMARY_START, SUMMARY_END))
        return 0
    text = ARCHITECTURE.read_text()
    graph = rulegraph()
    if args.check:
        if readme_block(text) != graph:
            print("docs/architecture.md's rule graph is stale: run python tools/update_docs.py", file=sys.stderr)
            return 1
        return 0
    ARCHITECTURE.write_text(replace_block(text, graph))
    return 0


if __name__ == "__main__":
    sys.exit(main())
