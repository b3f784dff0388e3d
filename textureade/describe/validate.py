"""Validation of region descriptions (the Detecture Miner's rules, plus distinctness).

A valid description starts with "Texture of ", has 5-25 words (whitespace-separated), has no line
breaks, and differs (case- and whitespace-insensitively) from every other description of its image.
"""

from __future__ import annotations

PREFIX = "Texture of "
MIN_WORDS = 5
MAX_WORDS = 25


def normalise(text: str) -> str:
    """Collapse whitespace and strip; keeps case (what is stored)."""
    return " ".join(str(text).split())


def description_problem(text: str) -> str | None:
    """None when ``text`` is a valid single description, else a short reason."""
    if not isinstance(text, str):
        return f"not a string ({type(text).__name__})"
    if "\n" in text.strip() or "\r" in text:
        return "contains a line break"
    clean = normalise(text)
    if not clean.startswith(PREFIX):
        return f"does not start with {PREFIX.strip()!r}"
    n = len(clean.split())
    if n < MIN_WORDS or n > MAX_WORDS:
        return f"has {n} words (needs {MIN_WORDS}-{MAX_WORDS})"
    return None


def descriptions_problems(texts: list[str]) -> list[str | None]:
    """Per-description reason (None = valid), including duplicates within the image.

    The first of two equal descriptions is valid; later copies get "duplicate of region k".
    """
    out: list[str | None] = []
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        problem = description_problem(text)
        if problem is None:
            key = normalise(text).lower().rstrip(".")
            if key in seen:
                problem = f"duplicate of region {seen[key] + 1}"
            else:
                seen[key] = i
        out.append(problem)
    return out
