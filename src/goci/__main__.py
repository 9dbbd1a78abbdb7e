"""Allow ``python -m goci``."""

import sys

from goci.cli import main

sys.exit(main())
