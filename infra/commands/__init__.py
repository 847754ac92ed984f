"""Subcommands of `python -m infra`; each module offers `register(subparsers)`."""

import argparse
from typing import TypeAlias

# argparse exposes no public name for the object add_subparsers() returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # pyright: ignore[reportPrivateUsage]
