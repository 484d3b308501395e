"""Small text helpers the task graders share."""

from __future__ import annotations


def until(text: str, *markers: str) -> str:
    """`text` up to the first marker: a base model that answered goes on to invent the next question.

    Without this cut, the last number (or the last `Answer:`) would come from the invented problem.
    A marker at the very start is skipped, so an empty completion is not made out of a leading marker.
    """
    cut = len(text)
    for marker in markers:
        at = text.find(marker, 1)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def completion_text(completion: object) -> str:
    """TRL passes plain strings for text prompts and message lists for conversational ones."""
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, dict))
    return str(completion)
