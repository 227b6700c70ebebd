"""The course on disk: its root, its configuration and its tutorials.

A tutorial is discovered, never listed by hand: every ``solutions/<module>/<id>.ipynb``
is one, and its student version lives at ``tutorials/<module>/<id>.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

COLAB = "https://colab.research.google.com/github"


class CourseError(Exception):
    """A mistake the instructor can fix; the CLI prints it as one line, no traceback."""


@dataclass(frozen=True)
class Tutorial:
    """One tutorial: its id (``M1T1_LIF``), module folder and paths."""

    root: Path
    module: str
    id: str

    @property
    def rel(self) -> str:
        """Path of the student version relative to the root, without suffix."""
        return f"tutorials/{self.module}/{self.id}"

    @property
    def source(self) -> Path:
        return self.root / "solutions" / self.module / f"{self.id}.ipynb"

    @property
    def student(self) -> Path:
        return self.root / f"{self.rel}.ipynb"


@dataclass(frozen=True)
class Course:
    """The course rooted at ``root`` (the folder holding ``_config.yml``)."""

    root: Path

    @classmethod
    def at(cls, root: Path) -> Course:
        """The course whose root is exactly ``root``."""
        root = Path(root).resolve()
        if not ((root / "_config.yml").is_file() and (root / "solutions").is_dir()):
            raise CourseError(f"no course found at {root}: a course folder holds _config.yml "
                              "and solutions/")
        return cls(root)

    @classmethod
    def find(cls, start: Path | None = None) -> Course:
        """The course containing ``start`` (default: the working directory)."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "_config.yml").is_file() and (folder / "solutions").is_dir():
                return cls(folder)
        raise CourseError(
            f"no course found at or above {here}: run this inside the course repository "
            "(the folder with _config.yml and solutions/)"
        )

    @cached_property
    def config(self) -> dict:
        return _read_yaml(self.root / "_config.yml")

    @property
    def repository(self) -> tuple[str, str]:
        """``(owner/name, branch)`` from ``_config.yml``'s ``repository`` section."""
        repo = self.config.get("repository") or {}
        url = str(repo.get("url", "")).rstrip("/")
        prefix = "https://github.com/"
        if not url.startswith(prefix) or url.count("/") != 4:
            raise CourseError(
                f"_config.yml: repository.url must look like https://github.com/OWNER/NAME, "
                f"got {url!r}"
            )
        return url[len(prefix):], str(repo.get("branch", "main"))

    def colab_url(self, tutorial: Tutorial) -> str:
        """The Colab link that opens the student version from the repository."""
        slug, branch = self.repository
        return f"{COLAB}/{slug}/blob/{branch}/{tutorial.rel}.ipynb"

    @property
    def release(self) -> str:
        """The release the student versions install: ``_config.yml``'s ``release`` (a git
        tag such as ``v0.2.0``), set once per term so that a fix pushed to the branch during
        the term changes neither the students' nor the grader's reference code."""
        tag = self.config.get("release")
        if not isinstance(tag, str) or not tag.strip() or any(c.isspace() for c in tag):
            raise CourseError(f"_config.yml: release must name a git tag such as v0.2.0 "
                              f"(the version in neuroai_core/__init__.py), got {tag!r}")
        return tag.strip()

    def install_spec(self) -> str:
        """What the setup cell hands to pip on Colab: the package at the pinned release."""
        slug, _ = self.repository
        return f"neuroai-core @ git+https://github.com/{slug}@{self.release}"

    def tutorials(self) -> list[Tutorial]:
        """Every tutorial found in ``solutions/``, sorted by path."""
        found = sorted((self.root / "solutions").glob("*/*.ipynb"))
        return [
            Tutorial(self.root, p.parent.name, p.stem)
            for p in found
            if ".ipynb_checkpoints" not in p.parts
        ]

    def select(self, ids: list[str] | None) -> list[Tutorial]:
        """The tutorials named by ``ids`` (all when empty); unknown ids are an error."""
        everything = self.tutorials()
        if not ids:
            return everything
        by_id = {t.id: t for t in everything}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise CourseError(
                f"unknown tutorial {unknown[0]!r}; the tutorials in solutions/ are: "
                + ", ".join(sorted(by_id))
            )
        return [by_id[i] for i in ids]

    def toc_files(self) -> set[str]:
        """Every ``file:`` entry of ``_toc.yml``, without suffix."""
        toc = _read_yaml(self.root / "_toc.yml")
        files: set[str] = set()

        def walk(node) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in ("file", "root") and isinstance(value, str):
                        files.add(str(Path(value).with_suffix("")))
                    else:
                        walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(toc)
        return files

    def check_toc(self) -> None:
        """Every tutorial must have its page in ``_toc.yml``."""
        files = self.toc_files()
        for t in self.tutorials():
            if t.rel not in files:
                raise CourseError(
                    f"{t.source.relative_to(self.root)}: tutorial {t.id} is missing from "
                    f"_toc.yml; add '- file: {t.rel}' under its module"
                )


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path.name} not found in {path.parent}") from None
    except yaml.YAMLError as err:
        raise CourseError(f"{path.name} is not valid YAML: {err}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise CourseError(f"{path.name} must hold a mapping at the top level")
    return data
