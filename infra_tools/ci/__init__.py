"""Helpers the deploy workflow runs, each `python -m infra_tools.ci.<helper>`."""
