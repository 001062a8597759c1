# Every target creates .venv when it is missing: a fresh clone needs only Python, g++ and nvcc.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

$(VENV)/.installed-docs: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test,docs]'
	touch $@

.PHONY: docs test system-deps demo bench bench-quick bench-peers bench-gpu gpu-check lint clean

# CuPy wheel for bench-gpu: cuda12 or cuda13, matching the machine's driver.
CUDA_EXTRA ?= cuda12

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check gpudeconv tests bench demos
	$(VENV)/bin/ruff format --check gpudeconv tests bench demos
	$(VENV)/bin/lint-imports --no-cache

test: lint system-deps
	$(PY) -m pytest

# The shader tests need glslang (HLSL -> SPIR-V) and Mesa's EGL with llvmpipe; the host-
# program tests (issue 29) need ffmpeg with libplacebo on Mesa's Vulkan (lavapipe), Xvfb,
# mpv, vkcube and vkBasalt. Installed here when missing and apt-get can (root, or sudo
# without a password); otherwise those tests skip and say why.
HOST_PROGRAMS := glslangValidator ffmpeg xvfb-run mpv vkcube
system-deps:
	@if (for p in $(HOST_PROGRAMS); do command -v $$p >/dev/null || exit 1; done) \
	   && /sbin/ldconfig -p | grep -q libEGL_mesa \
	   && [ -e /usr/share/vulkan/implicit_layer.d/vkBasalt.json ] \
	   && [ -n "$$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null)" ]; then :; \
	else SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends \
	    glslang-tools libegl1 libegl-mesa0 libgl1-mesa-dri ffmpeg mesa-vulkan-drivers \
	    libvulkan1 xvfb xauth mpv vulkan-tools vkbasalt; } >/dev/null 2>&1 \
	  || echo "note: could not install the shader / host-program tools: those tests will skip"; fi

# The documentation site, warnings as errors: docs/_build/html/index.html. The gallery's
# examples run during the build (about a minute on 2 cores).
docs: $(VENV)/.installed-docs
	$(VENV)/bin/sphinx-build -W --keep-going -b html -q docs docs/_build/html

demo: $(VENV)/.installed-bench
	$(VENV)/bin/gpudeconv live --frames 150 --output demo_output.mp4 --overwrite

bench: $(VENV)/.installed-bench
	$(PY) -m bench.quality
	$(PY) -m bench.throughput
	$(PY) -m bench.cpu_pipeline
	$(PY) -m bench.pareto
	$(PY) -m bench.blind
	$(PY) -m bench.camera
	$(PY) -m bench.video
	$(PY) -m bench.render

# The heavy peers (PyTorch ~1.5 GB, then Polyblur built against it); the benchmarks
# report rows without them as "not installed".
bench-peers: $(VENV)/.installed-bench
	$(PY) -m pip install --quiet torch
	$(PY) -m pip install --quiet --no-build-isolation polyblur

bench-quick: $(VENV)/.installed-bench
	$(PY) -m bench.quality --quick
	$(PY) -m bench.throughput --quick
	$(PY) -m bench.cpu_pipeline --quick
	$(PY) -m bench.blind --quick

bench-gpu: $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[bench,$(CUDA_EXTRA)]'
	$(PY) -m bench.gpu

# The first minutes on a GPU: every cuda test, then bench.gpu --quick, results in
# bench/results/gpu-<host>-<date>.json|md. Uses this Python if it has CuPy, else .venv.
# No device: one line and a non-zero exit. GPU_CHECK_ARGS="--copy-to $$OUT" copies results.
gpu-check:
	$(PYTHON) bench/gpu_check.py $(GPU_CHECK_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
