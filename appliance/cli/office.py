"""`voicebox tickets` and `voicebox integrations check|deliver`: the office's records and the
systems the box delivers them to."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

from appliance.errors import VoiceboxError


def _store_path(args: argparse.Namespace) -> Path:
    """--db FILE or the box's store; an error when the box has recorded nothing there yet."""
    from appliance import paths

    path = Path(args.db) if args.db else paths.store_path()
    if not path.exists():
        raise VoiceboxError(f"no store at {path} (the box has recorded no call yet)", code="db")
    return path


def _store(args: argparse.Namespace) -> object:
    from appliance.store import Store

    return Store(_store_path(args))


def _config(args: argparse.Namespace) -> object:
    from appliance import paths
    from appliance.config import load_config

    ref = args.config or (str(paths.config_path()) if paths.config_path().exists() else None)
    return load_config(ref)


def cmd_tickets(args: argparse.Namespace) -> int:
    from appliance.store import Store

    store = _store(args)
    assert isinstance(store, Store)
    since = datetime.fromisoformat(args.since).timestamp() if args.since else None
    found = store.tickets(since=since)
    store.close()
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    for t in found:
        when = datetime.fromtimestamp(t["created_at"]).strftime("%Y-%m-%d %H:%M")
        notices = ", ".join(f"{k} {v}" for k, v in t["notices"].items()) or "not sent anywhere"
        print(
            f"{t['number']}  {when}  {t['urgency']:<7} {t['who'] or '(no name)'}"
            f"  {t['callback'] or '(no number)'}  {t['summary']}  [{notices}]"
            f"  conversation {t['conversation_id']}"
        )
    if not found:
        print("no tickets")
    return 0


def cmd_calls_show(args: argparse.Namespace) -> int:
    from appliance.store import Store

    store = _store(args)
    assert isinstance(store, Store)
    try:
        conv = store.conversation(args.id)
    finally:
        store.close()
    started = datetime.fromtimestamp(conv["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
    print(f"conversation {conv['id']} ({conv['channel']}, {started}, caller {conv['caller']})")
    for t in conv["turns_list"]:
        who = "caller" if t["role"] == "caller" else t["assistant"]
        print(f"{who:>12}: {t['text']}")
    for h in conv["handoffs"]:
        print(f"handoff at turn {h['turn']}: {h['from_assistant']} -> {h['to_assistant']}")
    print(f"ended: {conv['end_reason'] or 'not ended'}")
    if conv["slots"]:
        print("slots: " + ", ".join(f"{k}={v}" for k, v in conv["slots"].items()))
    if conv["message"]:
        m = conv["message"]
        print(f"message: {m['who'] or '(no name)'}, call back {m['callback']}: {m['what']}")
    if conv["ticket"]:
        t = conv["ticket"]
        print(f"ticket {t['number']} ({t['urgency']}): {t['who'] or '(no name)'}, call back "
              f"{t['callback'] or '(no number)'}: {t['summary']}")  # fmt: skip
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import csv
    import sqlite3
    import sys

    from appliance.config import Config
    from appliance.store import report

    cfg = _config(args)
    assert isinstance(cfg, Config)
    path = _store_path(args)  # read only: a report changes nothing in the store

    def when(text: str | None) -> float | None:
        if not text:
            return None
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError as err:
            raise VoiceboxError(f"not an ISO date or time: {text!r}", code="report") from err

    since, until = when(args.since), when(args.until)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        r = report.build(db, cfg.report, since=since, until=until)
    finally:
        db.close()
    if args.format == "json":
        print(json.dumps(r, ensure_ascii=False))
    elif args.format == "csv":
        csv.writer(sys.stdout).writerows([["section", "key", "value"], *report.csv_rows(r)])
    else:
        print(report.table(r))
    return 0


def cmd_integrations_check(args: argparse.Namespace) -> int:
    from appliance.config import Config

    cfg = _config(args)
    assert isinstance(cfg, Config)
    from appliance.tools.checks import check_all

    results = check_all(cfg.integrations)
    for name, ok, said in results:
        print(f"{'OK  ' if ok else 'FAIL'}  {name}: {said}")
    if not results:
        print("no integrations configured (integrations: calendar, contacts, smtp, webhooks)")
    return 0 if all(ok for _, ok, _ in results) else 1


def cmd_integrations_deliver(args: argparse.Namespace) -> int:
    from appliance.config import Config
    from appliance.store import Store
    from appliance.tools.outbox import Courier

    cfg = _config(args)
    store = _store(args)
    assert isinstance(cfg, Config) and isinstance(store, Store)
    now = time.time() + (1e9 if args.all else 0.0)  # --all: also those not due yet
    done = Courier(store, lambda: cfg.integrations, clock=lambda: now).deliver_due()
    left = store.outbox_pending()
    store.close()
    for d in done:
        print(f"{d.what} -> {d.target}: {d.error or 'delivered'}")
    print(f"{len(done)} tried, {left} still queued")
    return 0 if all(not d.error for d in done) else 1


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser("tickets", help="the tickets callers opened, newest first")
    sp.add_argument("--db", help="SQLite store (default: var/voicebox.db)")
    sp.add_argument("--since", help="only tickets from this date or time on (ISO, e.g. 2026-12-01)")
    sp.add_argument("--json", action="store_true", help="one JSON list")
    sp.set_defaults(func=cmd_tickets)

    sp = sub.add_parser("report", help="calls, outcomes, handoffs, busiest hours and savings")
    sp.add_argument("--since", help="from this date or time on (ISO, e.g. 2026-11-01)")
    sp.add_argument("--until", help="before this date or time (ISO)")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.add_argument("--config", help="config file, for report: (default: the box's)")
    sp.add_argument("--db", help="SQLite store (default: var/voicebox.db)")
    sp.set_defaults(func=cmd_report)

    sp = sub.add_parser("calls", help="the call log")
    csub = sp.add_subparsers(dest="calls_command", required=True)
    cp = csub.add_parser("show", help="one call: transcript, handoffs, slots, message, ticket")
    cp.add_argument("id", help="the conversation id (F7 Calls, a ticket's mail)")
    cp.add_argument("--db", help="SQLite store (default: var/voicebox.db)")
    cp.set_defaults(func=cmd_calls_show)

    sp = sub.add_parser("integrations", help="the office systems: test them, deliver the outbox")
    isub = sp.add_subparsers(dest="integrations_command", required=True)
    ip = isub.add_parser("check", help="connect to each configured integration (sends nothing)")
    ip.add_argument("--config", help="config file (default: the box's, else the starter team)")
    ip.set_defaults(func=cmd_integrations_check)
    ip = isub.add_parser("deliver", help="deliver the queued notices now (the daemon does it too)")
    ip.add_argument("--config", help="config file (default: the box's, else the starter team)")
    ip.add_argument("--db", help="SQLite store (default: var/voicebox.db)")
    ip.add_argument("--all", action="store_true", help="also notices not due yet")
    ip.set_defaults(func=cmd_integrations_deliver)
