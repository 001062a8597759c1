"""Sphinx configuration of gpudeconv's documentation site (``make docs``).

Guides and pages are MyST Markdown; the API reference is generated from the numpydoc
docstrings; the gallery (``examples/``) runs at build time through sphinx-gallery, each
example drawing its own before/after figure; the benchmark pages are rendered from
``bench/results/*.json`` by the benchmarks' own report code (``bench.pages``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.pages renders the benchmark pages

import gpudeconv  # noqa: E402

project = "gpudeconv"
author = "the gpudeconv developers"
copyright = "2026, the gpudeconv developers"  # noqa: A001 (Sphinx's name)
release = version = gpudeconv.__version__

extensions = [
    "myst_parser",
    "sphinx_design",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/README.txt", "**.ipynb_checkpoints"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
}

html_theme = "pydata_sphinx_theme"
html_title = "gpudeconv"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
}
html_sidebars = {"index": [], "architecture": [], "safety": []}
smartquotes = False  # `--psf` in the benchmark reports must stay two hyphens


def _benchmark_pages(app) -> None:
    """Write benchmarks/<name>.md from bench/results/<name>.json before the build reads."""
    from bench import pages

    out = Path(app.srcdir) / "benchmarks"
    out.mkdir(exist_ok=True)
    for name in pages.PAGES:
        text = pages.page(name)
        target = out / f"{name}.md"
        if not target.exists() or target.read_text() != text:  # keep mtimes: no rebuild
            target.write_text(text)


def _top_level_names(app, env, node, contnode):
    """Link ``gpudeconv.Pipeline`` to where it is documented (``gpudeconv.engine.pipeline``).

    The package re-exports the names people use; the API reference documents each once, in
    its layer. A reference by the short name resolves to the object's own module path.
    """
    import importlib

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("gpudeconv."):
        return None
    parts = target.split(".")
    obj = importlib.import_module(parts[0])
    for attr in parts[1:]:
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or f"{module}.{name}" == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], f"{module}.{name}", node, contnode
    )


def setup(app) -> None:
    """Generate the benchmark pages; resolve the package's short names."""
    app.connect("builder-inited", _benchmark_pages)
    app.connect("missing-reference", _top_level_names)
