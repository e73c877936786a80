"""The whole configuration as pydantic models (YAML on disk).

Structural errors (unknown fields, wrong types, handoffs to unknown assistants) make a config
invalid; style problems (vague conditions, overlaps, unreachable assistants) are warnings reported
by `appliance.assistants.lint`.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from appliance.config.calendar import Hours
from appliance.config.facts import Fact
from appliance.config.integrations import Integrations
from appliance.config.partial import error_locs, not_covered, partial_model
from appliance.config.sip import Sip
from appliance.config.strict import StrictModel
from appliance.errors import ConfigError

_LOGGER = logging.getLogger(__name__)

NAME_RE = r"^[a-z][a-z0-9_-]{0,31}$"
TEMPLATES = ("starter", "trade", "healthcare", "realestate", "ecommerce", "saas")


class HistoryPolicy(StrEnum):
    """How much of the conversation travels to the target assistant."""

    FULL = "full"
    LAST_N = "last_n"
    SUMMARY = "summary"
    NONE = "none"


class HandoffRule(StrictModel):
    """One transfer condition of an assistant: when to pass the caller on, and to whom."""

    target: str = Field(pattern=NAME_RE)
    """Name of the assistant that takes over the conversation."""
    condition: str = Field(min_length=1)
    """When to transfer, in plain language, e.g. "the caller asks about pricing or a demo"."""
    examples: list[str] = Field(default_factory=list)
    """Example caller phrases that meet the condition (they sharpen the fast path)."""
    priority: int = 0
    """When several conditions apply at once, the highest priority wins."""
    announcement: str = "One moment, I'll connect you."
    """What the current assistant says while the target takes over."""
    history: HistoryPolicy = HistoryPolicy.FULL
    """How much of the conversation travels: full, last_n, summary or none."""
    last_n: int = Field(default=4, ge=1, le=50)
    """With history last_n: how many turns (caller and assistant lines) travel."""
    confirm: str | None = None
    """Optional question asked before transferring; the caller must agree."""


class Voice(StrictModel):
    """Speech synthesis settings of one assistant."""

    model: str = "piper-joe"
    """Manifest name of the Piper voice."""
    length_scale: float = Field(default=1.0, gt=0.3, lt=3.0)
    """Speaking rate: above 1 is slower, below 1 faster."""
    phonemes: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
    """espeak-ng language whose phonemes the voice speaks (default: the voice's own). "de" lets
    the English joe voice read German as German sounds: no German Piper voice installs offline,
    and this is the most intelligible German the box has (bench/bench_german_voice.py)."""

    @property
    def key(self) -> str:
        """One loaded voice per model and phoneme language."""
        return f"{self.model}@{self.phonemes}" if self.phonemes else self.model


class Lora(StrictModel):
    """A LoRA adapter applied on top of the shared model for this assistant."""

    path: str
    """Path of the adapter GGUF (relative paths are resolved from the config file's folder)."""
    scale: float = Field(default=1.0, ge=0.0, le=4.0)
    """Strength of the adapter (0 = off)."""


class Slot(StrictModel):
    """A fact the assistants collect from the caller; slots travel with every handoff."""

    name: str = Field(pattern=NAME_RE)
    """Slot key, e.g. name, company, need."""
    description: str
    """What the slot holds, in plain language (the extractor reads it)."""


DEFAULT_SLOTS = [
    Slot(name="name", description="the caller's full name, only if they said it"),
    Slot(name="company", description="the company the caller works for or calls from"),
    Slot(name="need", description="what the caller wants, in a few words"),
    Slot(name="budget", description="the budget range the caller mentioned"),
    Slot(name="urgency", description="how urgent the caller says it is: low, normal or high"),
    Slot(name="language", description="the language the caller prefers, e.g. English, German"),
    Slot(name="callback", description="the phone number to call back, digits only"),
]


class Assistant(StrictModel):
    """One assistant profile: prompt, voice, adapter, tools and handoff rules."""

    name: str = Field(pattern=NAME_RE)
    """Unique short name (lowercase), used by rules and accounts."""
    title: str
    """Human-readable title shown in the TUI, e.g. "Front desk"."""
    language: str = "en"
    """Language code the assistant speaks (en, de, ...)."""
    system_prompt: str = Field(min_length=1)
    """The assistant's instructions: role, goal, tone, what it knows."""
    greeting: str = ""
    """First sentence when a call starts with this assistant."""
    voice: Voice = Field(default_factory=Voice)
    """Speech synthesis voice and speaking rate."""
    lora: Lora | None = None
    """Optional LoRA adapter on top of the shared model."""
    tools: list[str] = Field(default_factory=lambda: ["handoff"])
    """Integrated tools the assistant may use: handoff (implied), transfer_to_human,
    take_message (appliance/tools: TOOLS)."""
    slots: list[Slot] = Field(default_factory=list)
    """Extra facts this assistant collects, on top of the team's slots."""
    stay_examples: list[str] = Field(default_factory=list)
    """Caller phrases this assistant answers itself (they tell the router to stay)."""
    handoffs: list[HandoffRule] = Field(default_factory=list)
    """Transfer conditions, checked after every caller utterance."""
    facts: list[Fact] = Field(default_factory=list)
    """Facts only this assistant knows (a price list, appointment rules, service levels)."""


class HumanExtension(StrictModel):
    """A person or group a call can be transferred to (used by SIP)."""

    name: str = Field(pattern=NAME_RE)
    """Short name used in tools, e.g. reception."""
    extension: str = Field(pattern=r"^[0-9A-Za-z*#+._@:-]{1,64}$")
    """Extension number or SIP URI user part."""
    description: str = ""
    """Who answers there."""


class Team(StrictModel):
    """Team-wide settings."""

    entry: str = Field(pattern=NAME_RE)
    """The assistant that answers a new conversation."""
    max_handoffs: int = Field(default=4, ge=0, le=20)
    """Most handoffs in one call; further transfer requests are refused politely."""
    pingpong_min_turns: int = Field(default=2, ge=0, le=20)
    """Caller turns that must pass before returning to the assistant just left."""
    human_extensions: list[HumanExtension] = Field(default_factory=list)
    """People a call can be transferred to."""
    slots: list[Slot] = Field(default_factory=lambda: list(DEFAULT_SLOTS))
    """Facts collected from the caller; they travel with every handoff."""
    emergency_number: str = Field(default="", pattern=r"^[0-9]{0,6}$")
    """The emergency number of the office's country, said in `speech.emergency` (empty: 911, or
    112 for assistants that speak German)."""
    facts: list[Fact] = Field(default_factory=list)
    """Facts every assistant may tell a caller (hours, address, contact, services, policies)."""
    hours: Hours | None = None
    """When the office is open (per weekday, and closed days); needed by the calendar tool:
    appointments are booked inside these hours."""
    timezone: str = ""
    """The office's time zone (IANA name, e.g. Europe/Berlin) for the date and time the
    assistants are told; empty: the box's local zone."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as err:
                msg = f"unknown time zone '{value}' (an IANA name, e.g. Europe/Berlin)"
                raise ValueError(msg) from err
        return value

    def emergency_number_for(self, language: str) -> str:
        return self.emergency_number or EMERGENCY_NUMBERS.get(language, "911")


class ModelSettings(StrictModel):
    """Which models the brain loads and how."""

    llm: str = "qwen2.5-coder-1.5b"
    """Manifest name of the shared LLM."""
    embeddings: str = "minilm-l6"
    """Manifest name of the sentence-embedding model for the routing fast path."""
    threads: int = Field(default=2, ge=1, le=64)
    """CPU threads for the LLM."""
    n_ctx: int = Field(default=2048, ge=512, le=32768)
    """Context length of each conversation."""
    max_reply_tokens: int = Field(default=64, ge=8, le=1024)
    """Upper bound on the tokens of one spoken reply."""
    repack: bool = False
    """Let llama.cpp repack the weights for its CPU kernels (a second copy in memory)."""


class Routing(StrictModel):
    """Thresholds of the handoff decision."""

    fast_accept: float = Field(default=0.55, ge=0.0, le=1.0)
    """Similarity at or above which the fast path hands off without asking the LLM."""
    fast_margin: float = Field(default=0.12, ge=0.0, le=1.0)
    """How far the best rule must lead the runner-up (and staying) for the fast path."""
    fast_reject: float = Field(default=0.25, ge=0.0, le=1.0)
    """Similarity below which the fast path stays without asking the LLM."""
    llm_check: bool = True
    """Ask the LLM (grammar-constrained choice) when the fast path is not confident."""
    clarify_ties: bool = True
    """When the LLM check finds two transfer conditions of the same priority about equally
    likely, ask the caller which they mean ("is it for Sales or for Support?") instead of
    picking one silently (different priorities: the higher one wins)."""


class AsrChoice(StrictModel):
    """Which recogniser hears callers of one language."""

    backend: Literal["whisper", "vosk"] = "whisper"
    """whisper (faster-whisper behind a VAD) or vosk (streaming Kaldi, partial results)."""
    model: str = "whisper-tiny.en"
    """Manifest name of the model (a Vosk model added from a file works too)."""


class LanguageCheck(StrictModel):
    """Hearing a caller who speaks another of the team's languages to an English-only ear.

    When the current assistant's recogniser is unsure of an utterance, a multilingual whisper
    model names its language; a team language other than the assistant's, named with enough
    probability, is heard again with that language's recogniser, and the assistant's handoff to
    an assistant of that language is taken."""

    model: str = "whisper-base"
    """Manifest name of a multilingual whisper model (not a `.en` one)."""
    below_confidence: float = Field(default=0.45, ge=0.0, le=1.0)
    """Only utterances recognised with less confidence than this are checked (English callers
    are heard with more, so they pay nothing)."""
    min_probability: float = Field(default=0.15, ge=0.0, le=1.0)
    """The other language must have at least this probability in whisper's detection."""

    @field_validator("model")
    @classmethod
    def _multilingual(cls, value: str) -> str:
        if value.endswith(".en"):
            raise ValueError(f"{value} is English-only; language_check needs a multilingual model")
        return value


class LocalPhrases(StrictModel):
    """The call's fixed phrases in another language; a phrase left out is said in English."""

    reprompt: str | None = None
    goodbye: str | None = None
    not_understood: str | None = None
    one_moment: str | None = None
    apology: str | None = None


FIXED_PHRASE_NAMES = tuple(LocalPhrases.model_fields)
GERMAN_PHRASES = LocalPhrases(
    reprompt="Sind Sie noch da?",
    goodbye="Ich höre niemanden mehr in der Leitung und beende den Anruf jetzt. Auf Wiederhören!",
    not_understood="Entschuldigung, das habe ich nicht verstanden. Könnten Sie es wiederholen?",
    one_moment="Einen Moment, bitte.",
    apology="Entschuldigung, bei mir ist etwas schiefgegangen. Könnten Sie das wiederholen?",
)

EMERGENCY_NUMBERS = {"de": "112"}
REFUSAL_PHRASES = {
    "en": "I'm sorry, I can't help with that. Is there anything else I can do for you?",
    "de": "Das kann ich leider nicht tun. Kann ich Ihnen sonst irgendwie helfen?",
}
DEFERRAL_PHRASES = {
    "en": "I don't have that information here. I can take a message, and someone from the "
    "office will call you back.",
    "de": "Dazu habe ich hier leider keine Angaben. Ich kann eine Nachricht aufnehmen, und "
    "jemand aus dem Büro ruft Sie zurück.",
}
AFTER_FACT_PHRASES = {
    "en": "If that doesn't answer your question, I can take a message, and someone from the "
    "office will call you back.",
    "de": "Falls das Ihre Frage nicht beantwortet, kann ich eine Nachricht aufnehmen, und "
    "jemand aus dem Büro ruft Sie zurück.",
}
EMERGENCY_PHRASES = {
    "en": "This sounds like an emergency. Please hang up now and call {number} right away.",
    "de": "Das klingt nach einem Notfall. Bitte legen Sie jetzt auf und rufen Sie sofort den "
    "Notruf {number} an.",
}


class Speech(StrictModel):
    """Ears and mouth of the box: recognition, end of speech, silences, fixed phrases."""

    asr: dict[str, AsrChoice] = Field(default_factory=lambda: {"en": AsrChoice()})
    """Recogniser per assistant language; languages not listed use the "en" entry."""
    line_rate: Literal[8000, 16000] = 8000
    """Sample rate of the call audio (8 kHz narrowband, 16 kHz wideband)."""
    endpoint_ms: int = Field(default=300, ge=100, le=3000)
    """Silence after speech that ends the caller's utterance."""
    min_speech_ms: int = Field(default=250, ge=0, le=5000)
    """Utterances with less speech than this are ignored (coughs, clicks)."""
    min_confidence: float = Field(default=0.15, ge=0.0, le=1.0)
    """Utterances recognised with less confidence are not acted on; the caller is asked again."""
    reprompt_after_s: float = Field(default=8.0, ge=1.0, le=120.0)
    """Silence from the caller after which the assistant asks whether they are still there."""
    hangup_after_s: float = Field(default=20.0, ge=2.0, le=600.0)
    """Silence after which the assistant says goodbye and ends the call."""
    filler_after_ms: int = Field(default=1500, ge=300, le=10000)
    """If a turn has produced no audio this long after the caller stopped, say `one_moment`."""
    reprompt: str = "Are you still there?"
    goodbye: str = "I can't hear anyone on the line, so I'll end the call now. Goodbye!"
    not_understood: str = "Sorry, I didn't catch that. Could you say it again?"
    one_moment: str = "One moment, please."
    apology: str = "I'm sorry, something went wrong on my side. Could you say that again?"
    phrases: dict[str, LocalPhrases] = Field(default_factory=lambda: {"de": GERMAN_PHRASES})
    """The five phrases above in other languages, said to callers of an assistant of that
    language (German built in)."""
    refusal: dict[str, str] = Field(default_factory=lambda: dict(REFUSAL_PHRASES))
    """Said instead of a reply when the caller tries to steer the assistant (prompt injection)
    or a reply would quote its instructions; per language ("en" is the fallback)."""
    deferral: dict[str, str] = Field(default_factory=lambda: dict(DEFERRAL_PHRASES))
    """Said instead of a sentence that states something no office fact supports (the question
    becomes a message for the team), per language ("en" is the fallback)."""
    after_fact: dict[str, str] = Field(default_factory=lambda: dict(AFTER_FACT_PHRASES))
    """Said after the office fact that best answers the caller's question, when the reply's
    own sentence was kept back (it stated something else, or said it had no answer); the
    question becomes a message for the team all the same. Per language."""
    emergency: dict[str, str] = Field(default_factory=lambda: dict(EMERGENCY_PHRASES))
    """Said at once when a caller describes a medical emergency, per language; `{number}` is
    replaced by `team.emergency_number`."""
    language_check: LanguageCheck | None = None
    """Off by default; templates with a German assistant turn it on (see LanguageCheck)."""
    tts_threads: int = Field(default=1, ge=1, le=8)
    """onnxruntime threads of the Piper voice (1 is fastest on small boxes)."""
    asr_threads: int = Field(default=2, ge=1, le=8)
    """CTranslate2 threads of whisper."""

    @model_validator(mode="after")
    def _needs_english(self) -> Speech:
        if "en" not in self.asr:
            raise ValueError('speech.asr needs an "en" entry (the default recogniser)')
        if self.hangup_after_s <= self.reprompt_after_s:
            raise ValueError("speech.hangup_after_s must be longer than reprompt_after_s")
        return self

    def asr_for(self, language: str) -> AsrChoice:
        return self.asr.get(language) or self.asr["en"]

    def refusal_for(self, language: str) -> str:
        return self.refusal.get(language) or self.refusal.get("en") or REFUSAL_PHRASES["en"]

    def deferral_for(self, language: str) -> str:
        return self.deferral.get(language) or self.deferral.get("en") or DEFERRAL_PHRASES["en"]

    def after_fact_for(self, language: str) -> str:
        return (
            self.after_fact.get(language) or self.after_fact.get("en")
            or AFTER_FACT_PHRASES["en"]
        )  # fmt: skip

    def fixed(self, name: str, language: str) -> str:
        """Fixed phrase `name` (reprompt, goodbye, not_understood, one_moment, apology) in
        `language`, else in English."""
        local = self.phrases.get(language)
        text = getattr(local, name) if local is not None else None
        return str(text or getattr(self, name))

    def fixed_all(self, language: str) -> list[str]:
        return [self.fixed(name, language) for name in FIXED_PHRASE_NAMES]

    def emergency_for(self, language: str, number: str) -> str:
        text = self.emergency.get(language) or self.emergency.get("en") or EMERGENCY_PHRASES["en"]
        return text.replace("{number}", number)


class ReportSettings(StrictModel):
    """The savings estimate of `voicebox report` (edit for your office)."""

    staff_hourly_cost: float = Field(default=30.0, ge=0.0)
    """What an hour of a person answering the phone costs the office."""
    person_minutes_per_call: float = Field(default=4.0, ge=0.0)
    """How long a person would spend on a call the box handled (talk and notes)."""
    box_cost_per_month: float = Field(default=25.0, ge=0.0)
    """What the box costs a month (hardware spread over its life, power, care)."""
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    """The currency of these figures (ISO 4217, e.g. USD, EUR)."""


class LoggingSettings(StrictModel):
    """What `voicebox run` writes to its log (the journal under systemd)."""

    transcripts: bool = False
    """Also log the caller's words and the box's replies (utterances, replies, partial results,
    slot values, summaries, callers' display names). Off: the log gets event types, call and
    conversation ids, assistants, timings and reasons only; the store and the TUI keep the
    transcripts either way. Turn on while testing, off on an office's box."""


class Config(StrictModel):
    """The whole voicebox configuration."""

    team: Team
    """Entry assistant, limits, human extensions, slots."""
    assistants: list[Assistant] = Field(min_length=1)
    """The assistant profiles."""
    models: ModelSettings = Field(default_factory=ModelSettings)
    """The models the brain loads."""
    routing: Routing = Field(default_factory=Routing)
    """Handoff decision thresholds."""
    speech: Speech = Field(default_factory=Speech)
    """Speech recognition and synthesis, silences and fixed phrases."""
    sip: Sip = Field(default_factory=Sip)
    """The phone system: accounts (none: peer mode), port, codecs, limits, security, keypad."""
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    """What the daemon's log (the journal) may contain: transcripts only when turned on."""
    integrations: Integrations = Field(default_factory=Integrations)
    """Office systems on the LAN the box delivers to: the mail server, webhooks."""
    report: ReportSettings = Field(default_factory=ReportSettings)
    """The figures behind `voicebox report`'s savings estimate."""

    @model_validator(mode="after")
    def _check_references(self) -> Config:
        problems = reference_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def assistant(self, name: str) -> Assistant:
        for a in self.assistants:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.assistants]


def reference_problems(cfg: Config) -> list[str]:
    """Broken references: duplicate names, unknown entry or targets, self-handoffs."""
    problems: list[str] = []
    names = [a.name for a in cfg.assistants]
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            problems.append(f"assistants[{i}].name: duplicate assistant name '{n}'")
        seen.add(n)
    if cfg.team.entry not in seen:
        problems.append(f"team.entry: unknown assistant '{cfg.team.entry}'")
    ext_names = [e.name for e in cfg.team.human_extensions]
    for i, a in enumerate(cfg.assistants):
        for j, rule in enumerate(a.handoffs):
            where = f"assistants[{i}] ({a.name}).handoffs[{j}].target"
            if rule.target not in seen:
                problems.append(f"{where}: unknown assistant '{rule.target}'")
            elif rule.target == a.name:
                problems.append(f"{where}: an assistant cannot hand off to itself")
    team_slots = {s.name for s in cfg.team.slots}
    for i, a in enumerate(cfg.assistants):
        own = [s.name for s in a.slots]
        for name in sorted(set(own) & team_slots) + sorted({n for n in own if own.count(n) > 1}):
            problems.append(f"assistants[{i}] ({a.name}).slots: duplicate slot '{name}'")
    if len(set(ext_names)) != len(ext_names):
        problems.append("team.human_extensions: duplicate extension names")
    problems += _calendar_problems(cfg, seen)
    hooks = [w.name for w in cfg.integrations.webhooks]
    if len(set(hooks)) != len(hooks):
        problems.append("integrations.webhooks: duplicate webhook names")
    return problems + _sip_problems(cfg, seen, set(ext_names))


def _calendar_problems(cfg: Config, assistants: set[str]) -> list[str]:
    """The calendar tool needs a calendar, the office's hours and an appointment type."""
    out = []
    cal = cfg.integrations.calendar
    for i, a in enumerate(cfg.assistants):
        if "calendar" not in a.tools:
            continue
        where = f"assistants[{i}] ({a.name}).tools"
        if cal is None:
            out.append(f"{where}: the calendar tool needs integrations.calendar (a CalDAV server)")
        elif not cal.offered_by(a.name):
            out.append(f"{where}: no appointment type in integrations.calendar is offered by it")
        if cfg.team.hours is None:
            out.append(f"{where}: the calendar tool needs team.hours (when appointments can be)")
    rem = cal.reminders if cal is not None else None
    if rem is not None and rem.enabled:
        where = "integrations.calendar.reminders"
        if rem.assistant not in assistants:
            out.append(f"{where}.assistant: unknown assistant '{rem.assistant}'")
        elif "calendar" not in cfg.assistant(rem.assistant).tools:
            out.append(f"{where}.assistant: '{rem.assistant}' is not given the calendar tool")
        if not rem.dial and not cfg.sip.accounts:
            out.append(f"{where}.dial: no SIP account to call through; give a dial pattern "
                       "(sip:{number}@PBX)")  # fmt: skip
    for j, kind in enumerate(cal.appointments if cal else []):
        for name in kind.assistants:
            if name not in assistants:
                out.append(f"integrations.calendar.appointments[{j}].assistants: unknown "
                           f"assistant '{name}'")  # fmt: skip
    return out


def _sip_problems(cfg: Config, assistants: set[str], humans: set[str]) -> list[str]:
    sip, out = cfg.sip, []
    for i, acc in enumerate(sip.accounts):
        if acc.entry and acc.entry not in assistants:
            out.append(f"sip.accounts[{i}].entry: unknown assistant '{acc.entry}'")
    for where, name in (("sip.dtmf.human", sip.dtmf.human), ("sip.overflow_to", sip.overflow_to)):
        if name and name not in humans:
            out.append(f"{where}: unknown human extension '{name}'")
    if sip.overflow == "transfer" and not (sip.overflow_to or humans):
        out.append("sip.overflow: 'transfer' needs a human extension (sip.overflow_to)")
    if "tls" in sip.transports and not (sip.tls_cert and sip.tls_key):
        out.append("sip.transports: tls needs sip.tls_cert and sip.tls_key")
    return out


def _format_validation(err: ValidationError, data: Any) -> list[str]:
    out = []
    for e in err.errors():
        loc_parts = []
        node = data
        for part in e["loc"]:
            if isinstance(part, int):
                name = None
                if isinstance(node, list) and 0 <= part < len(node):
                    node = node[part]
                    if isinstance(node, dict) and isinstance(node.get("name"), str):
                        name = node["name"]
                loc_parts.append(f"[{part}]" + (f" ({name})" if name else ""))
            else:
                node = node.get(part) if isinstance(node, dict) else None
                loc_parts.append(("." if loc_parts else "") + str(part))
        loc = "".join(loc_parts) or "(top level)"
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
            if not e["loc"]:  # the config's own checks: each problem names its place
                out.extend(msg.split("; "))
                continue
        out.append(f"{loc}: {msg}")
    return out


def parse_config(data: Any, source: str = "<config>") -> Config:
    """Validate already-parsed YAML data; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping", [f"{source}: not a mapping"]
        )
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        problems = _format_validation(err, data)
        problems += not_covered(_hidden_reference_problems(err, data), problems)
        raise ConfigError(f"{source}: {len(problems)} problem(s)", problems) from err


def _hidden_reference_problems(err: ValidationError, data: dict[str, Any]) -> list[str]:
    """The reference checks pydantic skips while a field has a type error, run on the config
    as far as it could be read (best effort: a value too broken to check is left out)."""
    bad = error_locs(err)
    if bad <= {()}:
        return []  # only the reference check itself failed: its problems are reported
    try:
        return reference_problems(partial_model(Config, data, bad))
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        _LOGGER.debug("reference checks skipped on an invalid config: %s", exc)
        return []


def load_config(path: str | Path | None = None) -> Config:
    """Load a config file, a template name (`starter`, `trade`, ...), or the starter team."""
    if path is None:
        return load_template("starter")
    if str(path) in TEMPLATES:
        return load_template(str(path))
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {p}: {err.strerror}", [f"{p}: {err.strerror}"]) from err
    cfg = parse_yaml(text, str(p))
    return resolve_paths(cfg, p.parent)


def parse_yaml(text: str, source: str) -> Config:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{where}: invalid YAML: {problem}", [f"{where}: {problem}"]) from err
    return parse_config(data, source)


def load_template(name: str) -> Config:
    if name not in TEMPLATES:
        raise ConfigError(f"unknown template '{name}' (choose from {', '.join(TEMPLATES)})")
    text = template_text(name)
    return parse_yaml(text, f"template:{name}")


def template_text(name: str) -> str:
    return resources.files("appliance.templates").joinpath(f"{name}.yaml").read_text("utf-8")


def resolve_paths(cfg: Config, base: Path) -> Config:
    """Make relative LoRA and address book paths relative to the config file's folder."""
    for a in cfg.assistants:
        if a.lora and not Path(a.lora.path).is_absolute():
            a.lora.path = str((base / a.lora.path).resolve())
    book = cfg.integrations.contacts
    if book is not None and book.file and not Path(book.file).is_absolute():
        book.file = str((base / book.file).resolve())
    return cfg


def _reveal(model: BaseModel, out: dict[str, Any]) -> None:
    """Put every secret of `model` into its JSON dump `out` as it is (the dump masks them)."""
    for name, value in model:
        if isinstance(value, SecretStr):
            out[name] = value.get_secret_value()
        elif isinstance(value, BaseModel):
            _reveal(value, out[name])
        elif isinstance(value, list):
            for item, dumped in zip(value, out[name], strict=True):
                if isinstance(item, BaseModel):
                    _reveal(item, dumped)


def dump_config(cfg: Config) -> str:
    """The config as YAML (defaults included), for `voicebox init` and the TUI; secrets (SIP,
    calendar, address book, mail server, webhook passwords) are saved as they are, never
    logged."""
    data = cfg.model_dump(mode="json")
    _reveal(cfg, data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
