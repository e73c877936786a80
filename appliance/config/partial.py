"""A best-effort model built from data that failed validation, so that the checks which need a
whole config (references between assistants, accounts, extensions) can still run and every
problem of a config is reported at once, not only the type errors.

Subtrees without an error are validated as usual; a model with an error inside is built
field by field without validation (`model_construct`); a bad field takes its default, or, when
it has none, the raw value if it is a plain scalar (a name, a target) and None otherwise.
"""

from __future__ import annotations

import re
import types
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

Loc = tuple[int | str, ...]
M = TypeVar("M", bound=BaseModel)
_MISSING = object()
_SCALARS = (str, int, float, bool)


def error_locs(err: ValidationError) -> set[Loc]:
    return {tuple(e["loc"]) for e in err.errors()}


def partial_model(cls: type[M], data: Any, bad: set[Loc], path: Loc = ()) -> M:
    """`cls` from `data`, every subtree under a location in `bad` built without validation."""
    raw = data if isinstance(data, dict) else {}
    values: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        key = field.alias or name
        value = _value(field.annotation, raw[key], (*path, key), bad) if key in raw else _MISSING
        if value is _MISSING:
            if field.is_required():
                value = _scalar(raw.get(key))
            else:
                value = field.get_default(call_default_factory=True)
        values[name] = value
    return cls.model_construct(**values)


def _under(path: Loc, bad: set[Loc]) -> bool:
    return any(loc[: len(path)] == path for loc in bad)


def _scalar(raw: Any) -> Any:
    return raw if isinstance(raw, _SCALARS) else None


def _value(tp: Any, raw: Any, path: Loc, bad: set[Loc]) -> Any:
    if not _under(path, bad):
        try:
            return TypeAdapter(tp).validate_python(raw)
        except ValidationError:
            pass  # valid only with a validator of the parent: build it below
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if raw is None:
            return None
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return partial_model(models[0], raw, bad, path) if models else _MISSING
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return partial_model(tp, raw, bad, path)
    if origin is list and isinstance(raw, list) and args:
        items = [_value(args[0], v, (*path, i), bad) for i, v in enumerate(raw)]
        return [_scalar(v) if it is _MISSING else it for it, v in zip(items, raw, strict=True)]
    if origin is dict and isinstance(raw, dict) and len(args) == 2:
        out = {k: _value(args[1], v, (*path, k), bad) for k, v in raw.items()}
        return {k: _scalar(raw[k]) if v is _MISSING else v for k, v in out.items()}
    return _MISSING


def _location(problem: str) -> str:
    """The location of a "where: what" problem, names of list items left out."""
    return re.sub(r" \([^)]*\)", "", problem.split(": ", 1)[0])


def not_covered(problems: list[str], by: list[str]) -> list[str]:
    """`problems` whose location is not (inside) the location of one of `by`: a reference
    problem about a value that already has a type error says nothing new."""
    taken = {_location(p) for p in by}
    out = []
    for p in problems:
        loc = _location(p)
        if not any(loc == t or loc.startswith((f"{t}.", f"{t}[")) for t in taken):
            out.append(p)
    return out
