"""Version and dependencies of neuroai-course, taken from the science package beside it.

The version is written once, in ``neuroai_core/__init__.py``; the tooling is released with
the core and depends on exactly that version of it.
"""

import re
from pathlib import Path

from setuptools import setup

CORE_INIT = Path(__file__).resolve().parent.parent / "neuroai_core" / "__init__.py"
VERSION = re.search(r'^__version__ = "([^"]+)"', CORE_INIT.read_text(), re.M).group(1)

setup(
    version=VERSION,
    install_requires=[
        f"neuroai-core=={VERSION}",
        "nbgrader>=0.9,<0.10",
        "jupyter-book>=1.0.4,<2",
        "nbclient>=0.10",
        "nbformat>=5.9",
        "ipykernel>=6",
        "ipywidgets>=7.7",
        "PyYAML>=6",
        "psutil>=5.9",
        "nh3>=0.2.14",  # sanitises hand-ins before the formgrader shows them
        "cloudpickle>=2",
        "distributed>=2024.1",  # grading on a Dask cluster (neuroai grade --scheduler)
        "cryptography>=42",  # its TLS certificates (neuroai certs, Security.temporary)
    ],
)
