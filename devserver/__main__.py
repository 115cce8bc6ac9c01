"""``python -m devserver``: the same command as ``devserver``."""

import sys

from .cli import main

sys.exit(main())
