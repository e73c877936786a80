"""Context carry-over on a handoff: slots always travel; history per the rule's policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from appliance.assistants.prompts import carryover_note
from appliance.brain.parts import Message
from appliance.config import Assistant, HandoffRule, HistoryPolicy


class TranscriptLine(Protocol):
    role: str
    assistant: str
    text: str


def history_lines(rule: HandoffRule, lines: Sequence[TranscriptLine]) -> list[TranscriptLine]:
    """The transcript lines (before the triggering utterance) that travel under the rule."""
    if rule.history is HistoryPolicy.FULL:
        return list(lines)
    if rule.history is HistoryPolicy.LAST_N:
        return list(lines[-rule.last_n :]) if rule.last_n else []
    return []


def carryover_messages(
    rule: HandoffRule,
    *,
    source_title: str,
    target: Assistant,
    lines: Sequence[TranscriptLine],
    slots: dict[str, str],
    summary: str | None,
) -> list[Message]:
    """The messages the target reads after its cached system prompt.

    `lines` ends with the caller's triggering utterance, which always travels (the target must
    answer it); what comes before it travels per the rule's history policy.
    """
    *before, trigger = lines
    note = carryover_note(
        from_title=source_title,
        announcement=rule.announcement,
        slots=slots,
        summary=summary if rule.history is HistoryPolicy.SUMMARY else None,
        language=target.language,
    )
    messages = [Message("system", note)]
    for line in history_lines(rule, before):
        role = "user" if line.role == "caller" else "assistant"
        messages.append(Message(role, line.text))
    messages.append(Message("user", trigger.text))
    return messages


def transcript_text(lines: Sequence[TranscriptLine]) -> str:
    """A plain transcript for the summariser."""
    return "\n".join(
        f"{'Caller' if ln.role == 'caller' else ln.assistant}: {ln.text}" for ln in lines
    )
