"""The documentation reads on its own: every page indexed, every link resolves, no pointer outside the repository.

A reader has the repository and nothing else, so docs/ and the README must not
send them to files they do not have (a specification or paper text kept
beside the project), to issue numbers of the project's tracker, or to "the
spec".  The README's Python snippet that loads a shipped policy is executed,
so it cannot go stale.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]

OUTSIDE_POINTERS = {
    "a path outside the repository": re.compile(r"\.\./shared|shared/(?:spec|reference)"),
    "the specification file": re.compile(r"MODEL\.md"),
    "the paper's extracted text": re.compile(r"paper\.txt"),
    "an issue number": re.compile(r"\bissues? #?\d", re.IGNORECASE),
    "an issue of the tracker": re.compile(r"\bthe issue\b", re.IGNORECASE),
    "the spec": re.compile(r"\bspec\b(?!\.)"),
}
"""What a page must not contain: each names something a reader of the repository does not have."""

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)


def _text_outside_code(path: Path) -> str:
    return CODE_BLOCK.sub("", path.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", _text_outside_code(path), flags=re.MULTILINE)
    return {_slug(h) for h in headings}


def _relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(_text_outside_code(path))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


def test_every_docs_page_is_in_the_index():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    listed = {target.split("#")[0] for target in LINK.findall(index)}
    missing = [page.name for page in DOCS.glob("*.md") if page.name != "README.md" and page.name not in listed]
    assert not missing, f"docs/README.md does not list {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in _relative_links(page):
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(target)
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.name}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pointer_outside_the_repository(page):
    found = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        for what, pattern in OUTSIDE_POINTERS.items():
            if pattern.search(line):
                found.append(f"line {number}: {what}: {line.strip()}")
    assert not found, f"{page.name}:\n" + "\n".join(found)


def test_the_pointer_check_catches_pointers():
    """Negative control: each pattern fires on the kind of line it exists to reject, and not on ordinary prose."""
    bad = ["see ../shared/spec/MODEL.md", "as issue 4 says", "the spec's calibration", "(spec 4.5)",
           "text in paper.txt", "the issue's baseline"]
    for line in bad:
        assert any(p.search(line) for p in OUTSIDE_POINTERS.values()), line
    fine = ["the specification of the model", "env.spec.id", "a Dynare .mod file", "Issues are welcome"]
    for line in fine:
        assert not any(p.search(line) for p in OUTSIDE_POINTERS.values()), line


def test_code_docstrings_point_inside_the_repository():
    """Users read docstrings too: no path outside the repository, no specification file, no paper text."""
    patterns = [OUTSIDE_POINTERS[k] for k in ("a path outside the repository", "the specification file",
                                              "the paper's extracted text")]
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for folder in ("econ", "rl", "validation", "benchmarks")
                 for path in sorted((ROOT / folder).rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if any(p.search(line) for p in patterns)]
    assert not offenders, offenders


def _readme_python_block(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(heading)
    match = re.search(r"```python\n(.*?)```", text[start:], flags=re.DOTALL)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_readme_snippet_loads_and_steps_the_shipped_policy():
    """The README's loading snippet runs as printed, from the repository root, and the household's utility is finite."""
    code = _readme_python_block("## Loading a shipped policy")
    assert "load_model" in code and "make_vec_env" in code
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    value = float(done.stdout.strip().rsplit(":", 1)[1])
    assert np.isfinite(value), done.stdout
