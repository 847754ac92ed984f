"""Tests query a synthesized stack through the tools' own graph API; `Graph` is its name here."""

from infra_tools.graph import ResourceGraph as Graph

__all__ = ["Graph"]
