"""Offline synthesis: the real program under Pulumi's mock runtime, no CLI or cloud needed."""

from infra_tools.synth.runner import Synthesis, synthesize
from infra_tools.synth.writer import load_graph, write_synthesis

__all__ = ["Synthesis", "load_graph", "synthesize", "write_synthesis"]
