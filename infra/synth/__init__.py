"""Offline synthesis: the real program under Pulumi's mock runtime, no CLI or cloud needed."""

from infra.synth.runner import Synthesis, synthesize
from infra.synth.writer import load_resources, write_synthesis

__all__ = ["Synthesis", "load_resources", "synthesize", "write_synthesis"]
