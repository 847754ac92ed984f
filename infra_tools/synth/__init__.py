"""Offline synthesis: the real program under Pulumi's mock runtime, no CLI or cloud needed."""

from infra_tools.synth.runner import Synthesis, synthesize
from infra_tools.synth.writer import load_resources, write_synthesis

__all__ = ["Synthesis", "load_resources", "synthesize", "write_synthesis"]
