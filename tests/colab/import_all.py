"""Import every submodule of ``neuroai_core`` except the course tooling; print a JSON report.

Run with the Colab environment's Python: it proves the package needs nothing newer than
Colab's numpy, torch, IPython and ipywidgets, and that importing it warns about nothing.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback
import warnings


def main() -> int:
    import neuroai_core

    names, failed, warned = ["neuroai_core"], {}, []

    def walk(path: list[str], prefix: str) -> None:
        # pkgutil.walk_packages would import neuroai_course to look inside it
        for info in pkgutil.iter_modules(path, prefix):
            if info.name == "neuroai_course":
                continue
            names.append(info.name)
            if info.ispkg:
                walk([f"{path[0]}/{info.name.rsplit('.', 1)[1]}"], info.name + ".")

    walk(list(neuroai_core.__path__), "neuroai_core.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:
                failed[name] = traceback.format_exc()[-1500:]
    for w in caught:
        if "neuroai_core" in str(w.filename) or "neuroai_core" in str(w.message):
            warned.append(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}")
    print(json.dumps({"imported": names, "failed": failed, "warnings": warned,
                      "file": neuroai_core.__file__,
                      "course_loaded": any(m.startswith("neuroai_course")
                                           for m in sys.modules)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
