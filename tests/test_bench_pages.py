"""The documentation's benchmark pages are rendered from the saved JSON (issue 32).

Each page goes through the benchmark's own ``markdown()``; the test holds it to the
``.md`` the run wrote beside the JSON, so a page and the report cannot drift apart, and
every full-run result in ``bench/results`` has a page.
"""

import pytest

from bench import pages


@pytest.mark.parametrize("name", list(pages.PAGES))
def test_page_is_the_runs_own_report_rendered_from_its_json(name):
    saved = (pages.RESULTS / f"{pages.source(name)}.md").read_text().strip()
    text = pages.page(name)
    lines = text.splitlines()
    assert lines[0].startswith("# ") and sum(line.startswith("# ") for line in lines) == 1
    assert f"bench/results/{pages.source(name)}.json" in lines[2]
    body = "\n".join(lines[4:]).strip()
    if saved.startswith("# "):  # the report's own title is the page's
        assert lines[0] == saved.splitlines()[0]
        saved = saved.split("\n", 1)[1].strip()
    assert body == saved


def test_every_full_run_result_has_a_page():
    results = {p.stem for p in pages.RESULTS.glob("*.json") if "-quick" not in p.stem}
    shown = {pages.source(name) for name in pages.PAGES}
    assert results - shown == set()
    assert shown - results == set()


def test_pages_are_written_into_a_folder(tmp_path):
    assert pages.main([str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.md")) == sorted(pages.PAGES)
