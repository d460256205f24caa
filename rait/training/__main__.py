import sys

from rait.training.cli import main

sys.exit(main())
