"""The caller's words the calendar dialogue listens for (appliance/tools/booking.py): what they
are after (cancel, move, free times, book), a no, a question, "the first one", and a name given
in answer to "under which name?"."""

from __future__ import annotations

import re

CANCEL = re.compile(
    r"\b(cancel\w*|call (it )?off|won'?t (be able to )?make it|can'?t make it)\b", re.IGNORECASE
)
MOVE = re.compile(
    r"\b(move|moving|reschedul\w*|postpone|push (it|that) back|shift|change (the|my) "
    r"(time|day|date|appointment)|another (day|time)|different (day|time))\b",
    re.IGNORECASE,
)
FREE = re.compile(
    r"\b(free|available|availability|openings?|open slots?|what times?|which times?|any ?thing|"
    r"when can|when could|when is|is there (a|any) time)\b",
    re.IGNORECASE,
)
BOOK = re.compile(
    r"\b(book\w*|appointment|schedule|reserve|come (by|out|over)|visit|slot)\b", re.IGNORECASE
)
NO = re.compile(
    r"^\W*(no|nope|not really|neither|none)\b|\b(doesn'?t|does not|won'?t) work\b", re.IGNORECASE
)
KEEP = re.compile(
    r"\b(keep (it|that|the appointment)|still (suits?|works?|good|fine)|(i'?ll|we'?ll|will) "
    r"be there|see you)\b",
    re.IGNORECASE,
)
QUESTION = re.compile(r"^\W*(how|what|why|where|who|which|does|do|is|are)\b", re.IGNORECASE)
ORDINALS = {"first": 0, "earlier": 0, "second": 1, "later": -1, "last": -1, "third": 2}
_NAME = re.compile(
    r"(?:my name is|name'?s|this is|it is|it'?s|i am|i'm|under the name|under|for|the name)\s+"
    r"([A-Za-zÀ-ÿ][\w'-]+(?:\s+[A-Za-zÀ-ÿ][\w'-]+){0,3})",
    re.IGNORECASE,
)
SAYS_NAME = re.compile(r"\b(my name is|my name's|the name is)\s", re.IGNORECASE)
_LEADING = {"and", "a", "an", "um", "uh", "er", "erm", "so", "well", "oh", "yes", "yeah", "ok",
            "okay", "sure", "it", "is", "it's", "that's"}  # fmt: skip
_NAME_ENDS = {"and", "but", "i", "i'm", "i'd", "please", "from", "at", "on", "with", "calling",
              "speaking", "here", "again", "we", "my", "for", "to", "about"}  # fmt: skip
_NOT_NAME = {
    "name",
    "is",
    "yes",
    "no",
    "ok",
    "okay",
    "sure",
    "please",
    "thanks",
    "thank",
    "a",
    "an",
    "the",
    "tomorrow",
    "today",
    "next",
    "calling",
    "looking",
    "sorry",
    "fine",
    "good",
}


def caller_name(text: str) -> str:
    """The name in an answer to "under which name?" ("Anna Schmidt", "it's Anna Schmidt")."""
    text = re.sub(r"\b(Mr|Mrs|Ms|Dr)\.", r"\1", text, flags=re.IGNORECASE)
    m = _NAME.search(text)
    said = re.split(r"[,.!?;]", (m.group(1) if m else text).strip(" .,!?"))[0]
    words = said.split()
    while words and words[0].lower() in _LEADING:  # "and a Schmidt": speech recognition's filler
        words = words[1:]
    stop = next((i for i, w in enumerate(words) if w.lower() in _NAME_ENDS), len(words))
    words = [
        w for w in words[:stop] if w.lower() not in _NOT_NAME and not any(c.isdigit() for c in w)
    ]
    if not 1 <= len(words) <= 4:
        return ""
    return " ".join(w[:1].upper() + w[1:] for w in words)
