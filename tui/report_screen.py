"""The report (`voicebox report`) in the TUI: the Calls tab's `o` opens it for the last 30 days,
figures first, then small bar charts (calls per hour, outcomes per assistant), read-only, 80
columns wide. The store is opened read-only for it and closed again."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from appliance.config import ReportSettings
from appliance.store.report import build

DAYS = 30
BAR = 40  # the longest bar, in columns


def bar(value: float, most: float, width: int = BAR) -> str:
    """A bar of block characters, eighths at its end (a value above 0 shows at least one)."""
    if most <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / most * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def report_lines(r: dict[str, Any]) -> list[Text]:
    """The report as lines of at most 80 columns: the figures, then the charts."""
    s, h = r["savings"], r["handoffs"]
    out = [
        Text(f"last {DAYS} days: {r['calls']} call(s), {r['minutes']:.1f} minutes", "bold"),
        Text(f"handoffs {h['total']} (useful {h['useful']}), put through to a person "
             f"{r['transfers_to_human']}, abandoned {r['unanswered']}"),
        Text(f"saved per month: {s['handled_calls_per_month']:.0f} calls handled, "
             f"{s['staff_minutes_per_month'] / 60:.1f} staff hours, {s['net_per_month']:.0f} "
             f"{s['currency']} after the box's cost"),
        Text(""),
        Text("calls per hour", "bold underline"),
    ]
    hours = {k: v for k, v in r["hours"].items() if v}
    most = max(hours.values(), default=0)
    out += [Text(f" {k}  {bar(v, most):<{BAR + 1}}{v:>5}") for k, v in sorted(hours.items())]
    if not hours:
        out.append(Text(" no calls in this period", "dim"))
    out += [Text(""), Text("outcomes per assistant", "bold underline")]
    for name, a in sorted(r["assistants"].items()):
        outcomes = a["outcomes"]
        if not outcomes:
            continue
        out.append(Text(f" {name} ({a['calls']} call(s), {a['handling_minutes']:.1f} min)",
                        "cyan"))  # fmt: skip
        top = max(outcomes.values())
        for outcome, n in sorted(outcomes.items(), key=lambda x: -x[1]):
            out.append(Text(f"   {outcome[:24]:<24} {bar(n, top, 30):<31}{n:>5}"))
    return out


def read_report(db_path: Path, settings: ReportSettings, now: float | None = None) -> list[Text]:
    """The last 30 days' report from the store (read-only), or one line saying why not."""
    if not db_path.exists():
        return [Text(f"no store at {db_path} yet: no calls recorded", "dim")]
    try:
        db = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            since = (now or time.time()) - DAYS * 86400
            return report_lines(build(db, settings, since=since))
        finally:
            db.close()
    except sqlite3.Error as err:
        return [Text(f"cannot read the store {db_path}: {err}", "red")]


class ReportScreen(Screen[None]):
    """The report, read-only. Escape goes back to the call log."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, lines: list[Text]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report"):
            yield Static(Text("\n").join(self.lines))
        yield Footer()
