"""``make gpu-check``: the first minutes on a real GPU, prepared to pass.

1. Is there a CUDA device? (``nvidia-smi``.) If not: one line, exit status 1.
2. A Python with CuPy: the one running this if it has CuPy (a prepared GPU image), else
   ``.venv`` with ``gpudeconv[test,bench,cudaNN]`` installed, ``NN`` the driver's CUDA
   major version (CuPy 14 with its ``[ctk]`` headers).
3. Every ``cuda``-marked test (``pytest -m cuda`` over the files that have them), with the
   project's own pytest settings, except that third-party Deprecation/FutureWarnings are
   shown instead of failing the run (a first GPU run should report them, not die on them).
4. ``bench/gpu.py --quick``: writes ``bench/results/gpu-<host>-<date>.json`` and ``.md``;
   the test results are added to both.
5. ``bench/shader_cost.py``: the exported shaders against CAS and RCAS on the GPU's own
   OpenGL driver (EGL device platform), when the machine has EGL; otherwise one line
   saying why not (not a failure: the CUDA path is what this check is for).
6. A short summary: tests passed/failed, 1080p/4K kernel µs, share of the copy bandwidth,
   streaming fps, shader ms; exit status non-zero on any CUDA test or benchmark failure.

Stdlib only until the interpreter is chosen. ``--copy-to DIR`` also copies the results and
logs there (the device tool's ``$OUT``). Run: ``python3 bench/gpu_check.py`` (what ``make
gpu-check`` does).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: Test files that hold cuda-marked tests (they skip without a device; here they run).
CUDA_TEST_FILES = (
    "tests/test_pipeline.py",
    "tests/test_backends.py",
    "tests/test_cuda_kernels.py",
    "tests/test_wiener.py",
)


def no_device_reason() -> str | None:
    """Why there is no usable NVIDIA GPU here, or None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "nvidia-smi not found"
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    if listed.returncode != 0 or "GPU" not in listed.stdout:
        return f"nvidia-smi lists no GPU ({(listed.stderr or listed.stdout).strip()[:120]})"
    return None


def cuda_major() -> int:
    """The CUDA major version the driver supports, from nvidia-smi's header."""
    text = subprocess.run(["nvidia-smi"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"CUDA Version:\s*(\d+)", text)
    return int(found.group(1)) if found else 12


def python_with_cupy(log: list[str]) -> str:
    """An interpreter that imports CuPy: this one, or .venv after installing the extra."""
    probe = "import cupy, numpy, scipy, cv2, pytest"
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0:
        log.append(f"using {sys.executable} (CuPy already installed)")
        return sys.executable
    venv = ROOT / ".venv" / "bin" / "python"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ROOT / ".venv")], check=True)
    extra = "cuda13" if cuda_major() >= 13 else "cuda12"
    log.append(f"installing gpudeconv[test,bench,{extra}] into .venv")
    subprocess.run(
        [str(venv), "-m", "pip", "install", "--quiet", "-e", f".[test,bench,{extra}]"],
        cwd=ROOT,
        check=True,
    )
    return str(venv)


def run_tests(python: str, junit: Path, log_path: Path) -> dict:
    """The cuda-marked tests; returns counts and the names of failures."""
    command = [
        python,
        "-m",
        "pytest",
        "-m",
        "cuda",
        "-q",
        "-rA",
        "-p",
        "no:cacheprovider",
        "-W",
        "default::DeprecationWarning",
        "-W",
        "default::FutureWarning",
        f"--junitxml={junit}",
        *CUDA_TEST_FILES,
    ]
    start = time.perf_counter()
    with log_path.open("w") as log:
        result = subprocess.run(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    summary = {"command": " ".join(command[1:]), "exit_status": result.returncode}
    summary["seconds"] = round(time.perf_counter() - start, 1)
    if junit.exists():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        counts["passed"] = (
            counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
        )
        summary.update(counts)
        summary["failed"] = [
            f"{case.get('classname')}::{case.get('name')}"
            for case in suite.iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None
        ]
    return summary


def run_bench(python: str, log_path: Path) -> tuple[int, Path | None]:
    """bench/gpu.py --quick; returns its exit status and the JSON it wrote."""
    with log_path.open("w") as log:
        result = subprocess.run(
            [python, "-m", "bench.gpu", "--quick", "--out", str(RESULTS)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    stem = f"gpu-{platform.node() or 'host'}-{date.today().isoformat()}"
    path = RESULTS / f"{stem}.json"
    return result.returncode, path if path.exists() else None


def run_shader_cost(python: str, log_path: Path) -> list[str]:
    """bench/shader_cost.py on this machine's GL driver: its table, or why it did not run."""
    with log_path.open("w") as log:
        result = subprocess.run(
            [python, "-m", "bench.shader_cost", "--out", str(RESULTS)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = log_path.read_text().strip().splitlines()
    if result.returncode != 0:
        return [f"shaders: not timed ({(text or ['no output'])[-1][:160]})"]
    return ["shaders (OpenGL):", *[f"  {line}" for line in text if line.startswith(("|", "T"))]]


def summary_lines(tests: dict, bench: dict | None, bench_status: int) -> list[str]:
    """What a person reads first."""
    lines = [
        f"tests: {tests.get('passed', '?')} passed, {tests.get('failures', '?')} failed, "
        f"{tests.get('errors', '?')} errors, {tests.get('skipped', '?')} skipped "
        f"({tests.get('seconds')} s)"
    ]
    lines += [f"  FAILED {name}" for name in tests.get("failed", [])]
    if bench is None:
        lines.append(f"bench.gpu: failed (exit status {bench_status}); see gpu-check-bench.log")
        return lines
    lines.append(f"GPU: {bench['device'].get('gpu')}, CuPy {bench['device'].get('cupy')}")
    for size, row in bench["sizes"].items():
        parts = [
            f"{basis} {row[basis]['us']:.0f} µs ({row[basis]['pct_of_copy_bandwidth']:.0f}% of "
            f"copy bandwidth, {row[basis]['speedup_vs_cupyx']:.1f}x cupyx)"
            for basis in ("gauss-lap", "atrous")
        ]
        lines.append(f"{size}: " + "; ".join(parts))
    stream = bench["streaming"]
    lines.append(
        f"streaming: {stream['fps']:.0f} fps, {stream['ratio_to_round_trip']:.2f}x a pinned "
        "round trip"
    )
    lines += bench.get("verdicts", [])
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copy-to", help="also copy results and logs here (e.g. $OUT)")
    args = parser.parse_args(argv)
    reason = no_device_reason()
    if reason:
        print(f"gpu-check: no CUDA device ({reason})")
        return 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    python = python_with_cupy(log)
    test_log, bench_log = RESULTS / "gpu-check-tests.log", RESULTS / "gpu-check-bench.log"
    tests = run_tests(python, RESULTS / "gpu-check-junit.xml", test_log)
    bench_status, bench_path = run_bench(python, bench_log)
    bench = json.loads(bench_path.read_text()) if bench_path else None
    if bench_path is not None and bench is not None:
        bench["tests"] = tests
        bench["gpu_check_log"] = log
        bench_path.write_text(json.dumps(bench, indent=1))
        md = bench_path.with_suffix(".md")
        md.write_text(
            md.read_text() + "\n## Tests\n\n```json\n" + json.dumps(tests, indent=1) + "\n```\n"
        )
    shader_log = RESULTS / "gpu-check-shaders.log"
    lines = summary_lines(tests, bench, bench_status) + run_shader_cost(python, shader_log)
    print("\n".join(["gpu-check:", *log, *lines]))
    if args.copy_to:
        for path in [
            test_log,
            bench_log,
            shader_log,
            *(RESULTS.glob("shader-cost-*")),
            *(RESULTS.glob("gpu-*.json")),
            *(RESULTS.glob("gpu-*.md")),
        ]:
            if path.exists():
                shutil.copy(path, args.copy_to)
    failed = tests.get("exit_status", 1) != 0 or bench_status != 0 or bench is None
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
