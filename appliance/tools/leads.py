"""leads: sales records a lead (name, company, need, budget, urgency, callback number) for the
office's CRM.

The lead is written in an assistant with the tool as soon as the caller's need is known (the
`need` slot), in the store (appliance/store/desk.py), and updated as the other details arrive;
a new lead queues a notice for each integration that takes leads (webhooks, optionally mail),
delivered through the outbox with retries. The caller is told nothing new: the sales reply's
"I'll pass your request to the team" is now true twice over (the message and the lead).
"""

from __future__ import annotations

from appliance.config import Assistant
from appliance.tools.messages import ConversationView, caller_number

TOOL = "leads"
NEED_CHARS = 300


def details(conv: ConversationView, assistant: Assistant) -> dict[str, str] | None:
    """The lead this conversation calls for in `assistant` (the store's fields), or None (no
    tool, no need known yet)."""
    need = conv.slots.get("need", "").strip()
    if TOOL not in assistant.tools or not need:
        return None
    return {
        "who": conv.slots.get("name", ""),
        "company": conv.slots.get("company", ""),
        "callback": conv.slots.get("callback") or caller_number(conv.caller),
        "need": need[:NEED_CHARS],
        "budget": conv.slots.get("budget", ""),
        "urgency": conv.slots.get("urgency", ""),
    }
