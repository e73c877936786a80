"""`voicebox models install|list|verify|add|remove`: the command line of the model installer.

The main CLI calls `add_parser(subparsers)` and then `args.func(args)`, which returns the exit
code. Also runnable alone: `python -m appliance.models.cli install [NAMES...]`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from appliance import paths
from appliance.errors import ModelError
from appliance.models.added import ROLES, add_model, remove_model
from appliance.models.hashing import MB
from appliance.models.installer import install
from appliance.models.manifest import Manifest, load_manifest
from appliance.models.verifier import entry_installed, verify

_LOGGER = logging.getLogger(__name__)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _context(args: argparse.Namespace) -> tuple[Manifest, Path]:
    root = args.models_dir if args.models_dir is not None else paths.models_dir()
    manifest = load_manifest(args.manifest, models_dir=root)
    return manifest, root


def _cmd_install(args: argparse.Namespace) -> int:
    manifest, root = _context(args)
    if args.all and args.names:
        raise ModelError("give model names or --all, not both")
    names = [e.name for e in manifest.entries] if args.all else (args.names or None)
    progress = None if args.quiet else _progress
    for result in install(names, manifest=manifest, models_dir=root, progress=progress):
        print(f"{result.name}\t{result.status}\t{result.path}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    manifest, root = _context(args)
    header = ("NAME", "ROLE", "DEFAULT", "SIZE MB", "INSTALLED", "LICENCE")
    rows = [header]
    for entry in manifest.entries:
        rows.append(
            (
                entry.name,
                entry.role,
                "local" if manifest.is_local(entry.name) else "yes" if entry.default else "no",
                f"{entry.total_size / MB:.0f}",
                "yes" if entry_installed(entry, root) else "no",
                entry.licence,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [
            cell.rjust(w) if i == 3 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=False))
        ]
        print("  ".join([*cells, row[-1]]))
    print(f"models folder: {root}")
    for note in manifest.local_notes:
        print(f"note: {note}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    manifest, root = _context(args)
    progress = None if args.quiet else _progress
    results = verify(args.names or None, manifest=manifest, models_dir=root, progress=progress)
    if not results:
        print(f"no models installed in {root}")
    for result in results:
        if result.ok:
            print(f"{result.name}\tok")
        for problem in result.problems:
            print(f"{result.name}\tFAILED\t{problem}")
    return 0 if all(r.ok for r in results) else 1


def _cmd_add(args: argparse.Namespace) -> int:
    manifest, root = _context(args)
    result = add_model(
        args.name,
        args.source,
        role=args.role,
        licence=args.licence,
        description=args.description,
        member=args.member,
        force=args.force,
        manifest=manifest,
        models_dir=root,
        progress=None if args.quiet else _progress,
    )
    print(f"{result.name}\tadded\t{result.path}\t{result.sha256}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    manifest, root = _context(args)
    for name in dict.fromkeys(args.names):
        folder = remove_model(name, manifest=manifest, models_dir=root)
        print(f"{name}\tremoved\t{folder}")
    return 0


def _guarded(args: argparse.Namespace) -> int:
    """Run the chosen command; errors become one line on stderr and exit code 1."""
    command = args.models_command
    try:
        return int(command(args))
    except ModelError as err:
        print(err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("model: interrupted (nothing half-written was left behind)", file=sys.stderr)
        return 130


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, default=None, help="manifest file to use")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="models folder (default: $VOICEBOX_MODELS or <data dir>/models)",
    )


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `models` with sub-commands install, list, verify, add, remove; sets `func`."""
    models = subparsers.add_parser("models", help="install, list and verify model weights")
    models.set_defaults(func=lambda _args: _usage(models))
    sub = models.add_subparsers(metavar="COMMAND")

    p_install = sub.add_parser("install", help="install models (default: the default ones)")
    p_install.add_argument("names", nargs="*", metavar="NAME", help="models to install")
    p_install.add_argument("--all", action="store_true", help="install every model")
    p_install.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _add_common(p_install)
    p_install.set_defaults(func=_guarded, models_command=_cmd_install)

    p_list = sub.add_parser("list", help="list the models of the manifest")
    _add_common(p_list)
    p_list.set_defaults(func=_guarded, models_command=_cmd_list)

    p_verify = sub.add_parser("verify", help="re-hash installed models")
    p_verify.add_argument("names", nargs="*", metavar="NAME", help="models (default: installed)")
    p_verify.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _add_common(p_verify)
    p_verify.set_defaults(func=_guarded, models_command=_cmd_verify)

    p_add = sub.add_parser(
        "add",
        help="add a model that is not in the manifest from a folder, archive or file",
        description=(
            "Copy a model into the models folder and record it in its local-manifest.yaml. "
            "PATH is a folder, a .zip, a .tar.gz/.tgz or a single file (e.g. a Piper .onnx, "
            "taken with its .onnx.json). An archive or folder holding exactly one top-level "
            "folder (like the official Vosk zips) is taken from inside that folder."
        ),
    )
    p_add.add_argument("name", metavar="NAME", help="name of the new model (its folder name)")
    p_add.add_argument(
        "--from", dest="source", type=Path, required=True, metavar="PATH",
        help="folder, .zip, .tar.gz/.tgz or single file holding the model",
    )  # fmt: skip
    p_add.add_argument("--role", required=True, choices=ROLES, help="what the model is for")
    p_add.add_argument("--licence", default="unknown", help="licence of the weights")
    p_add.add_argument("--description", default="", help="one line saying what the model is")
    p_add.add_argument(
        "--member", metavar="SUBDIR", help="folder inside the archive/folder holding the model"
    )
    p_add.add_argument("--force", action="store_true", help="replace a model added before")
    p_add.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _add_common(p_add)
    p_add.set_defaults(func=_guarded, models_command=_cmd_add)

    p_remove = sub.add_parser("remove", help="delete models added with `voicebox models add`")
    p_remove.add_argument("names", nargs="+", metavar="NAME", help="added models to delete")
    _add_common(p_remove)
    p_remove.set_defaults(func=_guarded, models_command=_cmd_remove)
    return models


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: `python -m appliance.models.cli install ...`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="voicebox")
    subparsers = parser.add_subparsers()
    add_parser(subparsers)
    args = parser.parse_args(["models", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
