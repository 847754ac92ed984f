"""The Pulumi policy pack wrapping infra.guardrails.rules (see __main__.py)."""
