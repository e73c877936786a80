"""Hearing a caller who speaks another of the team's languages to an English-only recogniser.

whisper tiny.en hears German as (bad) English, with low confidence. When the current
assistant's recogniser is unsure, a multilingual whisper names the utterance's language; if it
is another language of the team with enough probability, the utterance is recognised again with
that language's recogniser and the transcript carries the language, so the conversation can
take the handoff to the assistant who speaks it. Blocking: runs on the call's turn worker.
"""

from __future__ import annotations

import logging
import time

from appliance.audio.pcm import Samples
from appliance.speech.asr import Transcript
from appliance.speech.voices import SpeechModels

_LOGGER = logging.getLogger(__name__)


def other_language(
    speech: SpeechModels, transcript: Transcript, audio: Samples | None, current: str
) -> Transcript:
    """`transcript`, or the utterance heard again in the team language the caller speaks."""
    check = speech.cfg.speech.language_check
    if check is None or audio is None or len(audio) == 0:
        return transcript
    if transcript.confidence >= check.below_confidence:
        return transcript
    others = sorted({a.language for a in speech.cfg.assistants} - {current})
    if not others:
        return transcript
    t0 = time.perf_counter()
    probs = speech.detector().languages(audio)
    language, p = max(((lang, probs.get(lang, 0.0)) for lang in others), key=lambda x: x[1])
    if p < check.min_probability:
        return transcript
    model = speech.asr(language)
    recognise = getattr(model, "recognise", None)  # whisper's; a streaming (vosk) ear has none
    if recognise is None:
        _LOGGER.warning("the caller may speak %s, but its recogniser is not whisper", language)
        return transcript
    text, confidence = recognise(audio)
    took = (time.perf_counter() - t0) * 1000
    _LOGGER.info("heard %s (p=%.2f) in %.0f ms: %r", language, p, took, text)
    return Transcript(
        text, confidence, transcript.speech_ms, transcript.asr_ms + took, model.backend, language
    )
