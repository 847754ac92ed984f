"""Entry point of both `pulumi up` (Pulumi.yaml `main: infra/`) and `python -m infra <command>`."""

import sys
from pathlib import Path

if not __package__:
    # Pulumi's language host runs this file by path; make `import infra` resolve to this repo.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.runtime.settings import get_monitor

from infra.cli import main
from infra.platform import declare_platform

if get_monitor() is not None:
    # Started by the Pulumi engine: declare the stack's resources.
    declare_platform()
else:
    sys.exit(main())
