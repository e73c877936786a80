"""Small modal dialogs: ask for a few values, confirm a step."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

Check = Callable[[dict[str, str]], str | None]


class AskScreen(ModalScreen[dict[str, str] | None]):
    """A question with one or more text inputs; `check` returns an error text or None."""

    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 60; max-width: 100%; height: auto; border: thick $primary;
                           background: $surface; padding: 0 1; }
    AskScreen Input { margin: 0 0 0 0; }
    AskScreen #ask-error { color: $error; height: auto; }
    AskScreen Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, fields: dict[str, str], check: Check | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.check = check
        self.values = values or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            for key, label in self.fields.items():
                yield Input(self.values.get(key, ""), placeholder=label, id=f"ask-{key}")
            yield Static("", id="ask-error")
            with Horizontal():
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def _values(self) -> dict[str, str]:
        return {k: self.query_one(f"#ask-{k}", Input).value.strip() for k in self.fields}

    def _submit(self) -> None:
        values = self._values()
        problem = self.check(values) if self.check else None
        if problem:
            self.query_one("#ask-error", Static).update(problem)
            return
        self.dismiss(values)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no (y / n / escape)."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 60; max-width: 100%; height: auto; border: thick $warning;
                               background: $surface; padding: 0 1; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            with Horizontal():
                yield Button("Yes (y)", variant="warning", id="yes")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class EditorScreen(ModalScreen[bool]):
    """A modal editor with Apply (ctrl+s) and Cancel (escape); dismisses True when applied."""

    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def buttons(self) -> ComposeResult:
        with Horizontal():
            yield Button("Apply", variant="primary", id="apply")
            yield Button("Cancel", id="cancel")

    def action_apply(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()
