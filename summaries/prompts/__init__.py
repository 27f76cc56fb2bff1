"""Prompt versions: each a named template in its own module; SUMMARY_PROMPT_VERSION picks the current one.

A summary whose `prompt_version` differs from the current one is outdated. Add a
version by adding a module and registering it in PROMPTS; never edit a released
one in a way that changes its output, since stored summaries name it.
"""

from django.conf import settings

from summaries.prompts import v1, v2, v3
from summaries.prompts.base import PromptTemplate, context_block, transcript_lines

__all__ = ["PromptTemplate", "context_block", "prompt_get", "prompt_versions", "current_prompt_version", "transcript_lines"]


def prompt_get(version: str) -> PromptTemplate:
    prompts = {p.version: p for p in (v1.PROMPT, v2.PROMPT, v3.PROMPT)}
    try:
        return prompts[version]
    except KeyError:
        raise ValueError(f"unknown prompt version {version!r} (known: {', '.join(sorted(prompts))})") from None


def prompt_versions() -> list[str]:
    return ["v1", "v2", "v3"]


def current_prompt_version() -> str:
    return settings.SUMMARY_PROMPT_VERSION
