"""`voicebox chat`: talk to the team as a caller, in text, seeing every routing decision."""

from __future__ import annotations

import sys
from typing import TextIO

from appliance.conversation import Conversation, TurnResult

HELP = "commands: /slots  /who  /quit (or Ctrl-D)"


def _say(out: TextIO, who: str, text: str) -> None:
    out.write(f"[{who}] {text}\n")


def show_turn(out: TextIO, r: TurnResult, *, verbose: bool) -> None:
    d = r.decision
    if verbose:
        scores = " ".join(
            f"{k}={v:.2f}" for k, v in sorted(d.scores.items(), key=lambda kv: -kv[1])
        )
        verdict = f"refused ({r.refused})" if r.refused else (d.target or "stay")
        out.write(f"  · route: {verdict} via {d.path} in {d.latency_ms:.0f} ms  [{scores}]\n")
    if r.handoff:
        src = str(r.handoff["from"])
        _say(out, src, r.announcement or "")
        out.write(
            f"  ↪ handoff {src} → {r.assistant} ({r.handoff['path']}, "
            f"profile switch {r.handoff['switch_ms']} ms)\n"
        )
    _say(out, r.assistant, r.reply)


def chat_loop(
    conv: Conversation, *, inp: TextIO = sys.stdin, out: TextIO = sys.stdout, verbose: bool = True
) -> int:
    """Run a conversation until the caller quits; returns an exit code."""
    interactive = inp.isatty()
    out.write(f"voicebox chat: you are the caller. {HELP}\n")
    greeting = conv.start()
    if greeting:
        _say(out, conv.current, greeting)
    try:
        while True:
            if interactive:
                out.write("you> ")
                out.flush()
            line = inp.readline()
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit", "/bye"):
                break
            if text == "/slots":
                out.write(f"  slots: {conv.slots or '(none yet)'}\n")
                continue
            if text == "/who":
                a = conv.assistant
                out.write(
                    f"  speaking: {a.name} ({a.title}), handoffs so far: {len(conv.policy.hops)}\n"
                )
                continue
            if not interactive:
                out.write(f"you> {text}\n")
            show_turn(out, conv.handle(text), verbose=verbose)
            out.flush()
    except KeyboardInterrupt:
        out.write("\n")
    finally:
        conv.end("caller left the chat")
    return 0
