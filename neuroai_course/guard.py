"""Kernel-side guard against monkeypatching during grading.

The grader runs ``Guard()`` in a cell it inserts before any of the student's code: it
imports the protected packages and snapshots the namespaces of their modules and of the
classes they define. Before each test cell the grader inserts ``guard.restore()``, which
puts back every public attribute the student's code rebound (``numpy.isclose = ...``,
``neuroai_core.neurons.lif_rate = ...``, ``sys.modules['numpy'] = fake``) and prints what it
restored (a module's private names are left alone: the libraries rebind them themselves),
so the hidden tests compute their expected values with the real functions and the grader
can flag the attempt. Test cells import their references themselves for the
same reason. This stops ordinary Python-level tampering; code that edits memory through
``ctypes`` is out of its reach (the sandbox limits what such code can touch).

Stdlib only: it is imported inside the student's kernel.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

PROTECTED = ("builtins", "math", "numpy", "torch", "neuroai_core")
SKIP = ("neuroai_course",)
#: Names the kernel itself rebinds while it runs (ipykernel swaps ``input`` per request).
KERNEL_OWNED = {"builtins": {"input", "raw_input", "getpass", "display", "get_ipython"}}


def _protected(name: str) -> bool:
    return (name.split(".")[0] in PROTECTED) and not name.startswith(SKIP)


def _internal(module: str) -> bool:
    """A module with a private part in its path (``torch._functorch.predispatch``)."""
    return any(part.startswith("_") for part in module.split(".")[1:])


def _watched(module: str, key: str, value) -> bool:
    """Whether a rebinding of ``module.key`` is undone. Not a private name (``_cache``,
    but ``__all__`` is watched), and in an internal module (a private part in its path,
    ``torch._functorch.predispatch``) only functions and classes, not the module's state:
    the libraries rebind those themselves as they warm up (torch's lazy flags and locks,
    a cached thread controller), so a change there says nothing about the student, and
    putting the old state back could break the library."""
    if key.startswith("_") and not key.endswith("__"):
        return False
    return callable(value) or not _internal(module)


def _library_wrapper(new, old) -> bool:
    """``new`` wraps ``old`` (``functools.wraps``) and its code lies in a protected
    package's own files: torch wraps ``torch.manual_seed`` this way when its compiler
    first loads. It is still undone, but it is not the student's doing."""
    if getattr(new, "__wrapped__", None) is not old:
        return False
    filename = getattr(getattr(new, "__code__", None), "co_filename", "")
    return any(filename.startswith(folder) for folder in _package_folders())


def _package_folders() -> tuple[str, ...]:
    folders = []
    for name in PROTECTED:
        mod = sys.modules.get(name)
        for folder in getattr(mod, "__path__", []) or []:
            folders.append(str(folder).rstrip("/") + "/")
    return tuple(folders)


class Guard:
    """Snapshot of the protected modules and classes; :meth:`restore` puts it back."""

    def __init__(self) -> None:
        import neuroai_core

        for info in pkgutil.walk_packages(neuroai_core.__path__, "neuroai_core."):
            if not info.name.startswith(SKIP):
                try:
                    importlib.import_module(info.name)
                except Exception:  # an optional module that cannot load here: not protected
                    continue
        importlib.import_module("numpy")
        self._modules = {name: (mod, dict(vars(mod)))
                         for name, mod in list(sys.modules.items())
                         if mod is not None and _protected(name)}
        self._classes = {}
        for name, (_, names) in self._modules.items():
            if name.startswith("neuroai_core"):
                for obj in names.values():
                    if isinstance(obj, type) and obj.__module__.startswith("neuroai_core"):
                        self._classes[obj] = dict(vars(obj))

    def restore(self) -> list[str]:
        """Undo rebinding in the protected modules and classes; print and return it."""
        changed = []
        for name, (mod, snap) in self._modules.items():
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod
                changed.append(f"sys.modules[{name!r}]")
            ns = vars(mod)
            owned = KERNEL_OWNED.get(name, set())
            for key, value in snap.items():
                now = ns.get(key, snap)
                if key not in owned and now is not value and _watched(name, key, value):
                    ns[key] = value
                    if not _library_wrapper(now, value):
                        changed.append(f"{name}.{key}")
            if name != "builtins" and not _internal(name):
                for key in [k for k in ns if k not in snap and not k.startswith("_")]:
                    if not isinstance(ns[key], type(sys)):  # lazily imported submodules
                        del ns[key]
                        changed.append(f"{name}.{key} (added)")
        for cls, snap in self._classes.items():
            for key, value in snap.items():
                if key not in ("__dict__", "__weakref__") and vars(cls).get(key, snap) is not value:
                    setattr(cls, key, value)
                    changed.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
        if changed:
            print("neuroai-guard: restored " + ", ".join(sorted(set(changed))))
        return changed
