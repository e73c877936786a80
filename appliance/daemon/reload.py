"""A running box reading its config file again: what is wrong with the new file, which changed
settings apply to new calls at once and which wait for a restart (models, the SIP transport and
accounts, the line rate, thread counts of loaded models)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from appliance.assistants.lint import lint
from appliance.config import Config, ModelSettings, load_config, parse_config
from appliance.daemon.events import ConfigReloaded
from appliance.engine import Engine
from appliance.errors import ConfigError
from appliance.events import BoxEvent
from appliance.sip.guard import CallerGuard
from appliance.speech.voices import SpeechModels

_LOGGER = logging.getLogger(__name__)
TEMPLATE_ONLY = "the daemon runs a built-in template; start it with --config FILE to reload"
RESTART_ONLY = (
    *(f"models.{name}" for name in ModelSettings.model_fields),
    "sip.bind",
    "sip.port",
    "sip.transports",
    "sip.tls_cert",
    "sip.tls_key",
    "sip.codecs",
    "sip.accounts",
    "speech.line_rate",
    "speech.asr_threads",
    "speech.tts_threads",
)


def problems(path: Path) -> tuple[Config | None, list[str]]:
    """Load `path`: (the config, []) or (None, ["location: message", ...])."""
    try:
        cfg = load_config(path)
    except ConfigError as err:
        return None, list(err.problems) or [err.message]
    errors = [f"{p.location}: {p.message}" for p in lint(cfg) if p.level == "error"]
    return (None, errors) if errors else (cfg, [])


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


def restart_needed(new: Config, running: Config) -> list[str]:
    """Settings of `new` that differ from what the box runs and cannot change live."""
    a, b = new.model_dump(), running.model_dump()
    return [key for key in RESTART_ONLY if _get(a, key) != _get(b, key)]


def live_config(new: Config, running: Config) -> Config:
    """`new` with the restart-only settings the box runs now (ConfigError when that mix is not a
    valid config, e.g. a running account's entry assistant is gone)."""
    data, run = new.model_dump(), running.model_dump()
    for key in RESTART_ONLY:
        _set(data, key, _get(run, key))
    return parse_config(data, "the new config with the running SIP and model settings")


def warm_speech(speech: SpeechModels, cfg: Config) -> None:
    """Synthesize the new config's fixed phrases (greetings, announcements) before new calls
    use it; voices load on first use. Recognisers load when a call first needs them."""
    for a in cfg.assistants:
        fixed = cfg.speech.fixed_all(a.language)
        texts = [a.greeting, *fixed, *(r.announcement for r in a.handoffs)]
        texts += [r.confirm for r in a.handoffs if r.confirm]
        for text in texts:
            if text and not speech.has_phrase(a.voice, text):
                speech.phrase(a.voice, text)


def prune(current: Engine, in_use: list[Engine]) -> None:
    """Forget the cached prefixes (reply profiles, router, slot and summary prompts) of configs
    that neither `current` nor a call uses any more."""
    keep = current.prefix_keys()
    for engine in in_use:
        keep |= engine.prefix_keys()
    prefixes = current.brain.prefixes
    for key, adapters in list(prefixes.keys()):
        if (key, adapters) not in keep:
            prefixes.discard(key, adapters)


def _refused(errors: list[str]) -> dict[str, Any]:
    _LOGGER.warning("config reload refused: %s", "; ".join(errors))
    return {"type": "reload", "ok": False, "errors": errors}


class Reloadable(Protocol):
    """What a reload needs of the running box (the daemon)."""

    config_file: Path | None
    cfg: Config
    engine: Engine
    speech: SpeechModels

    def listening_hosts(self) -> list[str]: ...
    def adopt(self, cfg: Config, engine: Engine, guard: CallerGuard) -> tuple[int, int]: ...
    def report(self, ev: BoxEvent) -> None: ...


def reload_box(box: Reloadable) -> dict[str, Any]:
    """Read the box's config file again and have it adopt the new config for new calls (the
    reload answer). Nothing changes when the file is invalid. Runs on a control thread: the
    SIP thread only gets the swap of the switchboard's settings."""
    if box.config_file is None:
        return _refused([TEMPLATE_ONLY])
    new, errors = problems(box.config_file)
    if new is None:
        return _refused(errors)
    try:
        cfg = live_config(new, box.cfg)
    except ConfigError as err:
        return _refused(list(err.problems) or [err.message])
    needed = restart_needed(new, box.cfg)
    engine = box.engine.reconfigured(cfg)  # warms the new and changed profiles only
    warm_speech(box.speech, cfg)
    guard = CallerGuard(cfg.sip)  # may resolve registrar names: not on the SIP thread
    guard.trust_local(box.listening_hosts())
    generation, calls = box.adopt(cfg, engine, guard)
    _LOGGER.info(
        "config reloaded (generation %d, %box call(s) in progress); restart needed for: %s",
        generation,
        calls,
        ", ".join(needed) or "nothing",
    )
    box.report(ConfigReloaded(generation=generation, restart_needed=needed))
    return {
        "type": "reload",
        "ok": True,
        "generation": generation,
        "calls_in_progress": calls,
        "applies_to": "new calls",
        "restart_needed": needed,
    }
