"""Form fields bound to a path in the config document, each with its error line beneath."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, TextArea
from textual.widgets.select import InvalidSelectValueError

from tui.document import Finding, Path_

Parse = Callable[[str], Any]


def as_float(text: str) -> Any:
    """A number if it is one; the text otherwise (validation then names the problem)."""
    try:
        return float(text)
    except ValueError:
        return text


def as_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def as_optional(text: str) -> str | None:
    return text.strip() or None


def as_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def as_words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


class FieldEdited(Message):
    """A bound field changed: the value for its document path."""

    def __init__(self, field: BoundField, value: Any) -> None:
        super().__init__()
        self.field = field
        self.value = value


class BoundField(Vertical):
    """Label, editor widget and an error line for one value of the document."""

    DEFAULT_CSS = """
    BoundField { height: auto; margin: 0 0 0 0; }
    BoundField > Label { color: $text-muted; }
    BoundField > .field-error { color: $error; height: auto; display: none; }
    BoundField > .field-error.shown { display: block; }
    BoundField Input { height: 1; border: none; padding: 0 1; background: $boost; }
    BoundField Input:focus { height: 1; border: none; background: $primary 30%; }
    BoundField TextArea { height: auto; max-height: 10; min-height: 3; }
    BoundField Select { height: auto; }
    """

    def __init__(
        self,
        label: str,
        path: Path_,
        editor: Widget,
        *,
        parse: Parse = str,
        show: Callable[[Any], str] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.label = label
        self.path = path
        self.editor = editor
        self.parse = parse
        self.show = show or (lambda v: "" if v is None else str(v))
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield self.editor
        yield Static("", classes="field-error", markup=False)

    def load(self, value: Any) -> None:
        """Show a value from the document without reporting an edit."""
        self._loading = True
        try:
            if isinstance(self.editor, Input):
                self.editor.value = self.show(value)
            elif isinstance(self.editor, TextArea):
                self.editor.load_text(self.show(value))
            elif isinstance(self.editor, Select):
                try:
                    self.editor.value = value if value not in (None, "") else Select.NULL
                except InvalidSelectValueError:  # not an option (a broken file): shown blank
                    if self.editor._allow_blank:
                        self.editor.value = Select.NULL
        finally:
            self.call_after_refresh(self._loaded)

    def _loaded(self) -> None:
        self._loading = False

    def current(self) -> Any:
        if isinstance(self.editor, Input):
            return self.parse(self.editor.value)
        if isinstance(self.editor, TextArea):
            return self.parse(self.editor.text)
        if isinstance(self.editor, Select):
            v = self.editor.value
            return None if v is Select.NULL else v
        return None

    def errors(self, findings: list[Finding]) -> None:
        """Show the findings that concern this field (its path or below)."""
        mine = [f for f in findings if f.path and f.under(self.path)]
        empty = self.current() in (None, "", [])
        line = self.query_one(".field-error", Static)
        line.update(
            "\n".join(
                f"{'✗' if f.level == 'error' else '!'} "
                + ("required" if empty and f.level == "error" else f.message)
                for f in mine
            )
        )
        line.set_class(bool(mine), "shown")

    def _edited(self) -> None:
        if not self._loading:
            self.post_message(FieldEdited(self, self.current()))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._edited()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._edited()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._edited()


def text_field(label: str, path: Path_, *, parse: Parse = str, password: bool = False,
               placeholder: str = "", show: Callable[[Any], str] | None = None) -> BoundField:
    return BoundField(
        label, path, Input(placeholder=placeholder, password=password), parse=parse, show=show
    )


def area_field(label: str, path: Path_, *, parse: Parse = str,
               show: Callable[[Any], str] | None = None) -> BoundField:
    return BoundField(label, path, TextArea(soft_wrap=True), parse=parse, show=show)


def select_field(label: str, path: Path_, options: list[str], *, allow_blank: bool = False
                 ) -> BoundField:
    return BoundField(
        label, path, Select([(o, o) for o in options], allow_blank=allow_blank)
    )
