"""`python -m infra_tools <command>`."""

import sys

from infra_tools.cli import main

sys.exit(main())
