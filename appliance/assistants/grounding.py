"""A reply says only what the office told it: a sentence-by-sentence check before it is spoken.

A sentence that makes a checkable claim (a number, price, percentage, time, date, weekday or
month, phone number, e-mail address or web address, a name, or a word of policy such as
discount, warranty, refund, free or charge, a yes or "we offer ..." about what the office does,
an action done such as "booked" or "confirmed") is spoken only when every such claim is supported:
its numbers, names and policy words appear in the support text (the office facts given to the
reply, the assistant's own prompt and greeting, the date note, the caller's own words and the
slots collected from them); a price or percent must be one the office states as a price
("3 percent" is not backed by "3 bedrooms"). The first unsupported sentence stops the reply: it
and everything after it are not spoken, and the caller hears the deferral instead (or the fact
that answers them: appliance/assistants/checked_reply.py; the conversation records the question
as a message for the team).

The check is lexical, so it is cheap (well under a millisecond a sentence) and it can be wrong
both ways: a fact applied to the wrong thing ("a repair is 49 dollars" when 49 dollars is the
Basic package) passes, and a correct paraphrase with a number word the facts spell otherwise may
be blocked. Numbers are compared as values ("nine" = "9", "1,500" = "1500").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from appliance.speech.sentences import sentence_end

# a reply that says the box does not have the information (the prompt's own phrase, the
# deferral) or that it passes the question on
_NO_ANSWER = re.compile(
    r"don'?t have (that|this|any) information|do not have (that|this) information|"
    r"keine Angaben|not sure about that|don'?t know",
    re.IGNORECASE,
)
_PASSED_ON = re.compile(r"pass (your|the) (request|question)", re.IGNORECASE)
# a reply that did not understand the caller: with a fact at hand (a misheard "opening ours on
# satur day" still finds the hours) it is kept back like "I don't have that information"
_UNHEARD = re.compile(
    r"didn'?t (quite )?(catch|understand|get) (that|you|what)|(could|can) you (please )?"
    r"(rephrase|repeat|say that again)|not sure (what|i understand)",
    re.IGNORECASE,
)
# the model talking about its own instructions ("not provided in the information given", "the
# facts I was given"): never said to a caller; the deferral is said instead
_META = re.compile(
    r"\b(?:the|this) (?:information|facts?|context|details|text) (?:given|provided|above|"
    r"i (?:was|have been) given|i have)\b|\bnot (?:provided|given|listed|mentioned|included|"
    r"specified) in the (?:information|facts?|context|text)\b|\bbased on the (?:information|"
    r"facts?|context) (?:given|provided)\b",
    re.IGNORECASE,
)
# claims only the office's texts can back, never the caller's words
OFFICE_ONLY = ("price", "policy", "yes", "no", "done", "do")


def says_no_answer(reply: str) -> bool:
    return bool(_NO_ANSWER.search(reply))


def says_passed_on(reply: str) -> bool:
    return bool(_PASSED_ON.search(reply))


def says_deferral(reply: str) -> bool:
    return says_no_answer(reply) or says_passed_on(reply)


# a caller's words that ask something (STT text has no question mark): a deferred reply to
# these goes into the message as "asked: ..."; a turn that only gives details does not
_ASKS = re.compile(
    r"\?\s*$|^\W*(?:(?:so|and|but|okay|ok|um|uh|hi|hello|well|also|oh|ja|und|hallo)\W+)*"
    r"(?:what|what's|when|where|who|whom|whose|why|how|which|do|does|did|is|are|was|were|can|"
    r"could|will|would|should|may|might|have|has|any|wann|wo|wer|wie|warum|welche[rsmn]?|"
    r"gibt|haben|hat|ist|sind|kann|k(?:ö|oe)nnen|bieten|nehmen)\b|"
    r"\b(?:i(?: want| need| would like|'d like) to know|do you know|can you tell me|"
    r"i(?:'m| am) wondering|ich m(?:ö|oe)chte wissen)\b",
    re.IGNORECASE,
)


def asks(text: str) -> bool:
    """The caller's turn asks a question (not just gives a name, a number or a need)."""
    return bool(_ASKS.search(text))


def words_of(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "noon": 12, "midnight": 12,
    "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "zwanzig": 20, "dreißig": 30,
    "hundert": 100, "tausend": 1000,
}  # fmt: skip
# "one" is a number only where it counts something ("one visit"), not in "one moment",
# "the right one", "someone": it is left out of the claims, like "a"
_NOT_CLAIMS = {"one", "eins"}
_FREE = re.compile(
    r"\b((?:is|are|it's|they're) )?(for free|free of charge|free|at no (?:extra |additional )?"
    r"(?:cost|charge)|no charge|costs? nothing|charges? nothing|kostenlos|gratis|umsonst)\b"
    r"(?! (?:time|slot|slots|at|on|to|for you|of errors))",
    re.I,
)
_CALENDAR = words_of(
    "monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend "
    "weekends january february march april may june july august september october november "
    "december montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar "
    "märz mai juni juli oktober dezember"
)
# policy words: a sentence that uses one states a policy the facts must contain
_POLICY = words_of(
    "discount discounts warranty warranties guarantee guaranteed refund refunds refundable "
    "charge charges charged fee fees deposit financing installment instalments coupon "
    "promotion promo rebate insurance insured certified licensed accredited penalty "
    "cancellation waived waive trial rabatt garantie gewährleistung kostenlos gebühr "
    "erstattung anzahlung"
)
# the words of a price that say nothing about what is priced
_PRICE_PLAIN = words_of(
    "dollar dollars bucks euro euros eur usd pound pounds cent cents percent per cost costs "
    "costing price prices priced charge charges fee fees rate rates month months monthly year "
    "years yearly annual annually week weeks weekly hour hours hourly day days daily each total "
    "from only around about just starting start starts pay paying paid would will run runs "
    "comes come rent rents rental sale"
)
_STEM = re.compile(r"(ies|es|s|ed|ing)$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|de|example|io)\b", re.I)
_DIGITS = re.compile(r"\d+(?:[.,]\d{3})*(?:[.,]\d+)?")
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß][\w'’-]*")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_SENTENCE_START = re.compile(r"(^|[.!?:;\"“(\u2014-])\s*$")
# capitalised words that are no claim: the speaker, greetings, the pronoun
_PLAIN_CAPS = {
    "i", "i'm", "i'll", "i've", "i'd", "ok", "okay", "yes", "no", "hello", "hi", "thanks",
    "sie", "ihr", "ihnen", "ich",
}  # fmt: skip


# a yes (also after a comma: "12.95 dollars, and yes, we deliver the same evening"), or "we
# offer / the clinic takes / Dr. Lin sees ... / there is a ...": an answer about what the
# office does or has, which the caller's own words cannot back ("Does Dr. Okafor speak
# Spanish?" "Yes, ..."); every content word after it must be in the office's texts
_AFFIRM = re.compile(
    r"(?:^\W*|[,;:]\s*(?:and |but |und |aber )?)(yes|yeah|yep|of course|absolutely|certainly|"
    r"definitely|indeed|ja|natürlich|selbstverständlich)\b|"
    r"^\W*(?:no|nein),?\s+(?=(?:you|we|it|there|the|our|they|that|sie|wir|es)\b)",
    re.I,
)
_WE_DO = re.compile(
    r"\b(?:we|our (?:office|team|practice|clinic|shop|store|company)|the (?:office|clinic|"
    r"practice|shop)|dr\.? [a-z]+)\s+(?:do |does |also |can |will |both )?(?:offer|provide|"
    r"have|accept|take|sell|carry|support|cover|speak|treat|see|fix|repair|install|deliver|"
    r"ship|service|handle)(?:s|es)?\b|\bthere(?: is|'s| are) (?:a|an|some|plenty of)\b|"
    # what a thing can do or be ("It can be done in French", "they can speak Spanish"): the
    # caller naming French does not make it so
    r"\b(?:it|this|that|they)\s+can\s+(?:also\s+)?(?:be\s+)?",
    re.I,
)
# a "no" about what the office does or has ("We don't have a second office", "The studio is not
# furnished", "there is no parking"): the caller's question cannot back it, the office's texts must
_DENY = re.compile(
    r"\b(?:(?:we|i|they|the (?:office|clinic|practice|shop|store|company|team))\s+"
    r"(?:do not|don't|does not|doesn't|cannot|can't|can not|won't|will not)\s+(?:have|offer|"
    r"provide|sell|carry|accept|take|support|cover|include|deliver|ship|open|allow|treat|see|"
    r"speak|do|work|charge|need|require)\b|(?:they|the \w+|our \w+|this \w+)\s+"
    r"(?:is not|isn't|are not|aren't|does not come|doesn't come)\b|"
    r"(?:we|i|they|the \w+) (?:have|has|offer|offers) no\b|there(?: is|'s| are) no\b)",
    re.I,
)
# an action the box says it did: only a tool's result can back it
_DONE = words_of(
    "booked scheduled confirmed reserved cancelled canceled rescheduled ordered shipped "
    "refunded sent arranged registered gebucht bestätigt reserviert storniert gesendet"
)
# words of a yes that claim nothing by themselves
_YES_PLAIN = words_of(
    "i you we us our your it its it's this that these those they them he she his her can "
    "could will would be is are am was were do does did have has had not also too just "
    "really very a an the and or but of to in on at for with from by as about any some all "
    "more most other so then there here what which who how when where why if yes yeah yep "
    "course absolutely certainly definitely indeed help happy glad please thank thanks great "
    "good fine okay ok right well need want like get make let know one moment sure done "
    "that's we're we've you're there's i'm i'll i'd i've can't don't doesn't isn't "
    "office team message messages hold call calls caller colleague line minute wait name "
    "number details question questions request information assistant offer offers "
    "take takes accept accepts provide provides sell sells carry carries cover covers "
    "treat treats see sees serve serves handle handles "
    "ja wir sie das die der den dem ein eine einen und oder auch gerne natürlich ist sind"
)
_YES_WORD = re.compile(r"[a-zäöüß][a-zäöüß'’]*", re.I)


def _norm_number(text: str) -> str:
    """'1,500' -> '1500', '9.50' -> '9.5', '09' -> '9'."""
    text = re.sub(r"[.,](?=\d{3}\b)", "", text)
    text = text.replace(",", ".")
    if "." in text:
        whole, _, frac = text.partition(".")
        frac = frac.rstrip("0")
        return f"{int(whole or 0)}.{frac}" if frac else str(int(whole or 0))
    return str(int(text))


def numbers(text: str) -> set[str]:
    """Every number in the text as a value ('nine' and '9' are both '9'; '24/7': 24 and 7)."""
    found = {_norm_number(m.group(0)) for m in _DIGITS.finditer(text)}
    for word in _WORD.findall(text.lower()):
        if word in _NUMBER_WORDS:
            found.add(str(_NUMBER_WORDS[word]))
    return found


def _stem(word: str) -> str:
    word = word.lower().strip("'’-")
    # "minutes" and "minute", "prices" and "price" share a stem
    return _STEM.sub("", word).removesuffix("e") if len(word) > 4 else word


@dataclass(frozen=True)
class Support:
    """What a reply may state: the office's texts (the facts given, the assistant's prompt and
    greeting, the date note) and, in `caller`, the caller's own words and slots. A price (a
    number with a currency or percent) and a policy word must come from the office; a caller
    cannot talk the box into "yes, ten percent off" by saying it first."""

    text: str
    numbers: frozenset[str]
    words: frozenset[str]  # stems of every word, lower case
    emails: frozenset[str]
    caller: Support | None = None
    done: frozenset[str] = frozenset()  # actions a tool did this call ("sent": a message)
    prices: frozenset[str] = frozenset()  # the numbers the texts state as a price or percent
    # each price's texts (one per fact or prompt), as the stems of their specific words
    price_texts: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    # each number's texts, as the stems of all their words ("3 bedrooms": the listing's words)
    number_texts: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    # the stems of each sentence of the texts: what is said together ("For a burst pipe, close
    # the main water valve." and "For sparks, switch off the main breaker." are two)
    sentences: tuple[frozenset[str], ...] = ()
    # the specific words of each sentence that says something is free ("Hardware quotes are free")
    free: tuple[frozenset[str], ...] = ()

    @classmethod
    def of(
        cls, texts: Iterable[str], caller: Iterable[str] = (), done: Iterable[str] = ()
    ) -> Support:
        entries = [t for t in texts if t]
        text = "\n".join(entries)
        said = [t for t in caller if t]
        price_texts: dict[str, list[frozenset[str]]] = {}
        number_texts: dict[str, list[frozenset[str]]] = {}
        for entry in entries:
            stems = frozenset(_stem(w) for w in _WORD.findall(entry))
            for c in _numbers_of(entry):
                if c.kind == "price":
                    price_texts.setdefault(c.text, []).append(specific_words(entry))
                number_texts.setdefault(c.text, []).append(stems)
        return cls(
            text,
            frozenset(numbers(text)),
            frozenset(_stem(w) for w in _WORD.findall(text)),
            frozenset(e.lower() for e in _EMAIL.findall(text)),
            cls.of(said) if said else None,
            frozenset(done),
            frozenset(price_texts),
            {k: tuple(v) for k, v in price_texts.items()},
            {k: tuple(v) for k, v in number_texts.items()},
            tuple(
                frozenset(_stem(w) for w in _WORD.findall(part))
                for entry in entries
                for part in _SENTENCE_SPLIT.split(entry)
                if part.strip()
            ),
            tuple(
                specific_words(part)
                for entry in entries
                for part in _SENTENCE_SPLIT.split(entry)
                if _FREE.search(part)
            ),
        )


@dataclass(frozen=True)
class Claim:
    # price | number | calendar | policy | email | web | name | yes | no | done | where | do, or
    # the reply's own "I don't have that" (deferral) or "I'll pass your request on" (passed on),
    # kept back while an office fact may answer, or its words about its instructions (meta)
    kind: str
    text: str


_CURRENCY_AFTER = re.compile(
    r"^[\s-]*(%|percent|per cent|prozent|dollars?|bucks|euros?|eur|usd|pounds?|cents?)\b|^%", re.I
)


def _is_price(text: str, start: int, end: int) -> bool:
    """A number with a currency sign before it or a currency or percent word after it."""
    return text[max(0, start - 1) : start] in ("$", "€", "£") or bool(
        _CURRENCY_AFTER.match(text[end : end + 14])
    )


def _numbers_of(text: str) -> list[Claim]:
    """The numbers of a text, each a `price` (with a currency or percent) or a `number`."""
    out: list[Claim] = []
    for m in _DIGITS.finditer(text):
        kind = "price" if _is_price(text, m.start(), m.end()) else "number"
        out.append(Claim(kind, _norm_number(m.group(0))))
    for m in _WORD.finditer(text):
        low = m.group(0).lower()
        if low in _NUMBER_WORDS and low not in _NOT_CLAIMS:
            kind = "price" if _is_price(text, m.start(), m.end()) else "number"
            out.append(Claim(kind, str(_NUMBER_WORDS[low])))
    return out


def claims(sentence: str, language: str = "en") -> list[Claim]:
    """The checkable claims of one sentence. Names (capitalised words inside a sentence) are
    claims in English only: German capitalises every noun."""
    out: list[Claim] = []
    if _FREE.search(sentence):
        out.append(Claim("policy", "free"))
    for m in _EMAIL.finditer(sentence):
        out.append(Claim("email", m.group(0)))
    rest = _FREE.sub(" ", _EMAIL.sub(" ", sentence))
    for m in _URL.finditer(rest):
        out.append(Claim("web", m.group(0)))
    rest = _URL.sub(" ", rest)
    out += _numbers_of(rest)
    for m in _WORD.finditer(rest):
        low = m.group(0).lower()
        if low in _NUMBER_WORDS:
            continue
        if low in _CALENDAR:
            out.append(Claim("calendar", low))
        elif low in _POLICY:
            out.append(Claim("policy", low))
        elif low in _DONE:
            out.append(Claim("done", low))
    out += _affirmed(rest) + _denied(rest) + _located(rest) + _instructed(rest)
    if language != "en":
        return out
    for m in _CAPITALISED.finditer(rest):
        words = m.group(0).split()
        if _SENTENCE_START.search(rest[: m.start()]):
            words = words[1:]  # the sentence's first word is capitalised anyway
        words = [w for w in words if w.lower() not in _PLAIN_CAPS | _CALENDAR]
        words = [w for w in words if w.lower() not in _NUMBER_WORDS]
        if words:
            out.append(Claim("name", " ".join(words)))
    return out


def _denied(sentence: str) -> list[Claim]:
    """A "no" about the office: the words it denies (each a `no` claim). The box's own "I
    don't have that information" is no claim."""
    m = _DENY.search(sentence)
    if m is None or says_no_answer(sentence):
        return []
    said = [w.lower() for w in _YES_WORD.findall(sentence[m.end() :])]
    return [
        Claim("no", w)
        for w in dict.fromkeys(said)
        if w not in _YES_PLAIN and w not in _CALENDAR and w not in _NUMBER_WORDS
        and w not in _POLICY and w not in _DONE and len(w) > 2
    ]  # fmt: skip


# "Our servers are located at 300 Market Street": the place is said of a thing ("servers"), and
# an office text must say it of that thing (the address is the office's, not the servers')
_LOCATED = re.compile(
    r"\b([A-Za-z]+)\s+(?:is|are|'s|'re)\s+(?:(?:located|based|hosted|housed|stored|kept|"
    r"situated|run)\s+)?(?:at|in|on|from)\s+(?:the\s+)?(?=\d|[A-Z])([\w-]+)"
)
# a safety instruction ("turn off the main breaker", "close the main water valve", "leave the
# building"): an office sentence must give it for what the reply says it is for
_INSTRUCT = re.compile(
    r"\b(?:(?:turn|switch|shut)\s+(?:off|on)\s+(?:the|your|any|all)|(?:turn|switch|shut)\s+"
    r"(?:the|your|any|all)|close\s+(?:the|your|any|all)|unplug\s+(?:the|your|any|all)|"
    r"(?:leave|evacuate)\s+the)\s+((?:[a-z]+\s+){0,2}?[a-z]+)(?:\s+(?:off|on))?"
    r"(?=\s+(?:if|to|and|or|now|right|first|immediately|before|until|so|at|in|for|then)\b|"
    r"[.,;!]|$)",
    re.I,
)
# words around an instruction that say nothing about what it is for ("now", "if it is safe")
_INSTRUCT_PLAIN = words_of(
    "now right away immediately first please safe safely quickly straight careful carefully "
    "if it is possible able"
)
# what a place said of the office itself names: the office, whatever the office calls itself
_SELF = words_of(
    "office clinic practice shop store studio agency company business bakery salon showroom "
    "branch headquarters premises"
)


def _located(sentence: str) -> list[Claim]:
    """A place said of a thing: a `where` claim "thing|place" (pronouns and the office itself
    say nothing about what is there)."""
    out: list[Claim] = []
    for m in _LOCATED.finditer(sentence):
        thing = m.group(1).lower()
        if thing in _YES_PLAIN | _SELF or thing in _NUMBER_WORDS or len(thing) < 3:
            continue
        out.append(Claim("where", f"{thing}|{m.group(2).lower()}"))
    return out


def _instructed(sentence: str) -> list[Claim]:
    """An instruction: a `do` claim "object|context", the context being what the sentence says
    it is for (before it: "To stop the water spraying from a pipe, ..."; else after it, up to an
    "if")."""
    out: list[Claim] = []
    for m in _INSTRUCT.finditer(sentence):
        what = specific_words(m.group(1))
        if not what:
            continue
        before = sentence[: m.start()]
        after = re.split(r"\bif\b", sentence[m.end() :], maxsplit=1)[0]
        plain = frozenset(_stem(w) for w in _INSTRUCT_PLAIN)
        context = (specific_words(before) or specific_words(after)) - what - plain
        out.append(Claim("do", f"{' '.join(sorted(what))}|{' '.join(sorted(context))}"))
    return out


def _affirmed(sentence: str) -> list[Claim]:
    """A yes or a "we offer ...": the words it affirms (each a `yes` claim)."""
    m = _AFFIRM.search(sentence) or _WE_DO.search(sentence)
    if m is None:
        return []
    said = [w.lower() for w in _YES_WORD.findall(sentence[m.end() :])]
    return [
        Claim("yes", w)
        for w in dict.fromkeys(said)
        if w not in _YES_PLAIN and w not in _CALENDAR and w not in _NUMBER_WORDS
        and w not in _POLICY and w not in _DONE and len(w) > 2
    ]  # fmt: skip


def unsupported(sentence: str, support: Support, language: str = "en") -> list[Claim]:
    """The claims of `sentence` that `support` does not back (empty: it may be spoken)."""
    missing: list[Claim] = []
    found = claims(sentence, language)
    names = frozenset(_stem(w) for c in found if c.kind == "name" for w in c.text.split())
    free = _free_backs(sentence, support)
    for c in found:
        ok = _backs(c, support)
        if not ok and free and c.kind in ("yes", "no", "policy"):
            ok = True  # "we don't charge for a hardware quote": "Hardware quotes are free"
        if not ok and c.kind not in OFFICE_ONLY and support.caller is not None:
            ok = _backs(c, support.caller)  # the caller's own name, number, day
        if ok and c.kind == "price" and not _price_bound(c.text, sentence, names, support):
            ok, c = False, Claim("price", f"{c.text} (not for this)")
        if ok and c.kind == "number" and not _count_bound(c.text, sentence, support):
            ok, c = False, Claim("number", f"{c.text} (not of this)")
        if not ok:
            missing.append(c)
    return missing


# "we don't charge for ...", "you don't have to pay to park", "there is no fee for ...": the
# office's "... is free" said the other way round
_NO_CHARGE = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not|won'?t|will not|never|not)\s+(?:have to\s+|need to\s+)?"
    r"(?:charge|cost|pay)\b|\bno (?:charge|fee|cost)s?\b|\bnothing to pay\b|"
    r"\bwithout (?:a |any )?(?:charge|fee)\b",
    re.I,
)
# the words of such a sentence it may claim when the office calls the thing free
_FREE_SAYS = words_of(
    "charge charges charged fee fees cost costs pay paying anything nothing extra"
)


def _free_backs(sentence: str, support: Support) -> bool:
    """A "no charge" sentence is backed by an office sentence that calls the same thing free:
    the sentence's specific words are in it (all of one or two, all but one of three or more;
    "value" finds "valuation"). "No fee for missing an appointment" is not backed by "Please
    cancel an appointment 24 hours ahead; cancelling is free": missing is not cancelling."""
    if not _NO_CHARGE.search(sentence) or not support.free:
        return False
    words = specific_words(sentence) - {_stem(w) for w in _FREE_SAYS | _SELF}
    if not words:
        return False

    def near(w: str, t: frozenset[str]) -> bool:
        return any(w == x or (len(w) >= 4 and x.startswith(w)) or
                   (len(x) >= 4 and w.startswith(x)) for x in t)  # fmt: skip

    need = len(words) - (1 if len(words) >= 3 else 0)
    return any(sum(near(w, t) for w in words) >= need for t in support.free)


def specific_words(text: str) -> frozenset[str]:
    """The stems of the words that say what a text is about: not its price words ("dollars",
    "per month"), numbers, weekdays or the small words of a yes."""
    words = (w.lower() for w in _WORD.findall(text))
    return frozenset(
        _stem(w) for w in words
        if len(w) > 2 and w not in _YES_PLAIN and w not in _PRICE_PLAIN
        and w not in _NUMBER_WORDS and w not in _CALENDAR
    )  # fmt: skip


def _price_bound(price: str, sentence: str, names: frozenset[str], support: Support) -> bool:
    """A price is said of what the office prices at it: when the sentence names what it is
    about ("a terminal repair is 49 dollars a month"), one of those words is in a text that
    states the price (49 dollars is the Basic package: not backed); when it has a name ("the
    Bay Sick package"), a word of the name is. "It's 49 dollars a month" names nothing and
    passes."""
    texts = support.price_texts.get(price, ())
    said = names or specific_words(sentence) - _common(support)
    return not said or not texts or any(said & t for t in texts)


# what may follow a number without being what it counts ("9 am", "3 to 5 days", "2 of them")
_NOT_COUNTED = words_of(
    "am pm a.m p.m o'clock uhr and or to of in on at for or minus plus percent euro euros dollars "
    "dollar bis und oder"
)


def _counted(number: str, sentence: str) -> list[str]:
    """The words right after each place `number` is said ("3 technicians": technician), when
    they name what it counts."""
    out: list[str] = []
    for m in _DIGITS.finditer(sentence):
        if _norm_number(m.group(0)) == number:
            out += _word_after(sentence, m.end())
    for m in _WORD.finditer(sentence):
        low = m.group(0).lower()
        if low in _NUMBER_WORDS and str(_NUMBER_WORDS[low]) == number:
            out += _word_after(sentence, m.end())
    return out


def _word_after(sentence: str, end: int) -> list[str]:
    m = re.match(r"[\s-]*([A-Za-zÄÖÜäöüß][\w'’]*)", sentence[end:])
    if m is None:
        return []
    word = m.group(1).lower()
    if word in _NOT_COUNTED or word in _YES_PLAIN or word in _NUMBER_WORDS or word in _CALENDAR:
        return []
    return [_stem(word)]


def _count_bound(number: str, sentence: str, support: Support) -> bool:
    """A number is said of what the office counts with it: "We have 3 technicians" needs a
    text where 3 and "technicians" are said together (a 3 in "3 devices" does not back it);
    the caller's own "for 20 people" backs "a cake for 20 people". A number that counts
    nothing named ("open until 6", "3 to 5 days") passes on its value alone."""
    said = _counted(number, sentence)
    if not said:
        return True
    for s in (support, support.caller):
        if s is None:
            continue
        texts = s.number_texts.get(number, ())
        if any(w in t for t in texts for w in said):
            return True
    return False


def _common(support: Support) -> frozenset[str]:
    """Words most of the office's priced texts share ("package" in every package's price, a
    listing's "bedroom"): they tell no priced thing from another."""
    texts = [t for group in support.price_texts.values() for t in group]
    if len(texts) < 2:
        return frozenset()
    counts: dict[str, int] = {}
    for t in set(texts):
        for w in t:
            counts[w] = counts.get(w, 0) + 1
    return frozenset(w for w, n in counts.items() if n >= 2 and n * 2 >= len(set(texts)))


def _backs(c: Claim, support: Support) -> bool:
    if c.kind == "price":  # "3 percent" needs a price of 3 ("3 bedrooms" is no fee)
        return c.text in support.prices
    if c.kind == "number":
        return c.text in support.numbers
    if c.kind == "email":
        return c.text.lower() in support.emails
    if c.kind == "web":
        return c.text.lower().rstrip(".,") in support.text.lower()
    if c.kind == "name":
        return all(_stem(w) in support.words for w in c.text.split())
    if c.kind == "done":
        return c.text in support.done
    if c.kind == "where":  # the thing and the place in one sentence of the office's texts
        need = frozenset(_stem(w) for w in c.text.split("|"))
        return any(need <= t for t in support.sentences)
    if c.kind == "do":  # the instruction's object, and (if the reply says) what it is for
        what, _, context = c.text.partition("|")
        need = frozenset(what.split())  # stems already
        about = frozenset(context.split())
        return any(need <= t and (not about or about & t) for t in support.sentences)
    if c.text == "free":
        return bool(_FREE.search(support.text)) or "free" in support.words
    return _stem(c.text) in support.words


@dataclass
class Blocked:
    sentence: str
    claims: list[Claim]


@dataclass
class GroundingGuard:
    """Feed the reply as it streams (after the quote check); get back the text that may be
    spoken, a whole sentence at a time and exactly as generated. After the first unsupported
    sentence nothing more is released (`blocked`)."""

    support: Support
    language: str = "en"
    known: bool = False  # an office fact answers this turn: "I don't have that" is kept back
    released: list[str] = field(default_factory=list)
    blocked: Blocked | None = None
    checked: int = 0
    _buf: str = ""

    def feed(self, piece: str) -> str:
        if self.blocked is not None:
            return ""
        self._buf += piece
        out = ""
        while (end := sentence_end(self._buf)) is not None:
            chunk, self._buf = self._buf[:end], self._buf[end:]
            if not self._ok(chunk):
                return out
            out += chunk
        return out

    def flush(self) -> str:
        if self.blocked is not None:
            return ""
        chunk, self._buf = self._buf, ""
        if not chunk.strip():
            return chunk
        return chunk if self._ok(chunk) else ""

    @property
    def spoken(self) -> str:
        return "".join(self.released)

    def _ok(self, chunk: str) -> bool:
        self.checked += 1
        missing = unsupported(chunk, self.support, self.language)
        if _META.search(chunk):
            missing.append(Claim("meta", chunk.strip()))
        if self.known and (says_no_answer(chunk) or _UNHEARD.search(chunk)):
            missing.append(Claim("deferral", chunk.strip()))
        elif self.known and says_passed_on(chunk):  # the fact may answer before it is passed on
            missing.append(Claim("passed on", chunk.strip()))
        if missing:
            self.blocked = Blocked(chunk.strip(), missing)
            return False
        self.released.append(chunk)
        return True
