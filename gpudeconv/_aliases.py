"""The module paths of gpudeconv 0.1's flat layout, kept working with a DeprecationWarning.

The package is cut by layer (``core``, ``fit``, ``engine``, ``render``, ``blind``,
``restoration``, ``media``, ``app``). Code written against the old flat paths
(``import gpudeconv.psf``, ``from gpudeconv.backends import BACKENDS``) still runs: a
meta-path finder answers each old name with the module at its new path (the same object,
not a copy) and warns once per name. The modules the package itself exports
(``gpudeconv.psf``, ``spectra``, ``degrade``, ``metrics``) keep their short paths for
good: ``from gpudeconv.psf import gaussian`` does not warn.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings
from importlib.machinery import ModuleSpec

#: old module (under ``gpudeconv.``) -> its new home; a package moves with its submodules.
MOVED: dict[str, str] = {
    "psf": "core.psf",
    "spectra": "core.spectra",
    "colour": "core.colour",
    "degrade": "core.degrade",
    "metrics": "core.metrics",
    "boundaries": "core.boundaries",
    "frames": "core.frames",
    "pipeline": "engine.pipeline",
    "backends": "engine.backends",
    "shaders": "render.shaders",
    "host_shaders": "render.host_shaders",
    "gl": "render.gl",
    "wiener": "restoration.wiener",
    "unknown_boundary": "restoration.unknown_boundary",
    "reference": "restoration.reference",
    "oneshot": "restoration.oneshot",
    "methods": "restoration.methods",
    "stills": "restoration.stills",
    "io": "media.io",
    "video": "media.video",
    "bigimage": "media.bigimage",
    "dask": "media.dask",
    "batch": "media.batch",
    "metadata": "media.metadata",
    "plots": "media.plots",
    "cli": "app.cli",
    "live": "app.live",
    "demo": "app.demo",
    "testcard": "app.testcard",
}
#: old paths that stay, without a warning: the modules ``gpudeconv`` itself exports
PERMANENT = frozenset({"psf", "spectra", "degrade", "metrics"})

# ``gpudeconv.media`` was a module and is now the media layer's package, which re-exports
# that module's names itself, so it needs no alias.


def new_path(name: str) -> str | None:
    """The current path of the old module ``name``, or None if ``name`` did not move."""
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "gpudeconv" or parts[1] not in MOVED:
        return None
    return ".".join(["gpudeconv", MOVED[parts[1]], *parts[2:]])


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self._spec: ModuleSpec | None = None

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self.new)
        self._spec = module.__spec__  # the import system overwrites it; put it back below
        if self.old.split(".")[1] in PERMANENT:
            return module
        warnings.warn(
            f"{self.old} moved to {self.new}; import it from there "
            "(the old path will be removed in gpudeconv 0.3)",
            DeprecationWarning,
            stacklevel=2,  # the import statement: warnings skips importlib's own frames
        )
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self._spec  # the module keeps its own name and path


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        new = new_path(fullname)
        if new is None or importlib.util.find_spec(new) is None:
            return None
        return ModuleSpec(fullname, _AliasLoader(fullname, new))


class _Package(types.ModuleType):
    """``gpudeconv`` itself: an old module path must not shadow a function of the same name.

    Importing ``gpudeconv.wiener`` by its old path would otherwise rebind the package's
    ``wiener`` function to the module (the import system sets a submodule on its parent).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and callable(self.__dict__.get(name)):
            return
        super().__setattr__(name, value)


def install(package: str) -> None:
    """Answer the old paths under the package named ``package`` (``gpudeconv``); idempotent."""
    sys.modules[package].__class__ = _Package
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())  # before the path finder: no second copy
