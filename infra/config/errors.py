"""Errors raised while turning a stack file into typed config."""

from __future__ import annotations


class ConfigError(Exception):
    """A stack file holds values the platform cannot deploy.

    Each problem is one line: the stack file, the key, the value, the rule and the fix.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
