"""Guardrails and insight over a synthesized stack: policy rules, scanners, cost, diagram, diff."""
