"""The base of every model read from a file the technician writes (config, flows)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (a misspelt key must not be silently ignored); each field's
    docstring is its description (shown by the TUI and in error messages)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
