"""README.md's rule graph is the workflow's: it fails when a rule or an edge changed and the block was not
regenerated (python tools/update_readme.py)."""

import subprocess
import sys

from conftest import REPO


def test_readme_rule_graph_is_current():
    result = subprocess.run([sys.executable, "tools/update_readme.py", "--check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
