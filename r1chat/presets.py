r"""Prompt presets: a sentence added to each prompt, as the R1 model card advises for math.

The card: "For mathematical problems, it is advisable to include a directive in your prompt such
as: 'Please reason step by step, and put your final answer within \boxed{}.'" (R1 puts no
instructions in a system prompt). Users add their own under ``[presets]`` in config.toml.
"""

from __future__ import annotations

from collections.abc import Mapping

MATH = "Please reason step by step, and put your final answer within \\boxed{}."
BUILT_IN: dict[str, str] = {"math": MATH}


def available(user: Mapping[str, str]) -> dict[str, str]:
    """Built-in presets, then the user's (a user preset of the same name wins)."""
    return {**BUILT_IN, **user}


def apply(prompt: str, directive: str) -> str:
    """The prompt with the directive on its own paragraph at the end; once, even when the prompt
    is sent again (retry, edit) with the directive already in it."""
    directive = directive.strip()
    if not directive or prompt.rstrip().endswith(directive):
        return prompt
    return f"{prompt.rstrip()}\n\n{directive}"
