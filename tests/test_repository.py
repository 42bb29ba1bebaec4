"""The repository carries its own contract: a clone has no file beside it, so no file may link or cite
anything outside it (the product specification is docs/spec.md, cited as `docs/spec.md §2.3`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SPEC = REPOSITORY / "docs" / "spec.md"
# A specification beside the repository, by path or by name, or a machine's own folder. (This file names
# them, so it is the one file not read.)
OUTSIDE = re.compile(r"\.\./shared|\bSPEC(\.md|'s|\s*§)|/work/")
# Applied migrations keep their text: every warehouse holds its checksum (db/migrate.py refuses a changed one),
# so their citations under the specification's former name stay; docs/spec.md says what they mean.
FROZEN = REPOSITORY / "src" / "streamvault" / "db" / "migrations"
FROZEN_OUTSIDE = re.compile(r"\.\./shared|/work/")
LINK = re.compile(r"\]\(([^)\s]+)\)")
CITATION = re.compile(r"(?:docs/spec\.md|SPEC) §(\d+(?:\.\d+)*)")  # SPEC: the frozen migrations


def _texts() -> dict[Path, str]:
    """Every file of the repository (committed or new, not ignored) that is text."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPOSITORY,
                            capture_output=True, check=True).stdout.decode().split("\0")
    texts = {}
    for name in filter(None, listed):
        path = REPOSITORY / name
        if path.is_file() and path != Path(__file__).resolve():
            try:
                texts[path] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return texts


def test_no_file_cites_or_links_a_specification_outside_the_repository():
    offenders = [f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}"
                 for path, text in _texts().items() for number, line in enumerate(text.splitlines(), 1)
                 if (FROZEN_OUTSIDE if path.is_relative_to(FROZEN) else OUTSIDE).search(line)]
    assert offenders == []


def test_every_relative_link_in_the_docs_points_at_a_file_of_the_repository():
    broken = []
    for path, text in _texts().items():
        if path.suffix != ".md":
            continue
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:|#", target):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(REPOSITORY) or not resolved.exists():
                broken.append(f"{path.relative_to(REPOSITORY)}: {target}")
    assert broken == []


def test_every_cited_section_of_the_specification_exists():
    sections = set(re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", SPEC.read_text(), re.MULTILINE))
    cited = {(section, path.relative_to(REPOSITORY)) for path, text in _texts().items()
             for section in CITATION.findall(text)}
    assert cited, "nothing cites docs/spec.md"
    assert {(section, str(path)) for section, path in cited if section not in sections} == set()
