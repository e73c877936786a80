"""The `voicebox` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.errors import VoiceboxError

_LOGGER = logging.getLogger(__name__)


def _store(args: argparse.Namespace) -> Any:
    """The store a command records to: --db FILE or the box's, None with --no-store."""
    from appliance.cli.sip import store_file
    from appliance.store import Store

    path = store_file(args)
    return Store(path) if path is not None else None


def _engine(args: argparse.Namespace, config_ref: str | None = None, store: bool = True) -> Any:
    from appliance.config import load_config
    from appliance.team import load_engine

    cfg = load_config(config_ref if config_ref is not None else args.config)
    return load_engine(cfg, llm=getattr(args, "llm", None), store=_store(args) if store else None)


def cmd_chat(args: argparse.Namespace) -> int:
    from appliance.chat import chat_loop

    _check_now(args)
    print("loading the team (models, profile prefixes)...", file=sys.stderr, flush=True)
    engine = _engine(args)
    conv = engine.new_conversation(channel="text", assistant=args.assistant)
    if args.now:
        at = fixed_clock(args, engine.cfg.team.timezone)
        conv.now = lambda: at
    return chat_loop(conv, verbose=not args.quiet)


def _check_now(args: argparse.Namespace) -> None:
    """A bad --now fails before any model loads."""
    from datetime import datetime

    if args.now:
        try:
            datetime.fromisoformat(args.now)
        except ValueError as err:
            raise VoiceboxError(
                f"--now {args.now!r}: not an ISO time (e.g. 2026-12-07T09:30)", code="now"
            ) from err


def fixed_clock(args: argparse.Namespace, timezone: str) -> Any:
    from appliance.conversation import fixed_now

    return fixed_now(args.now, timezone)


def cmd_test_flows(args: argparse.Namespace) -> int:
    from appliance.flows import load_flows, print_json, resolve_config_ref, run_flows

    _check_now(args)
    path = Path(args.file)
    flows = load_flows(path)
    engine = _engine(args, resolve_config_ref(flows, path, args.config))
    now = fixed_clock(args, engine.cfg.team.timezone) if args.now else None

    def on_scenario(name: str, problem: str | None) -> None:
        if not args.json:
            print(
                f"{'PASS' if problem is None else 'FAIL'}  {name}"
                + (f": {problem}" if problem else ""),
                flush=True,
            )

    passed, failed = run_flows(
        flows,
        engine,
        on_turn=print_json if args.json else None,
        on_scenario=on_scenario,
        now=now,
    )
    if not args.json:
        print(f"{passed} passed, {failed} failed")
    else:
        print(f"{passed} passed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import json

    from appliance.audio.wav import read_wav, write_wav
    from appliance.simulate import simulate

    caller = read_wav(Path(args.wav))  # a bad file fails here, before any model loads
    if caller.channels_in_file > 1 or caller.rate not in (8000, 16000):
        print(
            f"note: {args.wav}: {caller.channels_in_file} channel(s) at {caller.rate} Hz, "
            "converted to mono at the line rate",
            file=sys.stderr,
        )
    engine, speech = _voice_team(args)

    def show(ev: Any) -> None:
        if args.json:
            print(json.dumps(ev.to_wire(), ensure_ascii=False), flush=True)
        else:
            _show_event(ev)

    result = simulate(
        engine, speech, caller, assistant=args.assistant, realtime=args.realtime, sink=show
    )
    if args.out:
        write_wav(Path(args.out), result.box_audio, result.rate)
        print(f"box audio written to {args.out}", file=sys.stderr)
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from appliance.console import default_index, list_devices, open_pyaudio, pick_device

    pa = open_pyaudio()
    try:
        devices = list_devices(pa)  # device problems fail here, before any model loads
        if args.list_devices:
            if not devices:
                print("no audio devices found")
                return 1
            din, dout = default_index(pa, "input"), default_index(pa, "output")
            print("index  in  out   rate  name  (* = default)")
            for d in devices:
                print(
                    f"{d.index:5d} {d.max_input_channels:3d}{'*' if d.index == din else ' '}"
                    f"{d.max_output_channels:3d}{'*' if d.index == dout else ' '}"
                    f"{d.default_rate:7.0f}  {d.name}"
                )
            return 0
        inp = pick_device(devices, args.input, kind="input", pa=pa)
        out = pick_device(devices, args.output, kind="output", pa=pa)

        from appliance.call import CallLoop
        from appliance.console import run_console

        print(f"input: {inp.name}; output: {out.name}; loading the team...", file=sys.stderr)
        engine, speech = _voice_team(args)
        loop = CallLoop(
            engine, speech, assistant=args.assistant, channel="console", sink=_show_event
        )
        print("talk now; Ctrl-C hangs up", file=sys.stderr, flush=True)
        run_console(loop, pa, inp, out)
        return 0
    finally:
        pa.terminate()


def _voice_team(args: argparse.Namespace) -> tuple[Any, Any]:
    """The engine and the warmed speech models of a voice command (`--assistant` checked)."""
    from appliance.config import load_config
    from appliance.team import load_team

    team = load_team(
        load_config(args.config),
        llm=getattr(args, "llm", None),
        store=_store(args),
        assistant=getattr(args, "assistant", None),
    )
    return team.engine, team.speech


def _show_event(ev: Any) -> None:
    """One readable line per interesting call event."""
    from appliance.event_stream import describe

    line = describe(ev.to_wire())
    if line:
        print(f"[{ev.t_ms / 1000:7.2f}s] {line}", flush=True)


def cmd_config_check(args: argparse.Namespace) -> int:
    from appliance.assistants.lint import lint
    from appliance.config import load_config
    from appliance.errors import ConfigError, ModelError

    try:
        cfg = load_config(args.file)
    except ConfigError as err:
        for line in err.problems or [err.message]:
            print(f"error: {line}")
        print(f"{args.file or 'starter'}: {len(err.problems) or 1} error(s)")
        return 1
    embedder = None
    try:
        from appliance.brain.embeddings import Embedder
        from appliance.models import model_path

        embedder = Embedder(model_path(cfg.models.embeddings))
    except ModelError as err:
        print(f"note: overlap and similarity checks skipped ({err.message})")
    problems = lint(cfg, embedder)
    for p in problems:
        print(p)
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{args.file or 'starter'}: {errors} error(s), {warnings} warning(s)")
    return 1 if errors or (args.strict and warnings) else 0


def _config_file(args: argparse.Namespace) -> Path:
    from appliance import paths

    return Path(args.config) if args.config else paths.config_path()


def _print_problems(err: Any) -> int:
    print(f"voicebox: {err}", file=sys.stderr)
    for line in err.problems:
        print(f"  {line}", file=sys.stderr)
    return 1


def cmd_facts_import(args: argparse.Namespace) -> int:
    """Add the facts of a CSV or YAML file to the team or an assistant, saved as the TUI saves
    (validated, atomic, owner and mode kept, the old file as .bak)."""
    from appliance.config.facts_file import add_facts, read_facts
    from appliance.errors import ConfigError
    from tui.document import ConfigDocument

    doc = ConfigDocument.open(_config_file(args))
    if not doc.exists or not doc.readable:
        why = "; ".join(doc.load_errors) or "no such file (`voicebox init` writes one)"
        raise ConfigError(f"{doc.path}: {why}")
    doc_had_comments = doc.has_comments
    try:
        facts = read_facts(Path(args.file))
        target = add_facts(doc.data, facts, args.assistant)
        backup = doc.save()
    except ConfigError as err:
        return _print_problems(err)
    print(f"added {len(facts)} fact(s) to {target} in {doc.path} (backup: {backup})")
    if doc_had_comments:
        print("note: the file's comments were not kept (as when the TUI saves); see the backup")
    return 0


def cmd_facts_list(args: argparse.Namespace) -> int:
    from appliance.config import load_config
    from appliance.config.facts_file import fact_lines
    from appliance.errors import ConfigError

    try:
        lines = fact_lines(load_config(args.config or _config_file(args)), args.assistant)
    except ConfigError as err:
        return _print_problems(err)
    print("\n".join(lines) if lines else "no facts")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from appliance.config import template_text

    out = Path(args.output)
    if out.exists() and not args.force:
        raise VoiceboxError(f"{out} exists; use --force to overwrite", code="init")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    # 0600 from the first byte: the file will hold the PBX's SIP passwords
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, 0o600)  # an old tmp file keeps its mode through O_CREAT
        f.write(template_text(args.template))
    tmp.replace(out)
    print(
        f"wrote {out} from the {args.template} template; check it with "
        f"`voicebox config check {out}`"
    )
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    from appliance import paths
    from tui.app import log_to_file, run_tui

    log_to_file(paths.data_dir() / "tui.log")  # the screen belongs to Textual; rotated
    config = Path(args.config) if args.config else paths.config_path()
    return run_tui(
        config,
        control=Path(args.control) if args.control else paths.control_path(),
        db=Path(args.db) if args.db else paths.store_path(),
        flows_dir=Path(args.flows) if args.flows else None,
        llm=args.llm,
    )


def build_parser() -> argparse.ArgumentParser:
    from appliance.cli import office as cli_office
    from appliance.cli import sip as cli_sip
    from appliance.config import TEMPLATES
    from appliance.models import cli as models_cli

    p = argparse.ArgumentParser(prog="voicebox", description="Offline voice assistant team.")
    p.add_argument("--version", action="version", version=f"voicebox {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def now_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--now", help="fix the office's clock at this ISO time, e.g. 2026-12-07T09:30 "
            "(in team.timezone unless it names a zone)",
        )  # fmt: skip

    def engine_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="config file or template name (default: starter team)")
        sp.add_argument("--llm", help="manifest name of the LLM to use instead of the config's")
        sp.add_argument("--db", help="SQLite store (default: var/voicebox.db)")
        sp.add_argument("--no-store", action="store_true", help="do not record conversations")

    sp = sub.add_parser("chat", help="talk to the team in text")
    engine_opts(sp)
    sp.add_argument("--assistant", help="assistant that answers first (default: entry)")
    sp.add_argument("--quiet", action="store_true", help="hide routing details")
    now_opt(sp)
    sp.set_defaults(func=cmd_chat)

    sp = sub.add_parser("test-flows", help="run scripted conversations")
    sp.add_argument("file")
    engine_opts(sp)
    sp.add_argument("--json", action="store_true", help="one JSON object per turn on stdout")
    now_opt(sp)
    sp.set_defaults(func=cmd_test_flows)

    sp = sub.add_parser("simulate", help="run one call with the caller's audio from a WAV")
    sp.add_argument("--wav", required=True, help="caller audio: mono WAV, any rate")
    engine_opts(sp)
    sp.add_argument("--assistant", help="assistant that answers (default: entry)")
    sp.add_argument("--out", help="write the box's side of the call to this WAV")
    sp.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    sp.add_argument("--realtime", action="store_true", help="pace the whole call in real time")
    sp.set_defaults(func=cmd_simulate)

    sp = sub.add_parser("console", help="talk to the team through the box's sound card")
    sp.add_argument("--list-devices", action="store_true", help="list the audio devices")
    sp.add_argument("--input", metavar="DEV", help="input device: index or name (default: system)")
    sp.add_argument("--output", metavar="DEV", help="output device: index or name")
    engine_opts(sp)
    sp.add_argument("--assistant", help="assistant that answers (default: entry)")
    sp.set_defaults(func=cmd_console)

    sp = sub.add_parser("config", help="configuration tools")
    csub = sp.add_subparsers(dest="config_command", required=True)
    cp = csub.add_parser("check", help="validate a config and list its problems")
    cp.add_argument("file", nargs="?", help="config file (default: the starter team)")
    cp.add_argument("--strict", action="store_true", help="warnings fail too")
    cp.set_defaults(func=cmd_config_check)

    sp = sub.add_parser("facts", help="the office facts: import them from a file, list them")
    fsub = sp.add_subparsers(dest="facts_command", required=True)
    fp = fsub.add_parser(
        "import",
        help="add facts from a CSV (topic,answer,examples with | between examples) "
        "or YAML file (a list of topic, answer, examples)",
    )
    fp.add_argument("file", help="facts file: .csv, .yaml or .yml")
    fp.add_argument("--assistant", help="add to this assistant's facts (default: the team's)")
    fp.add_argument("--config", help="config file to change (default: the box's, see README)")
    fp.set_defaults(func=cmd_facts_import)
    fp = fsub.add_parser("list", help="print the team's (or an assistant's) facts")
    fp.add_argument("--assistant", help="this assistant's own facts (default: the team's)")
    fp.add_argument("--config", help="config file or template (default: the box's file)")
    fp.set_defaults(func=cmd_facts_list)

    sp = sub.add_parser("init", help="write a config from a template")
    sp.add_argument("--template", choices=TEMPLATES, default="starter")
    sp.add_argument("--output", "-o", default="voicebox.yaml")
    sp.add_argument("--force", action="store_true")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("tui", help="the technician's terminal UI (configure, watch, test)")
    sp.add_argument("--config", help="config file to edit (default: the box's, see README)")
    sp.add_argument("--control", help="the daemon's control socket (default: var/control.sock)")
    sp.add_argument("--db", help="SQLite store to read calls from (default: var/voicebox.db)")
    sp.add_argument("--flows", help="folder with flow test files (default: the config's folder)")
    sp.add_argument("--llm", help="LLM for the test console and flow tests (default: config's)")
    sp.set_defaults(func=cmd_tui)

    models_cli.add_parser(sub)
    cli_sip.add_parsers(sub, engine_opts)
    cli_office.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except VoiceboxError as err:
        print(f"voicebox: {err}", file=sys.stderr)
        return 1
    except KeyError as err:
        print(f"voicebox: unknown name {err}", file=sys.stderr)
        return 1
