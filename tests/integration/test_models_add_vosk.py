"""`voicebox models add` with a real Vosk model: the added copy loads and listens."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from appliance.cli import main
from appliance.errors import ModelError
from appliance.models import load_manifest, model_path
from appliance.models.manifest import read_local_manifest

pytestmark = pytest.mark.real

TOP = "vosk-model-small-ko-0.22"


@pytest.fixture(scope="module")
def vosk_ko() -> Path:
    """The Korean Vosk model: `make test` installs it, so a missing one fails (never skips)."""
    try:
        return model_path("vosk-ko")
    except ModelError as err:
        pytest.fail(
            f"needs the Korean Vosk model: {err} "
            "(make test installs it: .venv/bin/voicebox models install vosk-ko)"
        )


def test_added_vosk_zip_is_a_working_model(
    vosk_ko: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / f"{TOP}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:  # like the official zips
        for path in sorted(vosk_ko.rglob("*")):
            if path.is_file():  # .verified.json too: add must leave it out of the tree
                zf.write(path, f"{TOP}/{path.relative_to(vosk_ko).as_posix()}")
    models = tmp_path / "models"
    capsys.readouterr()
    args = ["add", "vosk-added", "--from", str(archive), "--role", "asr", "--licence", "Apache-2.0"]
    code = main(["models", *args, "-q", "--models-dir", str(models)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    name, status, where, sha = out.rstrip("\n").split("\t")
    # same bytes as the shipped model, so the same tree hash
    assert (name, status, sha) == (
        "vosk-added",
        "added",
        load_manifest().get("vosk-ko").tree_sha256,
    )
    path = model_path("vosk-added", models_dir=models)
    assert path == Path(where) == models / "vosk-added"
    assert (path / "conf" / "model.conf").is_file() and (path / "am").is_dir()
    (entry,) = read_local_manifest(models)
    assert entry.tree is not None and entry.tree.member == f"{TOP}/"

    from appliance.speech.vosk_asr import VoskModel

    stream = VoskModel(path, cache=tmp_path / "cache").open_stream(endpoint_ms=300)
    events = []
    for _ in range(50):  # one second of silence at 16 kHz, 20 ms frames
        events += stream.feed(np.zeros(320, np.float32))
    assert not [e for e in events if e.kind in ("start", "end")], events
