"""`voicebox models add|remove`: models a technician brings, merged with the shipped manifest."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from appliance import paths
from appliance.cli import main
from appliance.errors import ModelError
from appliance.models import load_manifest, model_path
from appliance.models.hashing import MARKER_NAME, PARTIAL_TAG, hash_file, hash_tree
from appliance.models.manifest import LOCAL_MANIFEST_NAME, read_local_manifest
from appliance.models.marker import Marker

TOP = "vosk-model-small-en-us-0.15"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], models: Path) -> Run:
    """`voicebox models ARGS... --models-dir <tmp>` through the real CLI: (code, out, err)."""

    def _run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["models", *map(str, args), "--models-dir", str(models)])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def _vosk(folder: Path, seed: bytes = b"") -> Path:
    """A small fake Vosk model folder (same layout as the official ones)."""
    files = {
        "README": b"fake vosk model\n",
        "am/final.mdl": b"acoustic model" + seed,
        "conf/model.conf": b"--min-active=200\n--endpoint.rule2.min-trailing-silence=0.5\n",
        "conf/mfcc.conf": b"--use-energy=false\n",
        "graph/HCLr.fst": b"\x00\x01graph" + seed,
        "graph/phones/word_boundary.int": b"1 nonword\n",
        "ivector/final.ie": b"ivector",
    }
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def _zip(src: Path, out: Path, arc_root: str = "") -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src).as_posix()
            zf.write(path, f"{arc_root}/{rel}" if arc_root else rel)
    return out


def _piper(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "en_US-test-medium.onnx").write_bytes(b"onnx weights" * 100)
    (folder / "en_US-test-medium.onnx.json").write_text('{"audio": {"sample_rate": 22050}}')
    return folder / "en_US-test-medium.onnx"


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if PARTIAL_TAG in p.name or ".old-" in p.name)


def _local_names(root: Path) -> list[str]:
    return [e.name for e in read_local_manifest(root)]


def _added(out: str) -> tuple[str, str, Path, str]:
    name, status, where, sha = out.rstrip("\n").split("\t")
    return name, status, Path(where), sha


# -- adding --------------------------------------------------------------------------------


def test_add_official_style_zip_with_one_top_folder(run: Run, tmp_path: Path, models: Path) -> None:
    src = _vosk(tmp_path / "src" / TOP)
    archive = _zip(src, tmp_path / f"{TOP}.zip", TOP)
    code, out, err = run(
        "add", "vosk-en", "--from", archive, "--role", "asr", "--licence", "Apache-2.0", "-q"
    )
    assert (code, err) == (0, "")
    digest, size, _found = hash_tree(src)
    assert out == f"vosk-en\tadded\t{models / 'vosk-en'}\t{digest}\n"
    # the top folder of the archive is the model: no extra level
    assert (models / "vosk-en" / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert (models / "vosk-en" / "conf" / "model.conf").is_file()
    assert hash_tree(models / "vosk-en")[0] == digest
    marker = Marker.load(models / "vosk-en")
    assert marker.name == "vosk-en" and marker.tree_sha256 == digest
    assert model_path("vosk-en", models_dir=models) == models / "vosk-en"

    (entry,) = read_local_manifest(models)
    assert entry.name == "vosk-en" and entry.role == "asr" and entry.default is False
    assert entry.licence == "Apache-2.0"
    assert entry.tree_sha256 == digest and entry.size == size
    assert entry.tree is not None
    assert entry.tree.file == str(archive) and entry.tree.member == f"{TOP}/"
    assert entry.notes.startswith(f"added from {archive} on 20")
    manifest = load_manifest(models_dir=models)
    assert manifest.is_local("vosk-en") and not manifest.is_local("vosk-ko")
    assert manifest.names()[-1] == "vosk-en"
    assert _leftovers(models) == []


def test_add_from_a_folder_skips_an_old_marker(run: Run, tmp_path: Path, models: Path) -> None:
    src = _vosk(tmp_path / "my-model")
    (src / MARKER_NAME).write_text('{"name": "elsewhere"}')  # e.g. copied from another box
    code, out, _err = run(
        "add", "vosk-de", "--from", src, "--role", "asr", "--description", "German", "-q"
    )
    assert code == 0
    digest = hash_tree(src)[0]  # the marker is not part of the tree
    assert _added(out) == ("vosk-de", "added", models / "vosk-de", digest)
    assert Marker.load(models / "vosk-de").name == "vosk-de"
    (entry,) = read_local_manifest(models)
    assert entry.description == "German" and entry.licence == "unknown"
    assert entry.tree is not None and entry.tree.member is None
    assert model_path("vosk-de", models_dir=models) == models / "vosk-de"


@pytest.mark.parametrize("suffix", ["tar.gz", "tgz"])
def test_add_from_tar_gz(run: Run, tmp_path: Path, models: Path, suffix: str) -> None:
    src = _vosk(tmp_path / "src" / TOP)
    archive = tmp_path / f"model.{suffix}"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname=TOP)
    code, out, _err = run("add", "vosk-tar", "--from", archive, "--role", "asr", "-q")
    assert code == 0
    assert _added(out)[3] == hash_tree(src)[0]
    assert (models / "vosk-tar" / "graph" / "phones" / "word_boundary.int").is_file()
    assert model_path("vosk-tar", models_dir=models) == models / "vosk-tar"


def test_add_single_piper_onnx_takes_its_json(run: Run, tmp_path: Path, models: Path) -> None:
    onnx = _piper(tmp_path / "voices")
    (tmp_path / "voices" / "other.txt").write_text("not taken")
    code, out, _err = run("add", "piper-anna", "--from", onnx, "--role", "tts", "-q")
    assert code == 0
    assert _added(out) == ("piper-anna", "added", models / "piper-anna", hash_file(onnx)[0])
    folder = model_path("piper-anna", models_dir=models)
    assert sorted(p.name for p in folder.iterdir()) == [
        MARKER_NAME,
        "en_US-test-medium.onnx",
        "en_US-test-medium.onnx.json",
    ]
    (entry,) = read_local_manifest(models)
    assert entry.files is not None and entry.tree is None
    assert [(f.name, f.sources[0].file) for f in entry.files] == [
        (onnx.name, str(onnx)),
        (f"{onnx.name}.json", f"{onnx}.json"),
    ]
    assert run("verify", "piper-anna")[:2] == (0, "piper-anna\tok\n")


def test_add_single_gguf_becomes_model_gguf(run: Run, tmp_path: Path, models: Path) -> None:
    gguf = tmp_path / "tiny-chat.Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)))
    code, _out, _err = run("add", "tiny-chat", "--from", gguf, "--role", "llm", "-q")
    assert code == 0
    assert (model_path("tiny-chat", models_dir=models) / "model.gguf").read_bytes() == (
        gguf.read_bytes()
    )


def test_member_picks_the_model_folder(run: Run, tmp_path: Path, models: Path) -> None:
    _vosk(tmp_path / "pack" / "vosk-model-a")
    (tmp_path / "pack" / "docs").mkdir()
    (tmp_path / "pack" / "docs" / "readme.txt").write_text("two folders at the top")
    archive = _zip(tmp_path / "pack", tmp_path / "pack.zip")
    code, _out, err = run("add", "vosk-a", "--from", archive, "--role", "asr", "-q")
    assert code == 1
    assert err == (
        f"model: not a Vosk model: no conf/model.conf (nor model.bin of a "
        f"faster-whisper model) at the top of {archive} (folders there: docs, vosk-model-a; "
        "pick one with --member)\n"
    )
    code, out, _err = run(
        "add", "vosk-a", "--from", archive, "--role", "asr", "--member", "vosk-model-a", "-q"
    )
    assert code == 0
    assert _added(out)[3] == hash_tree(tmp_path / "pack" / "vosk-model-a")[0]
    (entry,) = read_local_manifest(models)
    assert entry.tree is not None and entry.tree.member == "vosk-model-a/"


# -- list, verify --------------------------------------------------------------------------


def test_list_marks_added_models_as_local(run: Run, tmp_path: Path, models: Path) -> None:
    src = _vosk(tmp_path / "m")
    assert run("add", "vosk-en", "--from", src, "--role", "asr", "--licence", "Apache-2.0")[0] == 0
    code, out, _err = run("list")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:-1]}
    assert rows["vosk-en"] == ["vosk-en", "asr", "local", "0", "yes", "Apache-2.0"]
    assert rows["vosk-ko"][2] in ("yes", "no") and rows["vosk-ko"][4] == "no"
    assert out.splitlines()[-1] == f"models folder: {models}"


def test_verify_passes_then_reports_tampering(run: Run, tmp_path: Path, models: Path) -> None:
    archive = _zip(_vosk(tmp_path / "src" / TOP), tmp_path / "v.zip", TOP)
    assert run("add", "vosk-en", "--from", archive, "--role", "asr", "-q")[0] == 0
    assert run("verify", "vosk-en", "-q")[:2] == (0, "vosk-en\tok\n")
    assert run("verify", "-q")[:2] == (0, "vosk-en\tok\n")  # default: every installed model
    target = models / "vosk-en" / "am" / "final.mdl"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01  # one byte, same size
    target.write_bytes(bytes(data))
    code, out, _err = run("verify", "vosk-en", "-q")
    assert code == 1
    assert out.startswith("vosk-en\tFAILED\tchecksum mismatch for vosk-en: expected ")
    assert out.rstrip("\n").endswith("; changed: am/final.mdl")
    with pytest.raises(ModelError, match="model vosk-en is not installed"):
        model_path("vosk-en", models_dir=models)


# -- refusals ------------------------------------------------------------------------------


def test_shipped_name_is_refused_even_with_force(run: Run, tmp_path: Path, models: Path) -> None:
    src = _vosk(tmp_path / "m")
    assert "vosk-ko" in load_manifest(paths.manifest_path()).names()
    for extra in ([], ["--force"]):
        code, out, err = run("add", "vosk-ko", "--from", src, "--role", "asr", *extra)
        assert (code, out) == (1, "")
        assert err == (
            "model: vosk-ko is a model of the shipped manifest; add yours under another name\n"
        )
    assert not (models / "vosk-ko").exists()
    assert not (models / LOCAL_MANIFEST_NAME).exists()


def test_duplicate_refused_and_force_replaces(run: Run, tmp_path: Path, models: Path) -> None:
    first = _vosk(tmp_path / "one")
    second = _vosk(tmp_path / "two", seed=b" v2")
    code, out, _err = run("add", "vosk-en", "--from", first, "--role", "asr", "-q")
    assert code == 0
    old_sha = _added(out)[3]
    code, out, err = run("add", "vosk-en", "--from", second, "--role", "asr", "-q")
    assert (code, out) == (1, "")
    assert err.startswith(f"model: vosk-en was already added (added from {first} on ")
    assert err.endswith("); use --force to replace it\n")
    assert hash_tree(models / "vosk-en")[0] == old_sha

    code, out, _err = run("add", "vosk-en", "--from", second, "--role", "asr", "--force", "-q")
    assert code == 0
    new_sha = _added(out)[3]
    assert new_sha == hash_tree(second)[0] != old_sha
    assert (models / "vosk-en" / "am" / "final.mdl").read_bytes() == b"acoustic model v2"
    (entry,) = read_local_manifest(models)
    assert entry.tree_sha256 == new_sha and entry.tree is not None
    assert entry.tree.file == str(second)
    assert model_path("vosk-en", models_dir=models) == models / "vosk-en"
    assert _leftovers(models) == []


def test_a_folder_not_added_by_voicebox_is_not_overwritten(
    run: Run, tmp_path: Path, models: Path
) -> None:
    (models / "vosk-en").mkdir(parents=True)
    (models / "vosk-en" / "keep.txt").write_text("mine")
    code, _out, err = run("add", "vosk-en", "--from", _vosk(tmp_path / "m"), "--role", "asr")
    assert code == 1
    assert err == (f"model: {models / 'vosk-en'} already exists; use --force to replace it\n")
    assert (models / "vosk-en" / "keep.txt").read_text() == "mine"


def _corrupt_zip(tmp_path: Path) -> Path:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40 + b"truncated download")
    return path


def _bad_crc_zip(tmp_path: Path) -> Path:
    path = _zip(_vosk(tmp_path / "src" / TOP), tmp_path / "crc.zip", TOP)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{TOP}/README")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data = bytearray(path.read_bytes())
    for i in range(start, start + info.compress_size):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _corrupt_tar(tmp_path: Path) -> Path:
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 10)
    return path


def _empty_dir(tmp_path: Path) -> Path:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    return tmp_path / "empty"


def _no_am(tmp_path: Path) -> Path:
    folder = _vosk(tmp_path / "half")
    for path in sorted((folder / "am").iterdir()):
        path.unlink()
    (folder / "am").rmdir()
    return folder


def _no_json(tmp_path: Path) -> Path:
    onnx = _piper(tmp_path / "v")
    Path(f"{onnx}.json").unlink()
    return onnx


@pytest.mark.parametrize(
    ("make", "name", "role", "message"),
    [
        (_corrupt_zip, "vosk-en", "asr", "{src} is not a readable zip archive (corrupt or"),
        (_bad_crc_zip, "vosk-en", "asr", f"cannot read {TOP}/README in {{src}}: Error -3"),
        (_corrupt_tar, "vosk-en", "asr", "{src} is not a readable tar archive (corrupt or"),
        (lambda t: t / "absent.zip", "vosk-en", "asr", "{src} does not exist"),
        (_empty_dir, "vosk-en", "asr", "{src} is an empty folder"),
        (_no_am, "vosk-en", "asr", "not a Vosk model: {src} has conf/model.conf but no am/"),
        (_no_json, "piper-x", "tts", "not a Piper voice: en_US-test-medium.onnx.json is missing"),
        (_vosk, "Vosk EN", "asr", "invalid model name 'Vosk EN': use lower-case letters"),
        (_vosk, "local-manifest.yaml", "asr", "the model name 'local-manifest.yaml' is reserved"),
    ],
)
def test_bad_sources_give_one_line_errors(
    run: Run,
    tmp_path: Path,
    models: Path,
    make: Callable[[Path], Path],
    name: str,
    role: str,
    message: str,
) -> None:
    src = make(tmp_path)
    code, out, err = run("add", name, "--from", src, "--role", role, "-q")
    assert (code, out) == (1, "")
    assert err.startswith(f"model: {message.format(src=src)}"), err
    assert err.count("\n") == 1
    assert not (models / name).exists()
    assert not (models / LOCAL_MANIFEST_NAME).exists()
    if models.exists():
        assert _leftovers(models) == []


def test_member_with_a_single_file_is_refused(run: Run, tmp_path: Path) -> None:
    onnx = _piper(tmp_path / "v")
    code, _out, err = run("add", "p", "--from", onnx, "--role", "tts", "--member", "x")
    assert (code, err) == (1, "model: --member only applies to a folder or an archive\n")


# -- all or nothing ------------------------------------------------------------------------


def _failing_replace(monkeypatch: pytest.MonkeyPatch, bad: Path) -> None:
    real = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == bad:
            raise OSError(28, "simulated failure")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("failing", ["folder", "manifest"])
def test_failure_half_way_leaves_nothing(
    run: Run, tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    archive = _zip(_vosk(tmp_path / "src" / TOP), tmp_path / "v.zip", TOP)
    bad = models / "vosk-en" if failing == "folder" else models / LOCAL_MANIFEST_NAME
    _failing_replace(monkeypatch, bad)
    code, out, err = run("add", "vosk-en", "--from", archive, "--role", "asr", "-q")
    assert (code, out) == (1, "")
    assert err == f"model: cannot add vosk-en into {models}: simulated failure\n"
    assert not (models / "vosk-en").exists()
    assert not (models / LOCAL_MANIFEST_NAME).exists()
    assert _leftovers(models) == []
    assert "vosk-en" not in load_manifest(models_dir=models).names()


def test_failed_replacement_keeps_the_old_model(
    run: Run, tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _vosk(tmp_path / "one")
    old_sha = _added(run("add", "vosk-en", "--from", first, "--role", "asr", "-q")[1])[3]
    _failing_replace(monkeypatch, models / LOCAL_MANIFEST_NAME)
    second = _vosk(tmp_path / "two", seed=b" v2")
    code, _out, _err = run("add", "vosk-en", "--from", second, "--role", "asr", "--force", "-q")
    assert code == 1
    assert hash_tree(models / "vosk-en")[0] == old_sha
    (entry,) = read_local_manifest(models)
    assert entry.tree_sha256 == old_sha
    assert model_path("vosk-en", models_dir=models) == models / "vosk-en"
    assert _leftovers(models) == []


# -- remove --------------------------------------------------------------------------------


def test_remove_an_added_model(run: Run, tmp_path: Path, models: Path) -> None:
    assert run("add", "vosk-en", "--from", _vosk(tmp_path / "a"), "--role", "asr", "-q")[0] == 0
    onnx = _piper(tmp_path / "v")
    assert run("add", "piper-anna", "--from", onnx, "--role", "tts", "-q")[0] == 0
    code, out, err = run("remove", "vosk-en")
    assert (code, out, err) == (0, f"vosk-en\tremoved\t{models / 'vosk-en'}\n", "")
    assert not (models / "vosk-en").exists()
    assert _local_names(models) == ["piper-anna"]
    with pytest.raises(ModelError, match="unknown model 'vosk-en'"):
        model_path("vosk-en", models_dir=models)
    assert "vosk-en" not in run("list")[1]
    assert model_path("piper-anna", models_dir=models) == models / "piper-anna"
    assert _leftovers(models) == []

    code, _out, err = run("remove", "vosk-en")
    assert (code, err) == (1, "model: no added model 'vosk-en' (added: piper-anna)\n")


def test_remove_refuses_shipped_models(run: Run, models: Path) -> None:
    code, _out, err = run("remove", "vosk-ko")
    assert code == 1
    assert err == (
        "model: vosk-ko is a shipped model; only models added with "
        "`voicebox models add` can be removed\n"
    )


# -- a broken local manifest ---------------------------------------------------------------


def test_broken_local_manifest_does_not_break_the_shipped_models(
    run: Run, tmp_path: Path, models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = load_manifest(paths.manifest_path()).names()
    models.mkdir()
    (models / LOCAL_MANIFEST_NAME).write_text("models:\n  - name: x\n    role: [asr\n")
    with caplog.at_level(logging.WARNING, logger="appliance.models.manifest"):
        manifest = load_manifest(models_dir=models)
    assert manifest.names() == shipped
    assert "ignoring the local manifest" in caplog.text
    assert manifest.local_notes and "invalid YAML" in manifest.local_notes[0]
    with pytest.raises(ModelError, match="model vosk-ko is not installed"):
        model_path("vosk-ko", models_dir=models)

    code, out, _err = run("list")
    assert code == 0
    assert out.splitlines()[-1].startswith(
        "note: ignoring the local manifest (models added on this box): "
        f"{models / LOCAL_MANIFEST_NAME}:"
    )
    assert all(name in out for name in shipped)
    code, _out, err = run("add", "vosk-en", "--from", _vosk(tmp_path / "m"), "--role", "asr")
    assert code == 1
    assert f"; fix or delete {models / LOCAL_MANIFEST_NAME}" in err
    assert not (models / "vosk-en").exists()


def test_local_entry_with_a_shipped_name_is_ignored(models: Path) -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    entry = {
        "name": "vosk-ko",
        "role": "asr",
        "licence": "MIT",
        "tree": {"file": "/nowhere.zip"},
        "tree_sha256": sha,
        "size": 1,
    }
    models.mkdir()
    (models / LOCAL_MANIFEST_NAME).write_text(yaml.safe_dump({"models": [entry]}))
    manifest = load_manifest(models_dir=models)
    assert manifest.get("vosk-ko").tree_sha256 != sha
    assert not manifest.is_local("vosk-ko")
    assert "the shipped manifest has a model of that name" in manifest.local_notes[0]


# -- hostile archives: nothing is written outside the models folder ------------------------

# (member name, link target or None for a regular file, what the refusal names)
HOSTILE = [
    ("../../../evil", None, "unsafe path in archive: ../../../evil"),
    (f"{TOP}/../../../../evil", None, f"unsafe path in archive: {TOP}/../../../../evil"),
    ("{outside}/evil", None, "unsafe path in archive: {outside}/evil"),
    (f"{TOP}/am/escape", "../../../../outside", f"unsafe link in archive: {TOP}/am/escape -> "),
    (f"{TOP}/graph/etc", "{outside}", f"unsafe link in archive: {TOP}/graph/etc -> {{outside}}"),
]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _hostile_archive(kind: str, src: Path, out: Path, name: str, target: str | None) -> Path:
    """The official layout (TOP/...) plus one hostile member; a link is followed by a file
    written through it (the classic two-step escape)."""
    if kind == "zip":
        with zipfile.ZipFile(out, "w") as zf:
            for path in sorted(src.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{TOP}/{path.relative_to(src).as_posix()}")
            info = zipfile.ZipInfo(name)  # ZipInfo keeps `..` and a leading / (write() would not)
            if target is None:
                zf.writestr(info, b"evil")
            else:
                info.external_attr = (0o120777 << 16) | 0x20  # S_IFLNK | 0777: a Unix symlink
                zf.writestr(info, target.encode())
                zf.writestr(f"{name}/evil", b"evil")
        return out
    with tarfile.open(out, "w:gz") as tf:
        tf.add(src, arcname=TOP)
        member = tarfile.TarInfo(name)
        if target is None:
            member.size = 4
            tf.addfile(member, io.BytesIO(b"evil"))
        else:
            member.type, member.linkname = tarfile.SYMTYPE, target
            tf.addfile(member)
            through = tarfile.TarInfo(f"{name}/evil")
            through.size = 4
            tf.addfile(through, io.BytesIO(b"evil"))
    return out


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
@pytest.mark.parametrize(
    ("name", "target", "refusal"), HOSTILE, ids=["up", "top-up", "absolute", "link-up", "link-abs"]
)
def test_archive_escaping_the_models_folder_is_refused(
    run: Run,
    tmp_path: Path,
    models: Path,
    kind: str,
    name: str,
    target: str | None,
    refusal: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("keep me")
    fill = {"outside": str(outside)}
    name, refusal = name.format(**fill), refusal.format(**fill)
    target = target.format(**fill) if target is not None else None
    src = _vosk(tmp_path / "src" / TOP)
    archive = _hostile_archive(kind, src, tmp_path / f"hostile.{kind}", name, target)
    before = _files(tmp_path)

    code, out, err = run("add", "vosk-x", "--from", archive, "--role", "asr", "-q")

    assert (code, out) == (1, "")
    assert err.startswith(f"model: cannot add vosk-x from {archive}: {refusal}"), err
    assert err.count("\n") == 1, err
    assert not (models / "vosk-x").exists()
    assert not (models / LOCAL_MANIFEST_NAME).exists()
    assert _leftovers(models) == [] if models.exists() else True
    after = _files(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("models/")} == before
    assert [k for k in after if k.startswith("models/")] == ["models/.lock"]  # no half-way files
    assert not list(tmp_path.rglob("evil")) and not (tmp_path.parent / "evil").exists()


def test_hard_link_out_of_a_tar_is_refused(run: Run, tmp_path: Path, models: Path) -> None:
    src = _vosk(tmp_path / "src" / TOP)
    archive = tmp_path / "hard.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname=TOP)
        link = tarfile.TarInfo(f"{TOP}/am/passwd")
        link.type, link.linkname = tarfile.LNKTYPE, "../etc/passwd"
        tf.addfile(link)
    code, _out, err = run("add", "vosk-x", "--from", archive, "--role", "asr", "-q")
    assert code == 1
    assert f"unsafe link in archive: {TOP}/am/passwd -> ../etc/passwd" in err, err
    assert not (models / "vosk-x").exists()
