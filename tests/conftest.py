"""Shared helpers: the course under test and throwaway copies of it."""

import shutil
from pathlib import Path

import pytest

from neuroai_core.course.project import Course

ROOT = Path(__file__).resolve().parents[1]
COURSE_FILES = ("_config.yml", "_toc.yml", "book", "solutions", "tutorials")


def copy_course(dst: Path) -> Course:
    """A copy of the course's content (not the package) in ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name)
        else:
            shutil.copyfile(src, dst / name)
    return Course(dst)


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


def tutorial_ids() -> list[str]:
    return [t.id for t in Course(ROOT).tutorials()]
