"""What a result depends on, as digests, and the cache of results under ``_build/cache/``.

``neuroai check``, ``neuroai book`` and ``neuroai release`` skip the work whose inputs
have not changed since it last succeeded. An input is: the tutorial's files, the science
package (every file of ``neuroai_core``), the tooling (every file of ``neuroai_course``)
and the environment (the Python version and every installed distribution's version).
A result is stored under the digest of all its inputs, so any change of any of them
misses the cache; ``--force`` ignores it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from neuroai_course.project import Course


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes, or ``"missing"``."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return "missing"


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            h.update(str(path.relative_to(folder)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.cache
def library_digest() -> str:
    """Every file of the science package that the kernels import."""
    import neuroai_core

    return _tree_digest(Path(neuroai_core.__file__).parent)


@functools.cache
def tooling_digest() -> str:
    """Every file of the course tooling (a change of ``check`` re-checks everything)."""
    return _tree_digest(Path(__file__).parent)


@functools.cache
def environment_digest() -> str:
    """The interpreter and the version of every installed distribution (what ``pip
    freeze`` lists, read from the metadata without starting pip)."""
    dists = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()
                    if d.metadata["Name"]})
    return hashlib.sha256("\n".join([sys.version, *dists]).encode()).hexdigest()


def digest(**parts) -> str:
    """One digest of named parts (strings, numbers)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class Cache:
    """``_build/cache/<kind>/<tutorial id>.json``: one entry per tutorial, kept only while
    its key matches."""

    def __init__(self, course: Course, kind: str) -> None:
        self.folder = course.root / "_build" / "cache" / kind

    def get(self, tid: str, key: str) -> dict | None:
        try:
            entry = json.loads((self.folder / f"{tid}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry.get("value") if entry.get("key") == key else None

    def put(self, tid: str, key: str, value: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{tid}.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "value": value}, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def drop(self, tid: str) -> None:
        (self.folder / f"{tid}.json").unlink(missing_ok=True)

