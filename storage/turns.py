"""Question-and-answer turns in a press-conference transcript, so a diff can say "turn 7 removed".

A *turn* is a paragraph that starts with a speaker label ("Q:", "Zhao Lijian:", "CCTV:",
"中央电视台记者：", "赵立坚：") plus the unlabelled paragraphs that follow it (the rest of a long
answer). Paragraphs before the first label are the *preamble* (announcements at the start of a
press conference). Pure functions over lists of paragraph strings; no diffing happens here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# A label is a short name before an ASCII or full-width colon. It starts with a letter (so times
# such as "10:30" are not labels) and holds only name-like characters, so "He said, however:"
# or a URL "https://..." is not mistaken for a speaker.
_MAX_LABEL_CHARS = 40
_LABEL_RE = re.compile(rf"\s*([^\W\d_][\w .'’&()/\-]{{0,{_MAX_LABEL_CHARS}}}?)\s*[:：](?!//)")
_MAX_LABEL_WORDS = 6
# How many labelled paragraphs make a body look like a transcript rather than prose that
# happens to contain a "Note:" or two.
_MIN_LABELLED = 3


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn: its speaker label and its paragraphs (the labelled one first)."""

    label: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """The turn's paragraphs joined by blank lines."""
        return "\n\n".join(self.paragraphs)


def speaker_label(paragraph: str) -> str | None:
    """The speaker label a paragraph starts with (without the colon), or None."""
    head = paragraph[: _MAX_LABEL_CHARS + 8]
    if ":" not in head and "：" not in head:
        return None
    match = _LABEL_RE.match(head)
    if match is None:
        return None
    label = match.group(1).strip()
    if len(label) > _MAX_LABEL_CHARS or len(label.split()) > _MAX_LABEL_WORDS:
        return None
    return label


def looks_like_transcript(paragraphs: Sequence[str]) -> bool:
    """True when enough paragraphs start with a label and some speaker speaks more than once."""
    labels = [label for p in paragraphs if (label := speaker_label(p)) is not None]
    return len(labels) >= _MIN_LABELLED and len(set(labels)) < len(labels)


def group_turns(paragraphs: Sequence[str]) -> tuple[tuple[str, ...], list[Turn]]:
    """Split paragraphs into the preamble and the list of turns, in order."""
    preamble: list[str] = []
    turns: list[Turn] = []
    label: str | None = None
    current: list[str] = []
    for paragraph in paragraphs:
        new_label = speaker_label(paragraph)
        if new_label is not None:
            if label is not None:
                turns.append(Turn(label, tuple(current)))
            label, current = new_label, [paragraph]
        elif label is None:
            preamble.append(paragraph)
        else:
            current.append(paragraph)
    if label is not None:
        turns.append(Turn(label, tuple(current)))
    return tuple(preamble), turns
