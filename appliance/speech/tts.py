"""Piper synthesis: one onnxruntime thread per voice, sentence by sentence, at the line rate."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from appliance.audio.pcm import Samples, resample
from appliance.errors import SpeechError

_LOGGER = logging.getLogger(__name__)


class TtsVoice(Protocol):
    """A loaded voice as the call loop and the phrase cache use it (`PiperTts` is the real one)."""

    rate: int  # the voice's own sample rate

    def synthesize(
        self, text: str, *, length_scale: float = 1.0, rate: int | None = None
    ) -> Iterator[Samples]:
        """Audio for `text`, one array per sentence, at `rate` (default: the voice's own)."""
        ...

    def speak(
        self, text: str, *, length_scale: float = 1.0, rate: int | None = None
    ) -> Samples: ...


class PiperTts:
    """One loaded Piper voice; thread-safe (one synthesis at a time)."""

    def __init__(self, folder: Path, *, threads: int = 1, phonemes: str | None = None) -> None:
        """`phonemes`: the espeak-ng language the text is phonemized in (default: the voice's)."""
        import dataclasses
        import json

        import onnxruntime  # here, not at the top: the voices module must import light
        from piper import PiperVoice
        from piper.config import PiperConfig
        from piper.phonemize_espeak import ESPEAK_DATA_DIR

        onnx = next(iter(sorted(folder.glob("*.onnx"))), None)
        if onnx is None or not Path(f"{onnx}.json").exists():
            raise SpeechError(f"no Piper voice (.onnx + .onnx.json) in {folder}")
        t0 = time.perf_counter()
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            config = PiperConfig.from_dict(json.loads(Path(f"{onnx}.json").read_text()))
            if phonemes:
                config = dataclasses.replace(config, espeak_voice=phonemes)
            session = onnxruntime.InferenceSession(
                str(onnx), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise SpeechError(f"cannot load Piper voice {onnx}: {err}") from err
        self.voice = PiperVoice(
            config=config,
            session=session,
            espeak_data_dir=Path(ESPEAK_DATA_DIR),
            download_dir=folder,
        )
        if phonemes:
            try:
                self.voice.phonemize("a")
            except Exception as err:  # espeak-ng raises its own error for an unknown voice
                raise SpeechError(f"espeak-ng has no phonemes for {phonemes!r}: {err}") from err
        self.rate = int(config.sample_rate)
        self.lock = threading.Lock()
        ms = (time.perf_counter() - t0) * 1e3
        _LOGGER.info("piper voice %s loaded in %.0f ms", onnx.name, ms)

    def synthesize(
        self, text: str, *, length_scale: float = 1.0, rate: int | None = None
    ) -> Iterator[Samples]:
        """Audio for `text`, one array per sentence, at `rate` (default: the voice's own)."""
        from piper.config import SynthesisConfig

        syn = SynthesisConfig(length_scale=length_scale)
        out_rate = rate or self.rate
        with self.lock:
            chunks = list(self.voice.synthesize(text, syn_config=syn)) if text.strip() else []
        for chunk in chunks:
            audio = np.asarray(chunk.audio_float_array, dtype=np.float32)
            yield resample(audio, self.rate, out_rate)

    def speak(self, text: str, *, length_scale: float = 1.0, rate: int | None = None) -> Samples:
        parts = list(self.synthesize(text, length_scale=length_scale, rate=rate))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
