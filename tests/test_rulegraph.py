"""docs/architecture.md's rule graph is the workflow's: it fails when a rule or an edge changed and the block was
not regenerated (python tools/update_docs.py)."""

import subprocess
import sys

from conftest import REPO


def test_the_documented_rule_graph_is_current():
    result = subprocess.run([sys.executable, "tools/update_docs.py", "--check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
