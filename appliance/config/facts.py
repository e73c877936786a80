"""The office's facts as data: what the assistants may tell a caller (hours, prices, policies).

A fact is a short entry, a topic and its answer, with a question or two a caller might ask.
Team facts are known to every assistant, an assistant's own facts only to it. For a caller's
turn the relevant ones are retrieved and given to the reply (appliance/assistants/facts.py);
a sentence that states something no fact supports is not spoken (assistants/grounding.py).
"""

from __future__ import annotations

from pydantic import Field

from appliance.config.strict import StrictModel


class Fact(StrictModel):
    """One thing the office wants callers told, e.g. topic "opening hours", answer "Monday to
    Friday 8 am to 6 pm, Saturday 9 am to 1 pm, closed Sunday"."""

    topic: str = Field(min_length=1, max_length=80)
    """What the fact is about, in a few words (also what the TUI lists)."""
    answer: str = Field(min_length=1, max_length=600)
    """The answer as the assistant may say it: the only source of its numbers and names."""
    examples: list[str] = Field(default_factory=list)
    """Questions a caller might ask that this fact answers (they help retrieval)."""
