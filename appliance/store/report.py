"""`voicebox report`: what the calls in the store achieved, per assistant and per hour, and
what the box saved the office (from the real call log and `report:` in the config).

A call's outcomes are read from the office's records: a ticket opened, a lead created, a
message taken (each credited to the assistant that took it), transferred to a person (the end
reason), and, when the call reached none of these, how it ended (caller hung up, abandoned:
nothing said). A handoff is useful when its target reached an outcome in that call. Handling
time per assistant runs from the call's start or the handoff to it, to the next handoff or the
end. Appointments booked, moved or cancelled are the calendar writes the server confirmed
(the store's appointments table). A question answered is a caller's question the reply answered
from the office facts (the answers table), counted once per call and assistant.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from appliance.config import ReportSettings
from appliance.store.call_log import has_table, rows

RECORDS = (("tickets", "ticket opened"), ("leads", "lead created"), ("messages", "message taken"))
BOOKINGS = {"book": "appointment booked", "move": "appointment moved",
            "cancel": "appointment cancelled"}  # fmt: skip
TRANSFERRED = "transferred to a person"
ANSWERED = "question answered"
_REAL = {outcome for _, outcome in RECORDS} | set(BOOKINGS.values()) | {TRANSFERRED, ANSWERED}


def _window(since: float | None, until: float | None) -> tuple[str, tuple[float, float]]:
    return "started_at >= ? AND started_at < ?", (since or 0.0, until or 1e12)


def _handling(conv: dict[str, Any], handoffs: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds each assistant had this conversation."""
    end = conv["ended_at"] or conv["started_at"]
    out: dict[str, float] = defaultdict(float)
    who, since = conv["entry_assistant"], conv["started_at"]
    for h in handoffs:
        out[who] += max(0.0, h["t"] - since)
        who, since = h["to_assistant"], h["t"]
    out[who] += max(0.0, end - since)
    return out


def build(db: sqlite3.Connection, settings: ReportSettings, *, since: float | None = None,
          until: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The report as one JSON-ready object (keys: calls, minutes, outcomes, assistants,
    handoffs, transfers_to_human, unanswered, channels, hours, savings, period)."""
    where, args = _window(since, until)
    convs = rows(db, f"SELECT * FROM conversations WHERE {where} ORDER BY started_at", args)
    ids = {c["id"] for c in convs}
    by_conv: dict[str, list[tuple[str, str]]] = defaultdict(list)  # cid -> (outcome, assistant)
    for table, outcome in RECORDS:
        if not has_table(db, table):
            continue
        for r in rows(db, f"SELECT conversation_id, assistant FROM {table}"):
            if r["conversation_id"] in ids:
                by_conv[r["conversation_id"]].append((outcome, r["assistant"]))
    if has_table(db, "appointments"):
        for r in rows(db, "SELECT conversation_id, assistant, action FROM appointments"):
            if r["conversation_id"] in ids:
                by_conv[r["conversation_id"]].append((BOOKINGS[r["action"]], r["assistant"]))
    if has_table(db, "answers"):
        for r in rows(db, "SELECT DISTINCT conversation_id, assistant FROM answers"):
            if r["conversation_id"] in ids:
                by_conv[r["conversation_id"]].append((ANSWERED, r["assistant"]))
    handoffs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in rows(db, "SELECT conversation_id, from_assistant, to_assistant, t FROM handoffs "
                  "ORDER BY id"):  # fmt: skip
        if h["conversation_id"] in ids:
            handoffs[h["conversation_id"]].append(h)

    outcomes: Counter[str] = Counter()
    assistants: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "handling_minutes": 0.0, "outcomes": Counter()}
    )
    pairs: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "useful": 0})
    hours: Counter[int] = Counter()
    channels: Counter[str] = Counter()
    transfers = unanswered = 0
    seconds = 0.0
    for c in convs:
        cid = c["id"]
        got = list(by_conv[cid])
        reason = c["end_reason"] or ""
        if reason.startswith("transferred to"):
            got.append((TRANSFERRED, c["final_assistant"] or c["entry_assistant"]))
            transfers += 1
        if not got:
            ended = "abandoned" if c["turns"] == 0 else (reason or "in progress")
            got.append((ended, c["final_assistant"] or c["entry_assistant"]))
            unanswered += c["turns"] == 0
        for outcome, who in got:
            outcomes[outcome] += 1
            assistants[who]["outcomes"][outcome] += 1
        for who, secs in _handling(c, handoffs[cid]).items():
            assistants[who]["calls"] += 1
            assistants[who]["handling_minutes"] += secs / 60
        reached = {who for outcome, who in got if outcome in _REAL}
        for h in handoffs[cid]:
            pair = pairs[f"{h['from_assistant']}->{h['to_assistant']}"]
            pair["count"] += 1
            pair["useful"] += h["to_assistant"] in reached
        seconds += max(0.0, (c["ended_at"] or c["started_at"]) - c["started_at"])
        hours[datetime.fromtimestamp(c["started_at"]).hour] += 1
        channels[c["channel"]] += 1

    period = _period(convs, since, until)
    minutes = seconds / 60
    return {
        "period": period,
        "calls": len(convs),
        "minutes": round(minutes, 1),
        "channels": dict(channels),
        "outcomes": dict(outcomes),
        "assistants": {
            name: {
                "calls": a["calls"],
                "handling_minutes": round(a["handling_minutes"], 1),
                "outcomes": dict(a["outcomes"]),
            }
            for name, a in sorted(assistants.items())
        },
        "handoffs": {
            "total": sum(p["count"] for p in pairs.values()),
            "useful": sum(p["useful"] for p in pairs.values()),
            "pairs": dict(sorted(pairs.items())),
        },
        "transfers_to_human": transfers,
        "unanswered": unanswered,
        "hours": {f"{h:02d}": hours[h] for h in range(24)},
        "savings": savings(len(convs) - transfers, period["days"], settings),
    }


def _period(
    convs: list[dict[str, Any]], since: float | None, until: float | None
) -> dict[str, Any]:
    first = since if since is not None else (convs[0]["started_at"] if convs else 0.0)
    last = until if until is not None else (convs[-1]["started_at"] if convs else first)
    days = max(1.0, (last - first) / 86400)
    return {
        "from": datetime.fromtimestamp(first).isoformat(timespec="minutes") if first else None,
        "until": datetime.fromtimestamp(last).isoformat(timespec="minutes") if last else None,
        "days": round(days, 2),
    }


def savings(handled: int, days: float, s: ReportSettings) -> dict[str, Any]:
    """Staff time and cost the box covered, per month (30 days) of the period: each call the box
    handled (not put through to a person) would have taken a person `person_minutes_per_call`."""
    months = days / 30
    per_month = handled / months if months else 0.0
    staff_minutes = per_month * s.person_minutes_per_call
    staff_cost = staff_minutes / 60 * s.staff_hourly_cost
    return {
        "handled_calls_per_month": round(per_month, 1),
        "staff_minutes_per_month": round(staff_minutes, 1),
        "staff_cost_per_month": round(staff_cost, 2),
        "box_cost_per_month": s.box_cost_per_month,
        "net_per_month": round(staff_cost - s.box_cost_per_month, 2),
        "currency": s.currency,
        "assumptions": {
            "staff_hourly_cost": s.staff_hourly_cost,
            "person_minutes_per_call": s.person_minutes_per_call,
        },
    }


def table(r: dict[str, Any]) -> str:
    """The report for a terminal (80 columns)."""
    p, sv = r["period"], r["savings"]
    lines = [
        f"period {p['from']} .. {p['until']} ({p['days']} days)",
        f"calls {r['calls']}  minutes {r['minutes']}  to a person {r['transfers_to_human']}  "
        f"abandoned {r['unanswered']}",
        "",
        "outcomes:",
        *(f"  {k:<28} {v:>6}" for k, v in sorted(r["outcomes"].items(), key=lambda x: -x[1])),
        "",
        f"{'assistant':<16} {'calls':>6} {'minutes':>8}  outcomes",
    ]
    for name, a in r["assistants"].items():
        outs = ", ".join(f"{k} {v}" for k, v in a["outcomes"].items()) or "-"
        lines.append(f"{name:<16} {a['calls']:>6} {a['handling_minutes']:>8}  {outs}"[:80])
    h = r["handoffs"]
    lines += ["", f"handoffs {h['total']}, useful {h['useful']}:"]
    lines += [f"  {k:<30} {v['count']:>5} useful {v['useful']:>5}" for k, v in h["pairs"].items()]
    busiest = sorted(r["hours"].items(), key=lambda x: -x[1])[:3]
    lines += ["", "busiest hours: " + ", ".join(f"{k}:00 ({v})" for k, v in busiest if v)]
    lines += [
        "",
        f"savings per month: {sv['handled_calls_per_month']} calls handled by the box, "
        f"{sv['staff_minutes_per_month']} staff minutes,",
        f"  {sv['staff_cost_per_month']} {sv['currency']} staff cost - box "
        f"{sv['box_cost_per_month']} = net {sv['net_per_month']} {sv['currency']}",
    ]
    return "\n".join(lines)


def csv_rows(r: dict[str, Any]) -> list[list[str]]:
    """The report as CSV rows: section, key, value."""
    out = [["calls", "", str(r["calls"])], ["minutes", "", str(r["minutes"])],
           ["transfers_to_human", "", str(r["transfers_to_human"])],
           ["unanswered", "", str(r["unanswered"])]]  # fmt: skip
    out += [["outcome", k, str(v)] for k, v in r["outcomes"].items()]
    for name, a in r["assistants"].items():
        out.append(["assistant_calls", name, str(a["calls"])])
        out.append(["assistant_minutes", name, str(a["handling_minutes"])])
        out += [["assistant_outcome", f"{name}:{k}", str(v)] for k, v in a["outcomes"].items()]
    for k, v in r["handoffs"]["pairs"].items():
        out += [["handoff", k, str(v["count"])], ["handoff_useful", k, str(v["useful"])]]
    out += [["hour", k, str(v)] for k, v in r["hours"].items()]
    out += [["savings", k, str(v)] for k, v in r["savings"].items() if k != "assumptions"]
    return out
