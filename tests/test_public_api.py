"""Nothing public broke when the package was cut by layer (issue 32).

Every name the 0.1 README documented still resolves, by the path it gave; every module
path of the flat layout still imports — the same module object as at its new path — with
one DeprecationWarning naming the new path; and the package's own functions are never
shadowed by an old module path of the same name (``gpudeconv.wiener``).
"""

import importlib
import pkgutil
import subprocess
import sys
import textwrap

import gpudeconv
from gpudeconv import _aliases

# Every gpudeconv name in the README of 0.1 (before the cut), as "module:attribute" for
# `from module import attribute` and dotted for attribute access.
README_0_1_NAMES = [
    "gpudeconv:degrade",
    "gpudeconv:fit",
    "gpudeconv:metrics",
    "gpudeconv:psf",
    "gpudeconv:wiener",
    "gpudeconv.AutoPipeline",
    "gpudeconv.FilterTable.fit",
    "gpudeconv.GpudeconvError",
    "gpudeconv.Pipeline",
    "gpudeconv.backends.BACKENDS",
    "gpudeconv.blind.robust_filter",
    "gpudeconv.dask.deblur",
    "gpudeconv.dask:deblur",
    "gpudeconv.deblur",
    "gpudeconv.degrade",
    "gpudeconv.errors",
    "gpudeconv.estimate",
    "gpudeconv.estimate_kernel",
    "gpudeconv.fit",
    "gpudeconv.fit.BASES",
    "gpudeconv.frames.FrameSpec",
    "gpudeconv.gl:deblur_pass",
    "gpudeconv.host_shaders.export_host",
    "gpudeconv.methods.METHODS",
    "gpudeconv.metrics",
    "gpudeconv.psf",
    "gpudeconv.restore",
    "gpudeconv.shaders.cost",
    "gpudeconv.shaders.export",
    "gpudeconv.shaders.uniform_bytes",
    "gpudeconv.spectra",
    "gpudeconv.wiener",
]

_RESOLVE = textwrap.dedent(
    """
    import importlib, json, sys, warnings

    def resolve(name):
        if ":" in name:
            module, attr = name.split(":")
            return getattr(importlib.import_module(module), attr)
        parts = name.split(".")
        try:  # attribute access from `import gpudeconv`, as the README's examples use it
            obj = importlib.import_module(parts[0])
            for cut, attr in enumerate(parts[1:], start=2):
                try:
                    obj = getattr(obj, attr)
                except AttributeError:
                    obj = importlib.import_module(".".join(parts[:cut]))
            return obj
        except ImportError:  # `from module import name` written as one dotted path
            module, attr = name.rsplit(".", 1)
            return getattr(importlib.import_module(module), attr)

    report = {}
    for name in json.loads(sys.argv[1]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj = resolve(name)
        report[name] = {
            "type": type(obj).__name__,
            "module": getattr(obj, "__name__", None),
            "warnings": [str(w.message) for w in caught if w.category is DeprecationWarning],
            "where": [w.filename for w in caught],
        }
    import gpudeconv
    report["wiener after all"] = type(gpudeconv.wiener).__name__
    print(json.dumps(report))
    """
)


def _resolve_fresh(names: list[str]) -> dict:
    """Resolve ``names`` in a new interpreter (the old paths warn once per process)."""
    import json

    result = subprocess.run(
        [sys.executable, "-c", _RESOLVE, json.dumps(names)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_every_name_the_0_1_readme_documented_still_resolves():
    report = _resolve_fresh(README_0_1_NAMES)
    assert report["gpudeconv.wiener"]["type"] == "function"
    assert report["gpudeconv:wiener"]["type"] == "function"
    assert report["gpudeconv.deblur"]["type"] == "function"
    assert report["gpudeconv.backends.BACKENDS"]["type"] == "Registry"
    assert report["gpudeconv.psf"]["module"] == "gpudeconv.core.psf"
    # The package's own names do not warn; a moved module path does, naming its new home.
    for name in ("gpudeconv:psf", "gpudeconv.psf", "gpudeconv.Pipeline", "gpudeconv.estimate"):
        assert report[name]["warnings"] == [], name
    assert report["gpudeconv.gl:deblur_pass"]["warnings"] == [
        "gpudeconv.gl moved to gpudeconv.render.gl; import it from there "
        "(the old path will be removed in gpudeconv 0.3)"
    ]
    assert report["wiener after all"] == "function"


def _new_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(gpudeconv.__path__, "gpudeconv."):
        names.append(info.name)
    return names


def test_every_old_module_path_is_the_new_module_and_warns_once():
    old_to_new = {}
    for new in _new_modules():
        for old, moved in _aliases.MOVED.items():
            prefix = f"gpudeconv.{moved}"
            if new == prefix or new.startswith(prefix + "."):
                old_to_new[f"gpudeconv.{old}{new[len(prefix) :]}"] = new
    assert len(old_to_new) >= len(_aliases.MOVED) + 8  # packages bring their submodules
    script = textwrap.dedent(
        """
        import importlib, json, sys, warnings
        out = {}
        for old, new in json.loads(sys.argv[1]).items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                module = importlib.import_module(old)
                again = importlib.import_module(old)
            out[old] = [module is sys.modules[new], again is module, module.__name__,
                        module.__spec__.name,
                        [str(w.message) for w in caught if w.category is DeprecationWarning]]
        print(json.dumps(out))
        """
    )
    import json

    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(old_to_new)],
        capture_output=True,
        text=True,
        check=True,
    )
    for old, (same, cached, name, spec_name, warned) in json.loads(result.stdout).items():
        new = old_to_new[old]
        assert same and cached, old
        assert name == spec_name == new, old  # the module keeps its own name and spec
        if old.split(".")[1] in _aliases.PERMANENT:  # `from gpudeconv.psf import gaussian`
            assert warned == [], (old, warned)
        else:
            assert len(warned) == 1 and f"{old} moved to {new}" in warned[0], (old, warned)


def test_new_paths_import_without_warnings():
    for name in _new_modules():
        if name.endswith((".cuda", ".gl")) and "backends" in name:
            continue  # import CuPy / moderngl lazily anyway; covered by their own tests
        importlib.import_module(name)  # pytest turns any warning into an error


def test_the_package_namespace_holds_only_its_api():
    public = {n for n in vars(gpudeconv) if not n.startswith("_")}
    layers = {"app", "blind", "core", "engine", "errors", "fit", "media", "render", "restoration"}
    api = set(gpudeconv.__all__) - {"__version__"}
    assert public - (layers - api) - {"annotations"} == api  # `fit`: a layer and a function


def test_old_path_that_never_existed_still_fails():
    script = "import gpudeconv.nonexistent"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode != 0 and "No module named 'gpudeconv.nonexistent'" in result.stderr
