"""rait: refusal-aware instruction tuning as one Snakemake DAG.

The package holds the logic; ``workflow/scripts`` only moves values between
Snakemake and these functions.
"""

__version__ = "0.1.0"
