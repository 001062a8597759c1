"""The README is short, its status numbers come from bench results, its Python runs.

Issue 32: a newcomer reads the README in five minutes (≤ 200 lines), and every number in
its status table is in the result file of the benchmark the row names, so the table
cannot drift from what was measured.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from bench import pages

README = Path(__file__).resolve().parent.parent / "README.md"
NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?")


def _status_rows() -> list[tuple[str, str, str]]:
    text = README.read_text()
    table = text.split("## Status", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("part", "---"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 200


def test_status_table_has_a_row_per_part_and_names_real_benchmarks():
    rows = _status_rows()
    assert len(rows) >= 10
    for part, _, bench in rows:
        assert bench == "—" or bench in pages.PAGES, (part, bench)


@pytest.mark.parametrize(("part", "measured", "bench"), _status_rows())
def test_every_status_number_is_in_its_benchmark_result(part, measured, bench):
    if bench == "—":
        assert not NUMBER.search(measured), f"{part}: a number without a benchmark"
        return
    source = pages.page(bench)
    found = {float(n) for n in NUMBER.findall(source.replace("−", "-"))}
    # Also the unsigned values ("+2.43" is shown as a gain; the page may write 2.43).
    found |= {abs(n) for n in found}
    for number in NUMBER.findall(f"{part} {measured}"):
        assert float(number) in found or abs(float(number)) in found, (
            f"{part}: {number} is not in bench/results/{pages.source(bench)}.json's report"
        )


def test_readme_python_runs(tmp_path, monkeypatch):
    """The Python block as written, on a real photograph and two frames."""
    import cv2
    import skimage.data

    code = README.read_text().split("**Python.**", 1)[1].split("```python", 1)[1]
    code = code.split("```", 1)[0]
    photo = np.ascontiguousarray(skimage.data.astronaut()[:96, :128, ::-1])
    monkeypatch.chdir(tmp_path)
    assert cv2.imwrite("photo.jpg", photo)
    frames = [np.zeros((1080, 1920, 3), np.uint8), np.full((1080, 1920, 3), 77, np.uint8)]
    namespace = {"frames": frames}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["sharp"].shape == photo.shape
    assert np.all(frames[1] == 77)  # a constant frame stays constant, in place
