"""The German assistant's voice, real models: Piper joe reading German with German phonemes
(`voice.phonemes: de`), loaded beside the English joe, its fixed phrases cached apart. How well
a listener understands it is bench/bench_german_voice.py's (20 sentences, 3 takes each, against
espeak-ng and joe's English phonemes, through whisper base)."""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pytest

from appliance.audio.pcm import rms_dbfs
from appliance.config import Voice
from appliance.errors import SpeechError
from appliance.models import model_path
from appliance.speech.tts import PiperTts

pytestmark = pytest.mark.real

TEXT = "Ich danke für Ihren Anruf."


def test_joe_reads_german_with_german_sounds(speech_models: Any) -> None:
    """With `phonemes: de` the text is phonemized as German ("Ich" with the ich-laut ç, "für"
    with a front rounded vowel); joe's own English phonemes have neither. Round-trip WER is too
    noisy to assert on a few takes (Piper samples each take, and whisper base heard "Vielen Dank"
    as "Billendack" once): bench/bench_german_voice.py ranks the voices on 60 takes."""
    german = speech_models.voice(Voice(model="piper-joe", phonemes="de")).voice
    english = speech_models.voice(Voice(model="piper-joe")).voice
    de, en = (
        unicodedata.normalize("NFC", "".join(p for s in v.phonemize(TEXT) for p in s))
        for v in (german, english)
    )
    assert "ç" in de and "y" in de, de
    assert "ç" not in en and "y" not in en, en
    # and the audio is joe's voice saying those sounds: speech, not silence, not the English take
    tts = speech_models.voice(Voice(model="piper-joe", phonemes="de"))
    said_de = tts.speak(TEXT)
    said_en = speech_models.voice(Voice(model="piper-joe")).speak(TEXT)
    assert rms_dbfs(said_de) > -35.0 and len(said_de) > 0.8 * tts.rate
    assert len(said_de) != len(said_en) or not np.allclose(said_de, said_en)


def test_the_german_assistant_has_its_own_voice_and_phrases(speech_models: Any) -> None:
    cfg = speech_models.cfg
    german, desk = cfg.assistant("german").voice, cfg.assistant("frontdesk").voice
    assert speech_models.voice(german) is not speech_models.voice(desk)
    greeting = cfg.assistant("german").greeting
    assert speech_models.has_phrase(german, greeting)  # warm() cached it in the German voice
    assert not speech_models.has_phrase(desk, greeting)


def test_an_unknown_phoneme_language_is_a_clear_error() -> None:
    with pytest.raises(SpeechError, match="no phonemes for 'zz'"):
        PiperTts(model_path("piper-joe"), phonemes="zz")
