"""One conversation on the text channel: caller text in, routing, slots, handoff, reply out.

The voice and SIP channels drive the same object; only the ends differ.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from appliance.assistants import prompts, ties
from appliance.assistants.call_facts import CallFacts
from appliance.assistants.carryover import carryover_messages
from appliance.assistants.checked_reply import speak_checked
from appliance.assistants.grounding import Support, asks, says_deferral
from appliance.assistants.policy import GUARD_REASONS, HandoffPolicy, agrees, guard_verdict
from appliance.assistants.router import Decision
from appliance.assistants.spoken_time import spoken_when
from appliance.brain.parts import Message
from appliance.config import Assistant, HandoffRule
from appliance.events import (
    AssistantReply,
    CallerUtterance,
    ConversationEnded,
    ConversationStarted,
    Event,
    FactsRetrieved,
    HandoffCompleted,
    HandoffStarted,
    MessageTaken,
    QuestionAnswered,
    ReplyCutOff,
    RoutingDecided,
    SentenceBlocked,
    SlotsUpdated,
)
from appliance.office_records import OfficeRecords
from appliance.tools import booking, contacts, messages, tickets

if TYPE_CHECKING:
    from appliance.engine import Engine

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[Event], None]
FALLBACK_REPLY = "Sorry, could you say that again?"


def office_now(timezone: str) -> datetime:
    """Now in the office's time zone (team.timezone; empty: the box's local zone)."""
    if timezone:
        from zoneinfo import ZoneInfo  # validated by the config

        return datetime.now(ZoneInfo(timezone))
    return datetime.now().astimezone()


def fixed_now(text: str, timezone: str) -> datetime:
    """`--now ISO-TIME` (test-flows, chat): the office's clock fixed at that time; a time without
    a zone is in the office's zone. ValueError for a time that is not ISO 8601."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is not None:
        return at
    if timezone:
        from zoneinfo import ZoneInfo

        return at.replace(tzinfo=ZoneInfo(timezone))
    return at.astimezone()


@dataclass
class Line:
    """One line of the transcript."""

    role: str  # caller | assistant
    assistant: str
    text: str


@dataclass
class TurnResult:
    """What one caller utterance produced."""

    turn: int
    caller: str
    assistant: str  # active after the turn
    reply: str
    announcement: str | None
    decision: Decision
    refused: str | None
    handoff: dict[str, object] | None
    slots: dict[str, str]
    latency_ms: float
    first_token_ms: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    fixed: str | None = None  # a fixed phrase answered: emergency | injection | leak
    facts: list[str] = field(default_factory=list)  # topics of the office facts given
    blocked: str | None = None  # the sentence the grounding check kept from the caller
    answered: bool = False  # ...and the office fact that answers the caller was said instead
    tools: list[dict[str, object]] = field(default_factory=list)  # tool calls of this turn

    @property
    def spoken(self) -> str:
        return " ".join(t for t in (self.announcement, self.reply) if t)


class Conversation(OfficeRecords):
    """A live conversation with the team; one llama context for its whole life."""

    def __init__(
        self,
        engine: Engine,
        *,
        channel: str,
        assistant: str,
        listeners: list[Listener],
        caller: str = "",
    ) -> None:
        self.engine = engine
        self.caller = caller
        self.cfg = engine.cfg
        self.id = uuid.uuid4().hex[:12]
        self.channel = channel
        self.current = assistant
        self.turn = 0
        self.slots: dict[str, str] = {}
        self.lines: list[Line] = []
        self.listeners = listeners
        self.policy = HandoffPolicy(self.cfg.team.max_handoffs, self.cfg.team.pingpong_min_turns)
        self.session = engine.brain.acquire()
        self._messages: list[Message] = []  # the active profile's append-only LLM view
        self._pending: HandoffRule | None = None
        self._ties: list[HandoffRule] = []  # the two rules the caller was asked to choose from
        self._ties_asked: set[frozenset[str]] = set()  # pairs asked about (once a call each)
        self.cancel = threading.Event()
        self.ended = False
        self._slots_pending = False
        self._leaked = False  # the last reply quoted the system prompt (replaced)
        self.facts = CallFacts(engine.facts, engine.judge)  # the office facts given so far
        self._blocked: str | None = None  # this turn's sentence kept from the caller
        self._answered = False  # that fact was said instead of the reply's own words
        self._question = ""  # the last question the box could not answer (deferred)
        self.now: Callable[[], datetime] = lambda: office_now(self.cfg.team.timezone)
        self.message: MessageTaken | None = None  # the request for the team (take_message)
        self.ticket: int | None = None  # the number of the caller's ticket (tickets)
        self._ticket_kept: tickets.Ticket | None = None  # what the store holds of it
        self._ticket_news = ""  # the sentence that tells the caller a new ticket's number
        self._lead_kept: dict[str, str] | None = None  # what the store holds of the lead
        self.hello = ""  # the greeting's first words to a caller the address book knows
        self.booking: booking.BookingDesk | None = None  # the calendar dialogue (calendar)
        self.opening = ""  # said instead of the greeting (an outbound reminder call)
        self.closing = False  # the last reply said goodbye: the call ends after it
        self._tools: list[dict[str, object]] = []  # this turn's tool calls

    # -- events -----------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the call
                _LOGGER.exception("event listener failed on %s", event.type)

    @property
    def assistant(self) -> Assistant:
        return self.cfg.assistant(self.current)

    def start(self) -> str:
        """Open the conversation; returns the greeting of the entry assistant."""
        self.emit(
            ConversationStarted(
                self.id, channel=self.channel, assistant=self.current, caller=self.caller
            )
        )
        self._messages.append(self._clock_message())
        greeting = self.opening or self.assistant.greeting
        self.hello = "" if self.opening else self._known_caller()
        greeting = f"{self.hello} {greeting}".strip()
        if greeting:
            self._messages.append(Message("assistant", greeting))
            self.lines.append(Line("assistant", self.current, greeting))
            self.emit(
                AssistantReply(
                    self.id,
                    turn=0,
                    assistant=self.current,
                    text=greeting,
                    first_token_ms=0.0,
                    total_ms=0.0,
                )
            )
        return greeting

    def _known_caller(self) -> str:
        """A caller found in the address book by caller id: the name and company slots filled
        (the front desk does not ask again) and the hello that greets them by name."""
        book = self.engine.contacts
        number = messages.caller_number(self.caller)
        found = book.find(number) if book is not None and number else None
        if found is None:
            return ""
        known = {"name": found.name, **({"company": found.company} if found.company else {})}
        self.slots.update(known)
        self._slots_pending = True  # the slot note reaches the model before the first reply
        self.emit(SlotsUpdated(self.id, turn=0, slots=dict(self.slots), changed=list(known)))
        return contacts.hello(found.name, self.assistant.language)

    def end(self, reason: str = "caller hung up") -> None:
        if self.ended:
            return
        self.ended = True
        self.emit(
            ConversationEnded(self.id, reason=reason, assistant=self.current, turns=self.turn)
        )
        self.session.clear()
        self.engine.brain.release(self.session)

    # -- one turn ---------------------------------------------------------------------------

    def handle(
        self,
        text: str,
        *,
        language: str = "",
        on_announce: Callable[[str], None] | None = None,
        on_text: Callable[[str], None] | None = None,
        on_reply_end: Callable[[str, bool], None] | None = None,
    ) -> TurnResult:
        """Process one caller utterance and produce the reply (blocking: run off the loop).

        `on_announce` gets a handoff's announcement as soon as the decision is made (before the
        target profile is activated), `on_text` each piece of the reply as it is generated,
        `on_reply_end` the reply and whether it was cancelled, as soon as generation stops.
        Slots are extracted after the reply (on a handoff too), so they never delay its first
        words; their note reaches the model before the caller's next turn. `language`: the
        recogniser heard the caller speak this language (speech.language_check).
        """
        t0 = time.perf_counter()
        self.turn += 1
        turn = self.turn
        text = text.strip()
        self._blocked, self._answered = None, False
        self._tools = []
        self.facts.new_turn()
        self.emit(CallerUtterance(self.id, turn=turn, assistant=self.current, text=text))
        earlier = [ln.text for ln in self.lines if ln.role == "caller"]
        decision, rule, refused = self._route(text, earlier, language)
        t_route = time.perf_counter()
        if self._slots_pending:
            self._messages.append(Message("system", prompts.slots_note(self.slots)))
            self._slots_pending = False
        self.lines.append(Line("caller", self.current, text))
        if decision.verdict is not None:
            return self._fixed_turn(turn, text, decision, t0, on_text, on_reply_end)

        if decision.path == "clarify" and decision.ties:  # two rules apply: ask which
            self._ties = list(decision.ties)
            reply = ties.question(self.cfg, self._ties, self.assistant.language)
            if on_text:
                on_text(reply)
            self._messages += [Message("user", text), Message("assistant", reply)]
            self._slots_pending = bool(self._update_slots(text, turn, self.current))
            return self._finish(turn, text, reply, None, decision, refused, None, t0, {})
        chosen = decision.path == "clarify"  # the caller just chose: no confirmation again
        if rule is not None and rule.confirm and self._pending is None and not chosen:
            self._pending = rule
            reply = rule.confirm
            if on_text:
                on_text(reply)
            self._messages += [Message("user", text), Message("assistant", reply)]
            self._slots_pending = bool(self._update_slots(text, turn, self.current))
            reply = self._tell_ticket(reply, on_text)
            return self._finish(turn, text, reply, None, decision, refused, None, t0, {})
        self._pending = None
        announcement: str | None = None
        handoff: dict[str, object] | None = None
        timings: dict[str, float] = {"route_ms": (t_route - t0) * 1000}
        if rule is not None:
            if on_announce:
                on_announce(rule.announcement)
            announcement, handoff = self._handoff(rule, decision, text, turn)
        else:
            self._messages.append(Message("user", text))
        t_switch = time.perf_counter()
        step = self._calendar_turn(text, turn)
        if step is not None:  # the calendar dialogue answers: fixed sentences, no model
            reply, first_ms = step.reply, (time.perf_counter() - t_switch) * 1000
            timings["tool_ms"] = first_ms
            if on_text:
                on_text(reply)
            self._messages.append(Message("assistant", reply))
        else:
            self._office_facts(text, turn, str(handoff["from"]) if handoff else "")
            timings["facts_ms"] = (time.perf_counter() - t_switch) * 1000
            reply, first_ms = self._reply(on_text, turn)
        if on_reply_end:
            on_reply_end(reply, self.cancel.is_set())
        timings["switch_ms"] = (t_switch - t_route) * 1000
        timings["first_token_ms"] = first_ms
        # after the reply, so slots never delay its first words (on a handoff the target's
        # schema applies: the caller's words travel to it anyway); their note reaches the model
        # before the caller's next turn
        t_s = time.perf_counter()
        self._slots_pending = bool(self._update_slots(text, turn, self.current))
        timings["slots_ms"] = (time.perf_counter() - t_s) * 1000
        reply = self._tell_ticket(reply, on_text)
        return self._finish(
            turn, text, reply, announcement, decision, refused, handoff, t0, timings,
            fixed="leak" if self._leaked else None,
        )  # fmt: skip

    def _fixed_turn(
        self,
        turn: int,
        text: str,
        decision: Decision,
        t0: float,
        on_text: Callable[[str], None] | None,
        on_reply_end: Callable[[str, bool], None] | None,
    ) -> TurnResult:
        """A turn the guard flagged: a fixed phrase at once, the reply model is not asked. An
        injection stays out of the model's view; an emergency stays in it (later turns know)."""
        a, sp = self.assistant, self.cfg.speech
        if decision.verdict == "emergency":
            reply = sp.emergency_for(a.language, self.cfg.team.emergency_number_for(a.language))
            self._messages += [Message("user", text), Message("assistant", reply)]
        else:
            reply = sp.refusal_for(a.language)
        _LOGGER.warning("conversation %s turn %d: %s", self.id, turn, decision.reason)
        if on_text:
            on_text(reply)
        if on_reply_end:
            on_reply_end(reply, False)
        timings = {"route_ms": (time.perf_counter() - t0) * 1000}
        return self._finish(
            turn, text, reply, None, decision, None, None, t0, timings, fixed=decision.verdict
        )

    def record_turn(self, text: str, reply: str, reason: str, *, outcome: str = "human") -> None:
        """A turn the channel answered itself (SIP: "a person, please", the human key): it goes
        into the transcript and the call log like any other, without the team deciding."""
        self.turn += 1
        turn = self.turn
        self.emit(CallerUtterance(self.id, turn=turn, assistant=self.current, text=text))
        self.emit(
            RoutingDecided(
                self.id, turn=turn, assistant=self.current, outcome=outcome, target=None,
                path="channel", reason=reason, scores={}, latency_ms=0.0,
            )
        )  # fmt: skip
        self.lines.append(Line("caller", self.current, text))
        self._messages.append(Message("user", text))
        if reply:
            self._messages.append(Message("assistant", reply))
            self.record_phrase(reply)

    def record_phrase(self, text: str) -> None:
        """A fixed phrase said to the caller (a reprompt, a transfer under way or failed): in
        the transcript, under the current turn."""
        self.lines.append(Line("assistant", self.current, text))
        self.emit(
            AssistantReply(
                self.id, turn=self.turn, assistant=self.current, text=text,
                first_token_ms=0.0, total_ms=0.0,
            )
        )  # fmt: skip

    def _clock_message(self) -> Message:
        note = prompts.clock_note(self.now(), self.assistant.language, self.cfg.team.hours)
        return Message("system", note)

    def mark_cut_off(self, turn: int, heard: str) -> None:
        """The caller spoke over this turn's reply: keep what they heard, record the cut."""
        if turn != self.turn:
            return
        heard = heard.strip()
        for i in range(len(self._messages) - 1, -1, -1):
            if self._messages[i].role == "assistant":
                if heard:
                    self._messages[i] = Message("assistant", heard)
                else:  # nothing was said: the model must not learn to say nothing
                    del self._messages[i]
                break
        for i in range(len(self.lines) - 1, -1, -1):
            if self.lines[i].role == "assistant":
                self.lines[i] = Line("assistant", self.lines[i].assistant, heard + " ...")
                break
        self.emit(ReplyCutOff(self.id, turn=turn, assistant=self.current, heard=heard))

    def _route(
        self, text: str, earlier: list[str], language: str = ""
    ) -> tuple[Decision, HandoffRule | None, str | None]:
        spoken = self._language_rule(language)
        if spoken is not None and self._pending is None and guard_verdict(text) is None:
            why = f"the caller speaks {language} (heard by the language check)"
            d = Decision(spoken.target, "language", why, {}, rule=spoken)
            return self._checked(d, spoken, text)
        if self._pending is not None:
            pending = self._pending
            verdict = guard_verdict(text)
            if verdict is not None:
                self._pending = None
                d = Decision(None, "guard", GUARD_REASONS[verdict], {}, verdict=verdict)
                return self._checked(d, None, text)
            if agrees(text):
                d = Decision(pending.target, "confirm", "caller confirmed the transfer", {})
                return self._checked(d, pending, text)
            self._pending = None
            d = Decision(None, "confirm", "caller declined the transfer", {})
            return self._checked(d, None, text)
        if self._ties:
            asked, self._ties = self._ties, []
            picked = ties.pick(self.cfg, asked, text) if guard_verdict(text) is None else None
            if picked is not None:
                d = Decision(picked.target, "clarify", f"the caller chose {picked.target}", {},
                             rule=picked)  # fmt: skip
                return self._checked(d, picked, text)
        d = self._own_fact_keeps(self.engine.router.decide(self.current, text, earlier), text)
        if d.ties:
            pair = frozenset(r.target for r in d.ties)
            if pair in self._ties_asked:  # asked once this call: the LLM's choice, no loop
                first = d.ties[0]
                why = f"{d.reason}; asked once already: '{first.condition}'"
                d = Decision(first.target, "llm", why, d.scores, d.latency_ms, rule=first)
            else:
                self._ties_asked.add(pair)
        return self._checked(d, d.rule, text)

    def _language_rule(self, language: str) -> HandoffRule | None:
        """The current assistant's handoff to an assistant who speaks `language` (the highest
        priority), when the caller was heard speaking a language other than its own."""
        if not language or language == self.assistant.language:
            return None
        rules = [
            r for r in self.assistant.handoffs if self.cfg.assistant(r.target).language == language
        ]
        return max(rules, key=lambda r: r.priority) if rules else None

    def _own_fact_keeps(self, d: Decision, text: str) -> Decision:
        """A handoff the LLM chose (no rule matched clearly) is not made when one of the current
        assistant's own office facts clearly answers the caller: those facts are its alone, and
        a price question to the quotes assistant is no complaint for escalation. Nor is a tie
        asked about ("is it for Buying, or for Viewings?") when the renting assistant's own
        listing answers "what's the rent for the Riverside apartment"."""
        chose = d.target is not None and d.path == "llm"
        if d.verdict is not None or not (chose or (d.path == "clarify" and d.ties)):
            return d
        own = self.facts.own_answer(self.current, text)
        if own is None:
            return d
        why = f"its own office fact {own.fact.topic!r} answers it (not {d.target})"
        return Decision(None, "facts", why, d.scores, d.latency_ms)

    def _checked(
        self, d: Decision, rule: HandoffRule | None, text: str
    ) -> tuple[Decision, HandoffRule | None, str | None]:
        refused = None
        if d.target is not None:
            allowed = {r.target for r in self.assistant.handoffs}
            refused = self.policy.check(self.current, d.target, self.turn, allowed)
            if refused:
                rule = None
        outcome = "refused" if refused else ("handoff" if rule is not None else "stay")
        if d.ties and not refused:
            outcome = "clarify"  # the caller is asked which of two conditions they mean
        if d.verdict is not None:  # the guard's: a fixed phrase answers, never the model
            outcome = "refused" if d.verdict == "injection" else d.verdict
        self.emit(
            RoutingDecided(
                self.id,
                turn=self.turn,
                assistant=self.current,
                outcome=outcome,
                target=d.target,
                path=d.path,
                reason=refused or d.reason,
                scores=d.scores,
                latency_ms=d.latency_ms,
            )
        )
        return d, rule, refused

    def _update_slots(self, text: str, turn: int, assistant: str) -> list[str]:
        found = self.engine.slots.extract(text, assistant)
        changed = [k for k, v in found.items() if self.slots.get(k) != v]
        if changed:
            self.slots.update(found)
            self.emit(SlotsUpdated(self.id, turn=turn, slots=dict(self.slots), changed=changed))
            self._take_message(assistant)
        return changed

    def _handoff(
        self, rule: HandoffRule, decision: Decision, text: str, turn: int
    ) -> tuple[str, dict[str, object]]:
        source = self.assistant
        target = self.cfg.assistant(rule.target)
        self.emit(
            HandoffStarted(
                self.id,
                turn=turn,
                from_assistant=source.name,
                to_assistant=target.name,
                announcement=rule.announcement,
                reason=decision.reason,
                path=decision.path,
                scores=decision.scores,
                history=rule.history.value,
            )
        )
        self.lines.append(Line("assistant", source.name, rule.announcement))
        t0 = time.perf_counter()
        summary = None
        if rule.history.value == "summary":
            summary = self.engine.summarize(self.lines[:-2])
        self._messages = carryover_messages(
            rule,
            source_title=source.title,
            target=target,
            lines=self.lines[:-1],
            slots=self.slots,
            summary=summary,
        )
        self.current = target.name  # the note speaks the target's language
        self._messages.insert(0, self._clock_message())
        self.policy.record(turn, source.name, target.name)
        self.current = target.name
        switch_ms = self.engine.activate(self.session, target)
        carry_tokens = len(self.engine.brain.messages_tokens(self._messages))
        self.emit(
            HandoffCompleted(
                self.id,
                turn=turn,
                assistant=target.name,
                switch_ms=round(switch_ms, 2),
                carryover_tokens=carry_tokens,
            )
        )
        info: dict[str, object] = {
            "from": source.name,
            "to": target.name,
            "path": decision.path,
            "scores": decision.scores,
            "reason": decision.reason,
            "switch_ms": round(switch_ms, 2),
            "carryover_ms": round((time.perf_counter() - t0) * 1000, 1),
        }
        return rule.announcement, info

    def _office_facts(self, text: str, turn: int, asked_of: str = "") -> None:
        """Give the reply the office facts this turn needs, just before the caller's message
        (the last message the model reads is the caller's); on a handoff turn the facts of the
        assistant the caller asked (`asked_of`) count too."""
        found = self.facts.retrieve(self.current, text, asked_of)
        if found is None:
            return
        pairs = [(f.fact.topic, f.fact.answer) for f in found]
        meant = self.facts.asked if self.facts.asked != text else ""
        note = prompts.office_facts_note(pairs, self.assistant.language, meant)
        assert self._messages and self._messages[-1].role == "user"
        self._messages.insert(len(self._messages) - 1, Message("system", note))
        self.emit(
            FactsRetrieved(
                self.id,
                turn=turn,
                assistant=self.current,
                topics=[f.fact.topic for f in found],
                scores=[f.score for f in found],
            )
        )

    def support(self) -> Support:
        """What this conversation's replies may state (appliance/assistants/grounding.py): the
        office facts given so far, the assistant's own prompt and greeting, the team's people
        and the assistants' titles, the date note, the caller's words and slots."""
        a = self.assistant
        team = self.cfg.team
        texts = [
            *self.facts.given,
            a.system_prompt,
            a.greeting,
            self._clock_message().content,
            *(f"{h.name} {h.description}" for h in team.human_extensions),
            team.emergency_number_for(a.language),
            *(f"{x.name} {x.title}" for x in self.cfg.assistants),
            *(r.announcement for r in a.handoffs),
            f"ticket {self.ticket} {tickets.spoken_digits(self.ticket)}" if self.ticket else "",
        ]
        caller = [*(ln.text for ln in self.lines if ln.role == "caller"), *self.slots.values()]
        done = ["sent", "gesendet"] if self.message is not None else []  # a message was recorded
        if self.booking is not None:  # what the calendar did this call, and its appointment
            done += self.booking.done
            if self.booking.booked is not None:
                texts.append(spoken_when(self.booking.booked.start))
        return Support.of(texts, caller, done)

    def _reply(
        self, on_text: Callable[[str], None] | None = None, turn: int = 0
    ) -> tuple[str, float]:
        self._trim_to_budget()
        a = self.assistant
        stream = self.engine.stream_reply(self.session, a, self._messages, self.cancel)
        checked = speak_checked(
            stream,
            secret=prompts.system_prompt(a),
            support=self.support(),
            language=a.language,
            refusal=self.cfg.speech.refusal_for(a.language),
            deferral=self.cfg.speech.deferral_for(a.language),
            known=bool(self.facts.candidates),
            answer=lambda: self.facts.judged_answer(self.id),
            after_answer=self.cfg.speech.after_fact_for(a.language),
            on_text=on_text,
        )
        self._leaked, self._answered = checked.leaked, checked.answered
        if checked.leaked:
            _LOGGER.warning(
                "conversation %s: the reply quoted the system prompt; replaced by the refusal",
                self.id,
            )
        elif checked.blocked is not None:
            blocked = checked.blocked
            _LOGGER.info(
                "conversation %s: a sentence stated what no office fact supports (%s); %s",
                self.id,
                ", ".join(c.kind for c in blocked.claims),
                f"said the fact {self.facts.judged!r}" if checked.answered else "deferred",
            )
            self._blocked = blocked.sentence
            self.emit(
                SentenceBlocked(
                    self.id,
                    turn=turn,
                    assistant=self.current,
                    sentence=blocked.sentence,
                    claims=[f"{c.kind} {c.text}" for c in blocked.claims],
                    instead=self.facts.judged if checked.answered else "",
                )
            )
        reply = checked.text
        if not reply and not self.cancel.is_set():
            reply = FALLBACK_REPLY
            if on_text:
                on_text(reply)
        self._messages.append(Message("assistant", reply))
        return reply, checked.first_ms

    def _trim_to_budget(self) -> None:
        budget = self.engine.brain.n_ctx - self.cfg.models.max_reply_tokens - 400
        # the leading notes (date and time, a handoff's carry-over) stay; history goes first
        drop = next((i for i, m in enumerate(self._messages) if m.role != "system"), 0)
        while len(self._messages) > drop + 1 and (
            len(self.engine.brain.messages_tokens(self._messages)) > budget
        ):
            del self._messages[drop]

    def _finish(
        self,
        turn: int,
        text: str,
        reply: str,
        announcement: str | None,
        decision: Decision,
        refused: str | None,
        handoff: dict[str, object] | None,
        t0: float,
        timings: dict[str, float],
        *,
        fixed: str | None = None,
    ) -> TurnResult:
        total = (time.perf_counter() - t0) * 1000
        self.lines.append(Line("assistant", self.current, reply))
        self.emit(
            AssistantReply(
                self.id,
                turn=turn,
                assistant=self.current,
                text=reply,
                first_token_ms=round(timings.get("first_token_ms", 0.0), 1),
                total_ms=round(total, 1),
            )
        )
        # a question the facts could not answer goes to the team with the caller's details, and
        # so does one the judge answered with a fact it was not sure of
        unsure = self._answered and not self.facts.sure
        deferred = (self._blocked is not None and not self._answered) or says_deferral(reply)
        deferred = deferred or unsure
        if deferred and asks(text):
            self._question = text  # kept until a message carries it
        elif asks(text) and self.facts.topics and fixed is None and not self._tools:
            topics = list(self.facts.topics)
            self.emit(QuestionAnswered(self.id, turn=turn, assistant=self.current, topics=topics))
        self._take_message(self.current, reply)
        return TurnResult(
            turn=turn,
            caller=text,
            assistant=self.current,
            reply=reply,
            announcement=announcement,
            decision=decision,
            refused=refused,
            handoff=handoff,
            slots=dict(self.slots),
            latency_ms=round(total, 1),
            first_token_ms=timings.get("first_token_ms", 0.0),
            timings=timings,
            fixed=fixed,
            facts=list(self.facts.topics),
            blocked=self._blocked,
            answered=self._answered,
            tools=list(self._tools),
        )
