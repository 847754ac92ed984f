"""The Pulumi policy pack wrapping infra_tools.guardrails.rules (see __main__.py)."""
