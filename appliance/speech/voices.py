"""The loaded speech models of the box and the phrases synthesized once at start."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from appliance import paths
from appliance.audio.pcm import Samples
from appliance.config import AsrChoice, Config, Voice
from appliance.errors import SpeechError
from appliance.models import model_path
from appliance.speech.asr import AsrModel
from appliance.speech.sentences import SentenceSplitter
from appliance.speech.tts import PiperTts, TtsVoice

if TYPE_CHECKING:
    from appliance.speech.whisper_asr import WhisperModel

_LOGGER = logging.getLogger(__name__)


def guard_sentences(cfg: Config, language: str) -> list[str]:
    """The refusal and emergency phrases as the call's sentence splitter hands them to the
    mouth (so they are cached audio: spoken at once, without waiting for synthesis)."""
    speech = cfg.speech
    number = cfg.team.emergency_number_for(language)
    out: list[str] = []
    for text in (
        speech.refusal_for(language),
        speech.emergency_for(language, number),
        speech.deferral_for(language),
        speech.after_fact_for(language),
    ):
        splitter = SentenceSplitter()
        out += splitter.feed(text) + splitter.flush()
    return out


class SpeechModels:
    """Recognisers and voices, each loaded once and shared by all calls; a phrase cache."""

    def __init__(
        self,
        cfg: Config,
        *,
        models_dir: Path | None = None,
        asr_models: Mapping[str, AsrModel] | None = None,
        voices: Mapping[str, TtsVoice] | None = None,
    ) -> None:
        """`asr_models` and `voices`: models already made, by manifest name (`AsrChoice.model`,
        `Voice.model`); they are used as they are and nothing is loaded for those names."""
        self.cfg = cfg
        self.models_dir = models_dir
        self.rate = cfg.speech.line_rate
        self._asr: dict[str, AsrModel] = dict(asr_models or {})
        self._voices: dict[str, TtsVoice] = dict(voices or {})
        self._phrases: dict[tuple[str, float, str], Samples] = {}
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------

    def asr(self, language: str) -> AsrModel:
        """The recogniser of an assistant language; a multilingual whisper shared by several
        languages (or by the language check) is loaded once and told which one it hears."""
        choice = self.cfg.speech.asr_for(language)
        model = self._load_asr(choice, language)
        speaking = getattr(model, "speaking", None)
        return speaking(language) if speaking is not None else model

    def _load_asr(self, choice: AsrChoice, language: str) -> AsrModel:
        with self._lock:
            if choice.model not in self._asr:
                folder = model_path(choice.model, models_dir=self.models_dir)
                if choice.backend == "whisper":
                    from appliance.speech.whisper_asr import WhisperModel

                    lang = "en" if choice.model.endswith(".en") else language
                    self._asr[choice.model] = WhisperModel(
                        folder, threads=self.cfg.speech.asr_threads, language=lang
                    )
                else:
                    from appliance.speech.vosk_asr import VoskModel

                    self._asr[choice.model] = VoskModel(folder, cache=paths.data_dir() / "cache")
            return self._asr[choice.model]

    def detector(self) -> WhisperModel:
        """The multilingual whisper of `speech.language_check` (shared with a recogniser of the
        same name: detection does not depend on the language it recognises)."""
        from appliance.speech.whisper_asr import WhisperModel

        check = self.cfg.speech.language_check
        if check is None:
            raise SpeechError("speech.language_check is not configured")
        with self._lock:
            model = self._asr.get(check.model)
            if model is None:
                folder = model_path(check.model, models_dir=self.models_dir)
                model = WhisperModel(folder, threads=self.cfg.speech.asr_threads)
                self._asr[check.model] = model
        if not isinstance(model, WhisperModel) or not model.multilingual:
            raise SpeechError(f"speech.language_check.model {check.model} is not multilingual")
        return model

    def voice(self, voice: Voice) -> TtsVoice:
        with self._lock:
            if voice.model in self._voices and not voice.phonemes:
                return self._voices[voice.model]  # also a voice made by the caller of __init__
            if voice.key not in self._voices:
                folder = model_path(voice.model, models_dir=self.models_dir)
                self._voices[voice.key] = PiperTts(
                    folder, threads=self.cfg.speech.tts_threads, phonemes=voice.phonemes
                )
            return self._voices[voice.key]

    # -- fixed phrases ----------------------------------------------------------------------

    def phrase(self, voice: Voice, text: str) -> Samples:
        """Audio of a phrase that never changes, synthesized on first use and kept."""
        key = (voice.key, voice.length_scale, text)
        cached = self._phrases.get(key)
        if cached is None:
            cached = self.voice(voice).speak(text, length_scale=voice.length_scale, rate=self.rate)
            self._phrases[key] = cached
        return cached

    def has_phrase(self, voice: Voice, text: str) -> bool:
        return (voice.key, voice.length_scale, text) in self._phrases

    def warm(self) -> float:
        """Load every model the team uses and synthesize its fixed phrases (ms)."""
        t0 = time.perf_counter()
        said = self.cfg.speech
        if said.language_check is not None:
            self.detector()
        for a in self.cfg.assistants:
            fixed = said.fixed_all(a.language)
            self.asr(a.language)
            texts = [a.greeting, *fixed, *(r.announcement for r in a.handoffs)]
            texts += [r.confirm for r in a.handoffs if r.confirm]
            texts += guard_sentences(self.cfg, a.language)
            for text in texts:
                if text:
                    self.phrase(a.voice, text)
        ms = (time.perf_counter() - t0) * 1000
        total = sum(len(x) for x in self._phrases.values()) / self.rate
        _LOGGER.info(
            "speech ready in %.0f ms: %d phrases, %.0f s of audio", ms, len(self._phrases), total
        )
        return ms
