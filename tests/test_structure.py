"""The package's shape: no import circles, one registry per choice, errors and warnings."""

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpudeconv
from gpudeconv import errors
from gpudeconv.core import psf
from gpudeconv.core.boundaries import BOUNDARIES, FRAME_BOUNDARIES
from gpudeconv.engine.backends import BACKENDS
from gpudeconv.fit import BASES
from gpudeconv.restoration.methods import FILE_METHODS, METHODS, SLIDER_METHODS
from gpudeconv.restoration.stills import RESTORE_METHODS

PACKAGE = Path(gpudeconv.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """Every gpudeconv module ``path`` imports, at any depth, except under TYPE_CHECKING.

    ``from package import name`` counts as importing the submodule ``package.name`` when
    there is one, else as importing ``package`` (a name defined there).
    """
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    skipped: set[int] = set()
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks are for type checkers only
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name in modules}


def test_no_import_circle_in_the_package():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = _imports(path, name, set(modules)) - {name}
        graph[name] = targets
    # A package's __init__ importing its own modules is an edge like any other; a module
    # importing its parent package (which imports the module back) would be a circle.
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*trail, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_registries_feed_every_choice():
    from gpudeconv.app.cli import _parser

    parser = _parser()
    actions = {
        (sub, a.dest): a
        for sub, p in parser._subparsers._group_actions[0].choices.items()
        for a in p._actions
    }
    assert tuple(actions[("fit", "basis")].choices) == BASES.names
    assert tuple(actions[("live", "method")].choices) == SLIDER_METHODS
    # Files: every fitted method and the reference, and for photos the iterative methods.
    assert tuple(actions[("deblur", "method")].choices) == FILE_METHODS + RESTORE_METHODS
    assert tuple(actions[("live", "backend")].choices) == BACKENDS.names
    assert tuple(actions[("deblur", "backend")].choices) == BACKENDS.names
    # Every basis option is offered by `gpudeconv fit`, once.
    for spec in BASES:
        for option in spec.options:
            assert ("fit", option.name) in actions
    assert set(METHODS.names) == {*BASES.names, "wiener", "auto", "off"}
    assert "auto" in SLIDER_METHODS and "auto" not in FILE_METHODS  # files: --psf auto
    assert "fir" not in SLIDER_METHODS  # a FIR's terms depend on the fit: no table


def test_registry_messages_list_what_is_allowed():
    with pytest.raises(errors.InvalidArgumentError, match=r"Invalid basis 'x'; expected one of"):
        BASES.check("x")
    with pytest.raises(ValueError, match=r"Invalid boundary 'periodic'.*\('reflect', 'clamp'\)"):
        BOUNDARIES.check("periodic", allowed=FRAME_BOUNDARIES)
    assert BOUNDARIES.check("wrap") == "periodic"  # an alias resolves to its entry
    assert "clamp" in BOUNDARIES.help()


def test_validation_errors_are_gpudeconv_errors_and_keep_their_builtin_types():
    with pytest.raises(errors.InvalidArgumentError) as info:
        gpudeconv.fit(psf.gaussian(1.0), noise=-1)
    assert isinstance(info.value, ValueError) and isinstance(info.value, errors.GpudeconvError)
    with pytest.raises(errors.InvalidTypeError) as info:
        gpudeconv.Pipeline("no filter", shape=(4, 4), dtype=np.float32)
    assert isinstance(info.value, TypeError)


def test_unknown_basis_options_name_the_basis_not_an_internal_function():
    with pytest.raises(
        TypeError, match=r"basis 'gauss-lap' does not take the options \['levels'\]"
    ):
        gpudeconv.fit(psf.gaussian(1.0), noise=0.01, levels=3)
    with pytest.raises(TypeError, match="unknown frame options"):
        gpudeconv.Pipeline(
            gpudeconv.fit(psf.gaussian(1.0), noise=0.01), shape=(4, 4), dtype=np.float32, lumaonly=1
        )


def test_fit_warning_points_at_the_callers_line():
    """Through deblur -> fit -> warn, the warning names this file, not the library's."""
    frame = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gpudeconv.deblur(frame, psf.motion(9, 30), noise=0.002)
    fit_warnings = [w for w in caught if issubclass(w.category, errors.FitQualityWarning)]
    assert fit_warnings and fit_warnings[0].filename == __file__


def test_no_print_in_library_code():
    """Notices go through logging or warnings; only the command line prints."""
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("cli.py",):
            continue
        tree = ast.parse(path.read_text())
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
        ]
        assert not calls, f"{path.name} prints"


def test_cli_shows_a_traceback_for_bugs(monkeypatch):
    """Only our own errors and OS errors become one line; anything else is a bug."""
    from gpudeconv.app import cli

    def broken(args):
        raise ZeroDivisionError("a bug")

    parser = cli._parser

    def patched():
        p = parser()
        p._subparsers._group_actions[0].choices["demo"].set_defaults(func=broken)
        return p

    monkeypatch.setattr(cli, "_parser", patched)
    with pytest.raises(ZeroDivisionError):
        cli.main(["demo"])


@pytest.mark.parametrize("basis", BASES.names)
def test_every_fit_has_unit_dc_gain(basis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.FitQualityWarning)
        for kernel in (psf.gaussian(1.0), psf.gaussian(0.7, 1.6), psf.disk(2.0)):
            for options in ({}, {"mode": "2d", "radius": 4}) if basis == "fir" else ({},):
                f = gpudeconv.fit(kernel, noise=0.003, basis=basis, **options)
                assert abs(f.dc_gain - 1.0) < 1e-12, (basis, options, f.dc_gain)
                assert abs(f.kernel().sum() - 1.0) < 1e-12


def test_kernel_geometry_is_read_from_the_kernel_source():
    from gpudeconv.core._resources import kernel_source
    from gpudeconv.engine.backends import kernels

    source = kernel_source("deconv.cu")
    assert f"#define GPUDECONV_BLOCK_X {kernels.BLOCK[0]}" in source
    assert kernels.TILE[1] == kernels.kernel_define("GPUDECONV_BLOCK_Y") * kernels.kernel_define(
        "GPUDECONV_ROWS"
    )
    common = kernel_source("common.cuh")
    for name in FRAME_BOUNDARIES:
        assert f"#define {BOUNDARIES[name].kernel} {kernels.border_code(name)}" in common
    with pytest.raises(KeyError):
        kernels.kernel_define("GPUDECONV_NOT_THERE")
