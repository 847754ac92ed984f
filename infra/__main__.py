"""The Pulumi program's entry (Pulumi.yaml `main: infra/`): declare the platform.

The offline tools that read this program (synth, check, cost, verify, ...) are a separate
package: `python -m infra_tools <command>`.
"""

import sys
from pathlib import Path

if not __package__:
    # Pulumi's language host runs this file by path; make `import infra` resolve to this repo.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.runtime.settings import get_monitor

from infra.platform import declare_platform

if get_monitor() is None:
    # Without the engine the program would fail on missing stack config, which misleads.
    sys.exit(
        "infra/ is the Pulumi program and runs under the Pulumi CLI (`pulumi up`); "
        "the offline tools are `python -m infra_tools <command>`"
    )
declare_platform()
