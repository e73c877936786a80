"""The texts given to the shared LLM: assistant system prompts, the router and slot prompts.

Everything here that ends up in a cached KV prefix must be static for a given config.
"""

from __future__ import annotations

from appliance.config import Assistant, HandoffRule, Slot

PHONE_RULES = {
    "en": (
        "You are on a live phone call. Answer in one or two short spoken sentences: no lists, "
        "no markdown, no emojis. Never invent prices, dates or facts you were not given. "
        "You cannot transfer calls or dial numbers yourself and must never say you are "
        "transferring the caller; if they want something outside your role, say a colleague "
        "can help with that. Do not ask again for what you already know about the caller. "
        "If the caller describes a medical emergency, tell them to hang up and call the "
        "emergency number (911) right now."
    ),
    "de": (
        "Du bist in einem Telefongespräch. Antworte in ein oder zwei kurzen gesprochenen Sätzen "
        "auf Deutsch, ohne Listen. Erfinde keine Preise, Termine oder Fakten. Du kannst selbst "
        "keine Anrufe weiterleiten und sagst das nie zu. Frage nicht erneut nach dem, was du "
        "über den Anrufer schon weißt. Bei einem medizinischen Notfall: sofort auflegen und "
        "den Notruf 112 wählen."
    ),
}


def system_prompt(a: Assistant) -> str:
    """The static system prompt of an assistant profile (cached as a KV state)."""
    rules = PHONE_RULES.get(a.language, PHONE_RULES["en"])
    return f"{a.system_prompt.strip()}\n{rules}"


def router_prompt(a: Assistant, rules: list[HandoffRule]) -> str:
    """The classifier prompt of one assistant: stay first, then its conditions by priority."""
    lines = [
        f"You are the call router for the {a.title} assistant of a small company. "
        "Classify the caller's message.",
        "stay: greetings, names, phone numbers, answers to the assistant's questions, small "
        "talk, unclear messages, general questions, and requests to reach a specific person, "
        "role or number that is not listed below (a lawyer, the CEO, an extension).",
    ]
    lines += [f"{r.target}: {r.condition}." for r in rules]
    lines.append(
        "A message that asks for a listed topic goes there even if it also greets or gives a "
        "name. If several apply, pick the one listed first after stay. Reply with one word."
    )
    return "\n".join(lines)


def router_input(utterance: str, earlier: list[str]) -> str:
    parts = []
    if earlier:
        quoted = " / ".join(f'"{u}"' for u in earlier)
        parts.append(f"Earlier the caller said: {quoted}")
    parts.append(f'The caller says: "{utterance}"')
    return "\n".join(parts)


def slots_prompt(slots: list[Slot]) -> str:
    keys = ", ".join(f"{s.name} ({s.description})" for s in slots)
    return (
        f"Extract facts a phone caller states about themselves. JSON keys: {keys}. "
        "Only keys the message states; {} if none.\n"
        "Examples:\n"
        'Message: "Hi, this is John Smith from Contoso." -> '
        '{"name": "John Smith", "company": "Contoso"}\n'
        'Message: "What time do you open?" -> {}\n'
        'Message: "Our printer is broken, it\'s urgent." -> '
        '{"need": "printer repair", "urgency": "high"}\n'
        'Message: "Call me back on 555 0199." -> {"callback": "5550199"}'
    )


def slots_input(utterance: str) -> str:
    return f'Message: "{utterance}" ->'


def summary_prompt() -> str:
    return (
        "Summarise this phone conversation for a colleague who takes over the call, in one "
        "sentence of at most 30 words: who the caller is and what they want. No preamble."
    )


def carryover_note(
    *,
    from_title: str,
    announcement: str,
    slots: dict[str, str],
    summary: str | None,
    language: str,
) -> str:
    """The note the target assistant reads after its own system prompt on a handoff."""
    facts = "; ".join(f"{k}: {v}" for k, v in slots.items()) or "nothing yet"
    lines = [
        f"The caller was just handed over to you by the {from_title} assistant, "
        f'who told them: "{announcement}"',
        f"Known about the caller: {facts}.",
    ]
    if summary:
        lines.append(f"Summary so far: {summary}")
    if language == "de":
        lines.append("Antworte auf Deutsch.")
    lines.append("Greet them briefly and answer their last message directly.")
    return "\n".join(lines)


def facts_note(slots: dict[str, str]) -> str:
    facts = "; ".join(f"{k}: {v}" for k, v in slots.items())
    return f"Known about the caller now: {facts}."
