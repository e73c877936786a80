"""The German assistant's voice, real models: Piper joe reading German with German phonemes
(`voice.phonemes: de`), loaded beside the English joe, its fixed phrases cached apart, and
understood by whisper base in German through the phone line (bench/bench_german_voice.py
measures 20 sentences, 3 takes each, against espeak-ng and joe's English phonemes)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from appliance.audio.callers import CallerScript
from appliance.audio.pcm import resample
from appliance.config import Voice
from appliance.errors import SpeechError
from appliance.models import model_path
from appliance.speech.tts import PiperTts

pytestmark = pytest.mark.real

TEXT = "Ich danke für Ihren Anruf."
SAID = ["Vielen Dank für Ihren Anruf.", "Ich gebe Ihr Anliegen an das Team weiter."]


def _round_trip(speech_models: Any, voice: Voice) -> list[str]:
    tts = speech_models.voice(voice)
    ear = speech_models.asr("de")
    out = []
    for text in SAID:
        sc = CallerScript().pause(200).say((tts.speak(text), tts.rate), text).pause(200)
        out.append(ear.recognise(resample(sc.audio, sc.rate, 16000))[0])
    return out


def test_joe_reads_german_with_german_sounds_and_is_understood(speech_models: Any) -> None:
    """With `phonemes: de` the text is phonemized as German ("Ich" with the ich-laut ç, "für"
    with a front rounded vowel); joe's own English phonemes have neither. Round-trip WER is too
    noisy to rank the two on two sentences (Piper samples each take; the bench's 60 takes do)."""
    german = speech_models.voice(Voice(model="piper-joe", phonemes="de")).voice
    english = speech_models.voice(Voice(model="piper-joe")).voice
    de, en = (
        unicodedata.normalize("NFC", "".join(p for s in v.phonemize(TEXT) for p in s))
        for v in (german, english)
    )
    assert "ç" in de and "y" in de, de
    assert "ç" not in en and "y" not in en, en
    heard = _round_trip(speech_models, Voice(model="piper-joe", phonemes="de"))
    print(heard)
    assert "dank" in heard[0].lower(), heard


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
