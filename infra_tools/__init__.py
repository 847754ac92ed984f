"""The tools that read the Pulumi program in `infra/`: offline synthesis, guardrails, cost,
diagram and diff over the synthesized graph, read-only verification of a deployed stack, and
the deploy job's helpers. Run them as `python -m infra_tools <command>`."""
