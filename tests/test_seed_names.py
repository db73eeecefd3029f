"""Every notebook names each seed text by one short name, the one notebook 0's
sources table gives it: "the notes" was one seed in 03 and 07 and another in
04 and 06, "the lecture" was sometimes the lecture notes and sometimes the
optimization lecture."""
import json
import re

import pytest

from course_grader.course import REPO, SOLUTIONS

SHORT_NAMES = {  # short name -> the seed's title, as notebook 0's table gives them
    "the report": "Deep Learning Assignment 1: MLPs, CNNs and Backpropagation",
    "the lecture notes": "Neural Networks and Introduction to Deep Learning",
    "the 2018 notes": "Neural Networks",
    "the thesis": "thesis on deep learning, wavelets and the scattering transform",
    "the optimization lecture": "Optimization",
}
# Names that leave the reader to guess the seed (each found in a notebook once).
AMBIGUOUS = [
    (r"\b[Tt]he notes\b", "the notes"),                                  # which notes?
    (r"(?<!lecture )(?<!2018 )(?<![Tt]he )\bnotes'", "notes'"),
    (r"\([Nn]otes\b", "(notes"),
    (r"\b[Tt]he lecture\b(?! notes)", "the lecture"),                    # notes or optimization?
    (r"(?<!optimization )(?<![Tt]he )\blecture's", "lecture's"),
    (r"\bneural[- ]networks? notes\b", "neural-network notes"),
    (r"\bthesis chapter\b", "thesis chapter"),
    (r"\b(?:seed|student) report\b", "seed report / student report"),
]
NOTEBOOKS = sorted((REPO / SOLUTIONS).glob("*/*.ipynb"))


def cells_of(path):
    return [(cell.get("id", "?"), "".join(cell["source"])) for cell in json.loads(path.read_text())["cells"]]


def ambiguous_names(text: str) -> list[str]:
    return [f"{name!r} in ...{text[max(0, m.start() - 40):m.end() + 40]!r}..."
            for pattern, name in AMBIGUOUS for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_each_seed_is_called_by_its_short_name(path):
    found = [f"cell {cell_id}: {hit}" for cell_id, text in cells_of(path) for hit in ambiguous_names(text)]
    assert not found, (f"{path.parent.name} names a seed text ambiguously; use the short names of notebook "
                       f"0's sources table ({', '.join(SHORT_NAMES)}):\n" + "\n".join(found))


def test_the_check_finds_what_it_is_for():
    assert ambiguous_names("as the notes' eq. 14 says") and ambiguous_names("The lecture claims")
    assert ambiguous_names("the lecture's listing") and ambiguous_names("the seed report used")
    assert not ambiguous_names("the lecture notes' eq. 4, the 2018 notes' eq. 14, "
                               "the optimization lecture's listing, the thesis, the report; she notes that")


def test_notebook_0_lists_every_seed_with_its_short_name_and_title():
    (path,) = (REPO / SOLUTIONS).glob("00_*/*.ipynb")
    rows = [line for _, text in cells_of(path) for line in text.splitlines() if line.startswith("| **")]
    assert [re.match(r"\| \*\*(.+?)\*\*", row).group(1) for row in rows] == list(SHORT_NAMES)
    for row, title in zip(rows, SHORT_NAMES.values()):
        assert title in row and row.count("|") == 6, row
