"""The SIP commands of `voicebox`: run (the daemon), call (test caller or outbound assistant call),
extension (a plain phone that registers and answers, for testing transfers)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from appliance import paths
from appliance.config import TEMPLATES
from appliance.daemon.signals import wait_signal
from appliance.errors import VoiceboxError
from appliance.event_stream import describe


def _printer(as_json: bool) -> Any:
    lock = threading.Lock()

    def show(ev: dict[str, Any]) -> None:
        with lock:
            if as_json:
                print(json.dumps(ev, ensure_ascii=False), flush=True)
            elif (line := describe(ev)) is not None:
                print(f"[{ev.get('t', 0):7.2f}s] {line}", file=sys.stderr, flush=True)

    return show


def _account(args: argparse.Namespace) -> Any:
    from pydantic import SecretStr

    from appliance.config.sip import SipAccount

    if not args.registrar:
        return None
    if not args.user:
        raise VoiceboxError("--registrar needs --user (and usually --password)", code="usage")
    return SipAccount(
        registrar=args.registrar, user=args.user, password=SecretStr(args.password or "")
    )


def _call_through_daemon(args: argparse.Namespace) -> int | None:
    """The running daemon places the call (its models, its call limit, its store) and this
    command follows it: the call's events until it ends (Ctrl-C hangs up). None: no daemon
    answers on the control socket."""
    from appliance.daemon.control_client import ControlError, request, subscribe

    control = Path(args.control) if args.control else paths.control_path()
    try:
        sub = subscribe(control, timeout=5.0)
    except ControlError as err:
        if "not running" in str(err):
            return None
        raise
    show = _printer(args.json)
    with sub:
        answer = request(
            control, {"cmd": "call", "uri": args.uri, "assistant": args.assistant}, timeout=10.0
        )
        if not answer.get("ok"):
            why = answer.get("error") or answer.get("message") or "refused"
            raise VoiceboxError(f"the box did not place the call: {why}", code="call")
        key, connected = answer["call"], False
        print(f"the box at {control} is calling {args.uri} ({key})", file=sys.stderr, flush=True)
        events = iter(sub)
        next(events)  # the status line
        while True:
            try:
                ev = next(events, None)
            except KeyboardInterrupt:
                request(control, {"cmd": "hangup", "call": key})
                continue
            if ev is None:
                raise VoiceboxError("the daemon went away during the call", code="call")
            if ev.get("call") != key:
                continue
            show(ev)
            connected = connected or ev.get("type") == "call_connected"
            if ev.get("type") == "call_end":
                return 0 if connected else 1


def cmd_call(args: argparse.Namespace) -> int:
    if args.assistant and not args.standalone:
        rc = _call_through_daemon(args)
        if rc is not None:
            return rc
        print("no daemon is running: this process places the call (it loads the models)",
              file=sys.stderr, flush=True)  # fmt: skip
    if args.assistant:
        from appliance.config import load_config
        from appliance.daemon.service import outbound_call
        from appliance.store import Store

        return outbound_call(
            args.uri,
            args.assistant,
            load_config(args.config),
            llm=args.llm,
            port=args.port,
            as_json=args.json,
            store=Store(db) if (db := store_file(args)) is not None else None,
        )
    if not args.wav:
        raise VoiceboxError("give --wav FILE (a test caller) or --assistant NAME", code="usage")
    from appliance.audio.pcm import resample, split_frames
    from appliance.audio.wav import read_wav, write_wav
    from appliance.sip.endpoint import SipEndpoint
    from appliance.sip.phone import Phone, parse_dtmf

    wav = read_wav(Path(args.wav))  # a bad file fails before any SIP work
    try:
        dtmf = parse_dtmf(args.dtmf or "")
    except ValueError as err:
        raise VoiceboxError(str(err), code="usage") from err
    rate = args.rate
    frames = split_frames(resample(wav.samples, wav.rate, rate), rate)
    ep = SipEndpoint(bind=args.bind, port=args.port, clock_rate=rate, codecs=args.codecs.split(","))
    ep.start()
    report = _printer(args.json)
    phone = Phone(
        ep,
        frames,
        report=report,
        tail_s=args.tail,
        account=_account(args),
        dtmf=dtmf,
        max_s=args.max_seconds,
        follow_transfers=not args.refuse_transfers,
    )
    headers = dict(h.split("=", 1) for h in args.header or [])
    phone.dial(args.uri, headers)
    wait_signal(phone.done)
    if not phone.done.is_set():
        ep.run(lambda: phone.hangup("interrupted"))
        phone.done.wait(5)
    phone.close()
    ep.stop()
    if args.record:
        write_wav(Path(args.record), phone.result.recording, rate)
    return 0 if phone.result.connected else 1


def cmd_extension(args: argparse.Namespace) -> int:
    from appliance.audio.pcm import resample, split_frames
    from appliance.audio.wav import read_wav
    from appliance.sip.endpoint import SipEndpoint
    from appliance.sip.phone import Phone

    frames = []
    if args.wav:
        wav = read_wav(Path(args.wav))
        frames = split_frames(resample(wav.samples, wav.rate, args.rate), args.rate)
    ep = SipEndpoint(
        bind=args.bind, port=args.port, clock_rate=args.rate, codecs=args.codecs.split(",")
    )
    ep.start()
    phone = Phone(
        ep,
        frames,
        report=_printer(args.json),
        tail_s=args.tail,
        account=_account(args),
        register=True,
        ring_only=args.ring_only,
    )
    phone.answer_calls()
    stop = threading.Event()
    wait_signal(stop)
    phone.close()
    ep.stop()
    return 0


def config_file(args: argparse.Namespace) -> Path | None:
    """The config file `voicebox run` reads (and reloads): --config FILE, else the box's file
    when it exists (args.config is set to it), else None: a built-in template."""
    if args.config is None:
        default = paths.config_path()
        if not default.is_file():
            return None
        args.config = str(default)
    if args.config in TEMPLATES:
        return None
    return Path(args.config).resolve()


def store_file(args: argparse.Namespace) -> Path | None:
    """The store a command records to: --db FILE or the box's; None with --no-store."""
    if getattr(args, "no_store", False):
        return None
    return Path(args.db) if getattr(args, "db", None) else paths.store_path()


def cmd_run(args: argparse.Namespace) -> int:
    from appliance.daemon.service import run_daemon

    path = config_file(args)
    control = Path(args.control) if getattr(args, "control", None) else paths.control_path()
    return run_daemon(
        path,
        template=None if path is not None else args.config,
        llm=args.llm,
        port=args.port,
        as_json=args.json,
        control=control,
        db=store_file(args),
    )


def add_parsers(sub: Any, engine_opts: Any) -> None:
    def phone_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--port", type=int, default=0, help="local SIP port (default: any)")
        sp.add_argument("--bind", default="0.0.0.0", help="local address to send from")
        sp.add_argument("--rate", type=int, choices=(8000, 16000), default=8000)
        sp.add_argument("--codecs", default="PCMU,PCMA,G722", help="codec preference")
        sp.add_argument("--registrar", help="PBX host[:port] to register at / send through")
        sp.add_argument("--user", help="extension (with --registrar)")
        sp.add_argument("--password", help="digest password (with --registrar)")
        sp.add_argument("--json", action="store_true", help="one JSON object per event on stdout")

    sp = sub.add_parser("run", help="the appliance: register, answer calls, run the team")
    engine_opts(sp)
    for action in sp._actions:
        if action.dest == "config":
            action.help = (
                "config file or template (default: the box's file, $VOICEBOX_CONFIG or "
                "/etc/voicebox/voicebox.yaml or var/voicebox.yaml, if it exists; else starter)"
            )
    sp.add_argument("--port", type=int, help="SIP port (default: the config's sip.port)")
    sp.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    sp.add_argument(
        "--control", help="control socket for the TUI (default: var/control.sock on a checkout)"
    )
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("call", help="place a call: a test caller (--wav) or an assistant")
    sp.add_argument("uri", help="who to call, e.g. sip:100@192.168.1.10")
    sp.add_argument("--wav", help="test caller: what to say (mono WAV, any rate)")
    sp.add_argument("--record", help="test caller: write what it heard to this WAV")
    sp.add_argument("--tail", type=float, default=3.0, help="seconds to stay after the WAV ends")
    sp.add_argument("--dtmf", help="keys to press: DIGITS@SECONDS[:info|rfc2833],...")
    sp.add_argument("--header", action="append", help="extra INVITE header NAME=VALUE")
    sp.add_argument("--max-seconds", type=float, default=300.0, help="hang up after this long")
    sp.add_argument(
        "--refuse-transfers", action="store_true", help="test caller: answer REFERs 603"
    )
    sp.add_argument(
        "--assistant",
        help="outbound call led by this assistant: placed by the running daemon (its models, "
        "call limit and records) when one answers on the control socket, else by this process",
    )
    sp.add_argument("--control", help="the daemon's control socket (default: the box's)")
    sp.add_argument(
        "--standalone", action="store_true", help="with --assistant: never ask the daemon"
    )
    phone_opts(sp)
    engine_opts(sp)
    sp.set_defaults(func=cmd_call)

    sp = sub.add_parser("extension", help="a plain phone that registers and answers (tests)")
    sp.add_argument("--wav", help="what to say when answering")
    sp.add_argument(
        "--tail", type=float, default=-1.0, help="hang up this long after the WAV (default: never)"
    )
    sp.add_argument("--ring-only", action="store_true", help="ring, never answer")
    phone_opts(sp)
    sp.set_defaults(func=cmd_extension)
