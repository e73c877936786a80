"""Model weights: the manifest, installing, verifying, and finding installed models.

from appliance.models import model_path
gguf = model_path("smollm2-135m") / "model.gguf"
"""

from __future__ import annotations

from appliance.models.added import AddResult, add_model, remove_model
from appliance.models.hashing import tree_sha256
from appliance.models.installer import InstallResult, install
from appliance.models.manifest import (
    Manifest,
    ModelEntry,
    ModelFile,
    Source,
    load_manifest,
    parse_manifest,
)
from appliance.models.sources import default_cache_dir
from appliance.models.verifier import VerifyResult, is_installed, model_path, verify

__all__ = [
    "AddResult",
    "InstallResult",
    "Manifest",
    "ModelEntry",
    "ModelFile",
    "Source",
    "VerifyResult",
    "add_model",
    "default_cache_dir",
    "install",
    "is_installed",
    "load_manifest",
    "model_path",
    "parse_manifest",
    "remove_model",
    "tree_sha256",
    "verify",
]
