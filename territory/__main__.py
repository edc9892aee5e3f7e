"""``python -m territory``: see ``territory.cli``."""

import sys

from territory.cli import main

sys.exit(main())
