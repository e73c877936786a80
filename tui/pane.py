"""What every tab's pane shares: the document, and telling the other panes about edits."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.containers import Container
from textual.message import Message
from textual.widget import Widget

from tui.document import ConfigDocument

if TYPE_CHECKING:
    from tui.app import VoiceboxApp


class ConfigChanged(Message):
    """The document's data changed (an edit, a rename, a save, a restore); `origin` is the pane
    that made the change (None: the app, e.g. a save)."""

    def __init__(self, origin: Widget | None = None) -> None:
        super().__init__()
        self.origin = origin


class Pane(Container):
    """A tab's content."""

    @property
    def vapp(self) -> VoiceboxApp:
        return cast("VoiceboxApp", self.app)

    @property
    def doc(self) -> ConfigDocument:
        return self.vapp.doc

    def app_changed(self) -> None:
        self.vapp.changed(origin=self)

    def enter(self) -> None:
        """The tab was chosen with its key: focus its first control."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return
