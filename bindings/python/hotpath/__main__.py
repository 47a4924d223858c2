"""python -m hotpath: the hotpath command (hotpath/cli.py)."""

import sys

from .cli import main

sys.exit(main())
