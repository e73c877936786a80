"""One call's conversation loop with audio: frames in -> speech -> decision -> speech out.

Three threads per call besides whoever moves the frames:
- the ears (`_hear`): endpointing and streaming recognition on each inbound frame, barge-in,
  silence timers. Cheap; in step mode (`step()`, used by `voicebox simulate`) it runs inline.
- the worker: recognition of finished utterances, the conversation turn (routing, handoff,
  LLM), anything that mutates the conversation.
- the mouth: sentences -> Piper -> the playout buffer, so synthesis overlaps generation.
Frames move through `push()`/`pull()` (a media callback: queue operations only) or `step()`.
Every step is reported to `sink` as a typed event with the call time `t_ms` (call_events.py).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from appliance.audio.pcm import Samples, StreamResampler, frame_len
from appliance.audio.playout import Playout, Segment
from appliance.call_events import (
    FORWARDED,
    AudioStart,
    BargeIn,
    CallEnd,
    CallEvent,
    CallStart,
    ConversationStep,
    Filler,
    FirstSentence,
    Heard,
    Held,
    Ignored,
    Partial,
    ReplyEnd,
    Silence,
    SpeechEnd,
    SpeechStart,
    TurnDone,
    TurnFailed,
)
from appliance.config import Assistant
from appliance.conversation import Conversation
from appliance.engine import Engine
from appliance.events import Event
from appliance.speech.asr import ASR_RATE, AsrEvent, AsrStream, Transcript
from appliance.speech.language_check import other_language
from appliance.speech.sentences import SentenceSplitter
from appliance.speech.voices import SpeechModels

_LOGGER = logging.getLogger(__name__)
Sink = Callable[[CallEvent], None]
FILLER_REPEAT_MS = 4000  # later "one moment" lines of a long wait


@dataclass
class _Job:
    kind: str  # speculate | utterance | typed | cut_off | stop
    event: AsrEvent | None = None
    key: int = 0
    text: str = ""
    turn: int = 0
    epoch: int = 0


@dataclass
class _SpeechJob:
    text: str
    kind: str
    turn: int
    assistant: Assistant
    epoch: int


class CallLoop:
    """A live call with the team through audio frames at the line rate."""

    def __init__(
        self,
        engine: Engine,
        speech: SpeechModels,
        *,
        assistant: str | None = None,
        channel: str = "voice",
        sink: Sink | None = None,
        caller: str = "",
    ) -> None:
        self.engine = engine
        self.speech = speech
        self.cfg = engine.cfg
        self.speech_cfg = speech.cfg.speech
        self.rate = self.speech_cfg.line_rate
        self.frame = frame_len(self.rate)
        self.sink = sink
        self.caller = caller
        self.conv: Conversation = engine.new_conversation(
            channel=channel, assistant=assistant, listeners=[self._on_event], caller=caller
        )
        self.playout = Playout(self.rate)
        self._to_asr = StreamResampler(self.rate, ASR_RATE)
        self.frames_in = 0
        self.ended = threading.Event()
        self.end_reason = ""
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._to_mouth: queue.Queue[_SpeechJob | None] = queue.Queue()
        self._inbound: queue.Queue[Samples | None] = queue.Queue(maxsize=500)
        self._epoch = 0  # bumped on barge-in: speech of an older epoch is dropped
        self._working = threading.Event()  # the worker is on a job
        self._mouth_pending = 0  # sentences queued or being synthesized
        self._lock = threading.Lock()
        self._emit_lock = threading.Lock()
        self._streams: dict[str, AsrStream] = {}
        self._listening_as = ""  # the assistant whose recogniser hears the caller
        self.asr = self._stream_for(self.conv.assistant)
        self._spec: tuple[int, Transcript] | None = None
        self._carry: Transcript | None = None  # an utterance the caller went on from
        self._waiting_since: int | None = None  # call time the current turn was accepted
        self._fillers = 0  # "one moment" lines said in this turn
        self._heard_turns: set[int] = set()
        self._pause_key = 0
        self._silence_ms = 0
        self._reprompted = False
        self._closing = ""  # why the box hangs up once its last words are played
        self._threads: list[threading.Thread] = []
        # a channel's own handling of an utterance (SIP: "a person, please"): the text to say
        # instead of a conversation turn, or None to let the team answer
        self.intercept: Callable[[str], str | None] | None = None
        self.hold = False  # the caller is on hold (a transfer is under way): no silence timers

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, *, ears_thread: bool = False) -> None:
        """Greet the caller and start the worker and the mouth (and the ears for push())."""
        targets: list[tuple[str, Callable[[], None]]] = [
            ("worker", self._work),
            ("mouth", self._speak_loop),
        ]
        if ears_thread:
            targets.append(("ears", self._ears_loop))
        for name, target in targets:
            t = threading.Thread(target=target, name=f"call-{self.conv.id}-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        conv = self.conv
        self._emit(CallStart(t_ms=self.t_ms, assistant=conv.current, conversation=conv.id))
        greeting = self.conv.start()
        hello = self.conv.hello  # a known caller's name: synthesized for this call, not kept
        if hello:
            self._say(hello, "reply", 0)
            greeting = greeting.removeprefix(hello).strip()
        if greeting:
            self._say(greeting, "greeting", 0)

    def say(self, text: str, *, record: bool = True) -> None:
        """Say a fixed phrase now (in the current assistant's voice); it goes into the
        transcript unless `record` is off (hold lines, "one moment")."""
        if record:
            self.conv.record_phrase(text)
        self._say(text, "phrase", self.conv.turn)

    def typed(self, digits: str) -> None:
        """Keys the caller typed reach the assistant as a turn of their own."""
        self._jobs.put(_Job("typed", text=digits, epoch=self._epoch))

    def hangup(self, reason: str = "caller hung up") -> None:
        """End the call now (the caller hung up, or the box decided to)."""
        if self.ended.is_set():
            return
        self._cancel_speech()
        self._jobs.put(_Job("stop", text=reason))
        self._to_mouth.put(None)
        with contextlib.suppress(queue.Full):
            self._inbound.put_nowait(None)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=30)
        self.conv.end(reason)
        self.end_reason = reason
        self._emit(
            CallEnd(
                t_ms=self.t_ms, reason=reason, assistant=self.conv.current, turns=self.conv.turn
            )
        )
        self.ended.set()

    @property
    def busy(self) -> bool:
        """The box is working on a turn (recognising, deciding, generating or synthesizing)."""
        with self._lock:
            speaking = self._mouth_pending > 0
        return self._working.is_set() or not self._jobs.empty() or speaking

    @property
    def t_ms(self) -> int:
        return self.frames_in * 20

    # -- frames -----------------------------------------------------------------------------

    def step(self, frame: Samples) -> Samples:
        """Step mode: hear one inbound frame now and return the outbound frame."""
        self._hear(frame)
        out = self.pull()
        self._report_started()
        return out

    def push(self, frame: Samples) -> None:
        """Threaded mode (needs start(ears_thread=True)): queue one inbound frame."""
        try:
            self._inbound.put_nowait(frame)
        except queue.Full:
            _LOGGER.warning("call %s: inbound queue full, frame dropped", self.conv.id)

    def pull(self) -> Samples:
        return self.playout.pop(self.frame)

    def _fixed(self, name: str) -> str:
        """A fixed phrase in the current assistant's language."""
        return self.speech_cfg.fixed(name, self.conv.assistant.language)

    def _ears_loop(self) -> None:
        while True:
            frame = self._inbound.get()
            if frame is None:
                return
            self._hear(frame)

    # -- ears -------------------------------------------------------------------------------

    def _stream_for(self, a: Assistant) -> AsrStream:
        model = self.speech.asr(a.language)
        key = self.speech_cfg.asr_for(a.language).model
        if key not in self._streams:
            self._streams[key] = model.open_stream(endpoint_ms=self.speech_cfg.endpoint_ms)
        self._listening_as = a.name
        return self._streams[key]

    def _report_started(self) -> None:
        """audio_start for each segment the playout began (pull() runs on the media clock
        thread, which only touches buffers; the events are sent from here)."""
        for seg in self.playout.started():
            self._on_segment(seg)

    def _hear(self, frame: Samples) -> None:
        self._report_started()  # threaded mode: what the clock thread began playing
        self.frames_in += 1
        if self._closing:
            if not self.playout.playing and not self.busy and not self.ended.is_set():
                why, self._closing = self._closing, ""
                threading.Thread(target=self.hangup, args=(why,), daemon=True).start()
            return
        if self.conv.current != self._listening_as and not self.asr.speaking:  # after a handoff
            self.asr = self._stream_for(self.conv.assistant)
        for ev in self.asr.feed(self._to_asr(frame)):
            self._on_asr(ev)
        self._silence_tick()

    def _on_asr(self, ev: AsrEvent) -> None:
        if ev.kind == "start":
            self._silence_ms = 0
            self._reprompted = False
            self._emit(SpeechStart(t_ms=self.t_ms))
            if self.playout.playing or self.busy:
                self._barge_in()
        elif ev.kind == "partial":
            self._emit(Partial(t_ms=self.t_ms, text=ev.text))
        elif ev.kind == "pause":
            self._pause_key += 1
            self._jobs.put(_Job("speculate", ev, key=self._pause_key))
        elif ev.kind == "resume":
            self._pause_key += 1
        elif ev.kind == "end":
            self._emit(SpeechEnd(t_ms=self.t_ms, speech_ms=ev.speech_ms))
            self._jobs.put(_Job("utterance", ev, key=self._pause_key, epoch=self._epoch))

    def _barge_in(self) -> None:
        heard = self._cancel_speech()
        if heard is None:
            return
        self._emit(BargeIn(t_ms=self.t_ms, assistant=self.conv.current, heard_ms=heard.heard_ms))
        if heard.turn > 0 and "reply" in heard.kinds:
            self._heard_turns.add(heard.turn)
            self._jobs.put(_Job("cut_off", text=heard.text, turn=heard.turn))

    def _cancel_speech(self) -> Any:
        with self._lock:
            self._epoch += 1
        self.conv.cancel.set()
        while True:
            try:
                self._to_mouth.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                self._mouth_pending -= 1
        return self.playout.flush()

    def _silence_tick(self) -> None:
        since = self._waiting_since
        wait_ms = self.speech_cfg.filler_after_ms if self._fillers == 0 else FILLER_REPEAT_MS
        if since is not None and self.t_ms - since >= wait_ms:
            # no dead air while the brain works: "one moment" after filler_after_ms of silence
            # (counted from the end of an announcement too), again every few seconds
            self._waiting_since = self.t_ms
            with self._lock:
                mouth_idle = self._mouth_pending == 0  # else the first words are being made
            if mouth_idle and not self.playout.playing:
                self._fillers += 1
                self._emit(Filler(t_ms=self.t_ms, waited_ms=self.t_ms - since))
                self._say(self._fixed("one_moment"), "phrase", self.conv.turn)
        if self.busy or self.playout.playing or self.hold:
            self._silence_ms = 0
            return
        if self.asr.speaking:
            return
        self._silence_ms += 20
        if self._silence_ms >= self.speech_cfg.hangup_after_s * 1000:
            self._emit(Silence(t_ms=self.t_ms, action="goodbye", silent_ms=self._silence_ms))
            self.say(self._fixed("goodbye"))
            self._closing = "silence"
        elif self._silence_ms >= self.speech_cfg.reprompt_after_s * 1000 and not self._reprompted:
            self._reprompted = True
            self._emit(Silence(t_ms=self.t_ms, action="reprompt", silent_ms=self._silence_ms))
            self.say(self._fixed("reprompt"))

    # -- worker -----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job.kind == "stop":
                return
            self._working.set()
            try:
                self._run_job(job)
            except Exception:
                _LOGGER.exception("call %s: turn failed", self.conv.id)
                why = "turn failed; apologised to the caller"
                self._emit(TurnFailed(t_ms=self.t_ms, message=why))
                self.say(self._fixed("apology"))
            finally:
                self._working.clear()

    def _run_job(self, job: _Job) -> None:
        if job.kind == "cut_off":
            self.conv.mark_cut_off(job.turn, job.text)
        elif job.kind == "speculate" and job.event is not None:
            if self._jobs.empty():  # only when nothing real waits
                self._spec = (job.key, self.asr.transcribe(job.event))
        elif job.kind == "typed":
            text = f"(typed on the phone keypad: {job.text})"
            self._turn(Transcript(text, 1.0, 1000, 0.0, "dtmf"), False, job.epoch)
        elif job.kind == "utterance" and job.event is not None:
            spec, self._spec = self._spec, None
            speculative = spec is not None and spec[0] == job.key
            transcript = (
                spec[1] if spec is not None and speculative else self.asr.transcribe(job.event)
            )
            language = self.conv.assistant.language
            transcript = other_language(self.speech, transcript, job.event.audio, language)
            self._turn(transcript, speculative, job.epoch)

    def _turn(self, transcript: Transcript, speculative: bool, epoch: int) -> None:
        if self._carry is not None:
            transcript, self._carry = self._carry.joined(transcript), None
        with self._lock:
            if epoch != self._epoch:
                # the caller went on talking before we answered: hear it as one utterance
                self._carry = transcript
                self._emit(
                    Held(t_ms=self.t_ms, text=transcript.text, reason="the caller kept talking")
                )
                return
            self.conv.cancel.clear()
        why = transcript.usable(
            min_speech_ms=self.speech_cfg.min_speech_ms,
            # heard in the language it is in: the language itself says where the caller goes
            min_confidence=0.0 if transcript.language else self.speech_cfg.min_confidence,
        )
        if why is not None:
            conf = round(transcript.confidence, 3)
            self._emit(Ignored(t_ms=self.t_ms, text=transcript.text, reason=why, confidence=conf))
            if why.startswith("low confidence"):
                self.say(self._fixed("not_understood"))
            return
        self._emit(
            Heard(
                t_ms=self.t_ms,
                text=transcript.text,
                confidence=round(transcript.confidence, 3),
                asr_ms=round(transcript.asr_ms, 1),
                speculative=speculative,
            )
        )
        if self.intercept is not None:
            instead = self.intercept(transcript.text)
            if instead is not None:  # in the transcript and the call log like any turn
                self.conv.record_turn(transcript.text, instead, "the channel answered: a person")
                self._say(instead, "phrase", self.conv.turn)
                return
        turn = self.conv.turn + 1
        splitter = SentenceSplitter()
        self._waiting_since = self.t_ms
        self._fillers = 0

        def on_announce(text: str) -> None:
            self._say(text, "announcement", turn, epoch=epoch)

        sentences = 0

        def speak_sentence(sentence: str) -> None:
            nonlocal sentences
            if sentences == 0:
                self._emit(FirstSentence(t_ms=self.t_ms, turn=turn, text=sentence))
            sentences += 1
            self._say(sentence, "reply", turn, epoch=epoch)

        def on_text(piece: str) -> None:
            for sentence in splitter.feed(piece):
                speak_sentence(sentence)

        def on_reply_end(text: str, cancelled: bool) -> None:
            for sentence in splitter.flush():  # the unfinished tail, before slots are extracted
                speak_sentence(sentence)
            self._emit(ReplyEnd(t_ms=self.t_ms, turn=turn, cancelled=cancelled, chars=len(text)))

        result = self.conv.handle(
            transcript.text,
            language=transcript.language,
            on_announce=on_announce,
            on_text=on_text,
            on_reply_end=on_reply_end,
        )
        for sentence in splitter.flush():  # a confirmation question comes without reply_end
            speak_sentence(sentence)
        self._waiting_since = None
        if self.conv.closing and not self._closing:
            self._closing = "goodbye said"  # the reply said goodbye (a kept reminder): hang up
        if epoch != self._epoch and turn not in self._heard_turns:
            self.conv.mark_cut_off(turn, "")  # interrupted before a word was played
        self._emit(
            TurnDone(
                t_ms=self.t_ms,
                turn=result.turn,
                assistant=result.assistant,
                timings={k: round(v, 1) for k, v in result.timings.items()},
            )
        )

    # -- mouth ------------------------------------------------------------------------------

    def _say(self, text: str, kind: str, turn: int, *, epoch: int | None = None) -> None:
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return
            self._mouth_pending += 1
            epoch_now = self._epoch
        self._to_mouth.put(_SpeechJob(text, kind, turn, self.conv.assistant, epoch_now))

    def _speak_loop(self) -> None:
        while True:
            item = self._to_mouth.get()
            if item is None:
                return
            try:
                self._synthesize(item)
            except Exception:
                _LOGGER.exception(  # not the text: the journal gets no replies
                    "call %s: synthesis failed (%s, %d chars)",
                    self.conv.id,
                    item.kind,
                    len(item.text),
                )
            finally:
                with self._lock:
                    self._mouth_pending = max(0, self._mouth_pending - 1)

    def _synthesize(self, item: _SpeechJob) -> None:
        voice = item.assistant.voice
        if self.speech.has_phrase(voice, item.text) or item.kind != "reply":
            parts = [self.speech.phrase(voice, item.text)]
        else:
            tts = self.speech.voice(voice)
            parts = list(tts.synthesize(item.text, length_scale=voice.length_scale, rate=self.rate))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        with self._lock:
            if item.epoch != self._epoch or len(audio) == 0:
                return
            self.playout.add(Segment(item.kind, item.text, audio, item.turn, item.assistant.name))

    # -- events -----------------------------------------------------------------------------

    def _on_segment(self, seg: Segment) -> None:
        if self._waiting_since is not None and (
            seg.kind == "announcement"
            or (seg.kind == "phrase" and seg.text == self._fixed("one_moment"))
        ):
            # still no answer: the silence after this audio counts towards the next "one moment"
            self._waiting_since = self.t_ms + len(seg.audio) * 1000 // self.rate
        else:
            self._waiting_since = None  # the caller hears the answer
        self._emit(
            AudioStart(
                t_ms=self.t_ms, kind=seg.kind, assistant=seg.assistant, turn=seg.turn, text=seg.text
            )
        )

    def _on_event(self, e: Event) -> None:
        """Pass the conversation's events named in FORWARDED on (routing, handoff, tool ...)."""
        if e.type in FORWARDED:
            self._emit(ConversationStep(t_ms=self.t_ms, event=e))

    def _emit(self, ev: CallEvent) -> None:
        if self.sink is None:
            return
        with self._emit_lock:  # one event at a time, in call-time order
            ev = replace(ev, t_ms=self.t_ms, wall=round(time.time(), 3))
            try:
                self.sink(ev)
            except Exception:
                _LOGGER.exception("call event sink failed on %s", ev.wire_type())
