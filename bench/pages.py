"""Each benchmark's report, rendered from its saved ``bench/results/<name>.json``.

The documentation site builds its benchmark pages with :func:`page` at build time (issue
32), so a page always shows what the last run wrote, through the same ``markdown()`` the
run itself printed — no table is pasted by hand. ``python -m bench.pages OUT`` writes
every page into ``OUT``.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _blind(data: dict) -> str:
    from bench.blind import CellResult, markdown

    cells = [CellResult(**{**c, "cell": tuple(c["cell"])}) for c in data["cells"]]
    return markdown(cells, data["summary"], data["never_harm"], data["speed"], data["targets"])


def _camera(data: dict) -> str:
    from bench.camera import Cell, markdown

    cells = [
        Cell(**{**c, "scores": {k: tuple(v) for k, v in c["scores"].items()}})
        for c in data["cells"]
    ]
    return markdown(
        cells, data["summary"], data["clip"], data["stability"], data["cost"], data["targets"]
    )


def _stills(data: dict) -> str:
    from bench.stills import markdown

    first = next(iter(data["summary"]["cells"].values()))
    methods = [k.split(":", 1)[1] for k in first if k.startswith("psnr:") and k != "psnr:blurred"]
    return markdown(data["summary"], data["seconds_per_megapixel"], methods)


def _render(data: dict) -> str:
    from bench.render import table

    return table(data)


def _shader_cost(data: dict) -> str:
    from bench.shader_cost import table

    return table(data["costs_ms_1080p"], data["renderer"])


def _simple(module: str, *keys: str) -> Callable[[dict], str]:
    """A report whose ``markdown`` takes the saved JSON's ``keys`` (or all of it)."""

    def render(data: dict) -> str:
        markdown = importlib.import_module(f"bench.{module}").markdown
        return markdown(*(data[k] for k in keys)) if keys else markdown(data)

    return render


#: the result file a page shows, where its name is not the page's
SOURCES = {
    "throughput": "throughput-vm-2026-12-01",
    "shader_cost": "shader-cost-llvmpipe-llvm-15-0-6-256-bits-2026-12-02",
}

#: page name -> (page title, renderer of its JSON)
PAGES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "quality": ("Quality of the fitted filters against the Wiener optimum", _simple("quality")),
    "throughput": ("Throughput, every backend", _simple("throughput")),
    "cpu_pipeline": ("CPU pipeline against the unsharp mask", _simple("cpu_pipeline", "rows")),
    "blind": ("Blind restoration (auto) on lossless photographs", _blind),
    "camera": ("Auto on camera-like frames: JPEG, H.264, sensor noise", _camera),
    "video": ("Video files: quality and throughput", _simple("video", "quality", "throughput")),
    "stills": ("Stills: iterative restoration", _stills),
    "stills_blind": (
        "Stills: blind camera-shake kernels (synthetic set)",
        _simple("stills_blind", "summary", "seconds_per_megapixel"),
    ),
    "levin": ("Levin et al.'s camera-shake benchmark", _simple("levin", "rows", "summary")),
    "bigimage": ("Images larger than memory", _simple("bigimage", "row")),
    "batch": ("Batches of files", _simple("batch", "rows")),
    "memory": ("Host memory per frame", _simple("memory", "rows")),
    "soak": ("Soak: memory over thousands of frames", _simple("soak", "rows")),
    "device_memory": ("Device memory of the CUDA backend", _simple("device_memory")),
    "render": ("Shaders against the sharpeners engines use (CAS, RCAS)", _render),
    "host_programs": (
        "Hooks in ffmpeg + libplacebo: cost per frame",
        _simple("host_programs", "rows"),
    ),
    "shader_cost": (
        "Shader cost at 1080p (llvmpipe)",
        _shader_cost,
    ),
}


def source(name: str) -> str:
    """The stem of the result file (``bench/results/<stem>.json``) page ``name`` shows."""
    return SOURCES.get(name, name)


def page(name: str, folder: Path = RESULTS) -> str:
    """The Markdown page ``name``: its title, then the run's own report from its JSON."""
    title, render = PAGES[name]
    data = json.loads((folder / f"{source(name)}.json").read_text())
    machine = data.get("machine") or {}
    where = ", ".join(f"{k} {v}" for k, v in machine.items() if k in ("cpu", "cores", "gpu"))
    origin = f"*Rendered from `bench/results/{source(name)}.json`*"
    origin += f" *({where})*." if where else "."
    report = render(data).strip()
    if report.startswith("# "):  # the report's own title leads; the page's is not added
        heading, _, rest = report.partition("\n")
        return f"{heading}\n\n{origin}\n\n{rest.strip()}\n"
    return f"# {title}\n\n{origin}\n\n{report}\n"


def main(argv: list[str] | None = None) -> int:
    """Write every page as ``<name>.md`` into the folder given (default: print the names)."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("\n".join(PAGES))
        return 0
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        (out / f"{name}.md").write_text(page(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
