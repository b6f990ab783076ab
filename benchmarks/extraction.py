"""Extraction quality: how much of each test page's and PDF's article storybot gets, and how little else.

    python benchmarks/extraction.py                   # every page and PDF, then the totals
    python benchmarks/extraction.py --pypdf-baseline  # also pypdf's plain text (pip install pypdf)

For each document in tests/data/pages/ and tests/data/pdfs/ with a NAME.gold.txt beside it,
the article is extracted with `extract_story` and compared with the gold, sentence by sentence
(sentences cut by storybot's own splitter, white space normalised):

- recall: the share of the gold's sentences that the extracted text contains;
- precision: the share of the extracted sentences that the gold article contains;
- paragraphs: how many gold paragraphs come out exactly as one stored paragraph;
- meta: whether the title, date, author and source match the gold's front matter (`-` where
  the gold has none).

Documents without a gold file must be refused; the reason is printed, and the script exits 1
if one is not (or a document with a gold file is). The tests in tests/test_extract_*.py hold
floors a little below these figures. `--pypdf-baseline` scores pypdf's plain text, made into
paragraphs as well as it allows without line geometry, against the same PDFs: the measurement
behind reading PDFs with pdfminer.six instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from index.corpus.extract import extract_story  # noqa: E402
from index.corpus.sentences import split_sentences  # noqa: E402
from index.corpus.stories import Story, parse_story  # noqa: E402
from index.errors import ExtractionError  # noqa: E402

PAGES = REPO / "tests" / "data" / "pages"
PDFS = REPO / "tests" / "data" / "pdfs"
META_KEYS = ("title", "date", "author", "source")


@dataclass(frozen=True)
class Score:
    gold_sentences: int
    found: int  # gold sentences the extraction contains
    extracted_sentences: int
    kept: int  # extracted sentences the gold contains
    gold_paragraphs: int
    exact_paragraphs: int
    extracted_paragraphs: int

    @property
    def recall(self) -> float:
        return self.found / self.gold_sentences if self.gold_sentences else 1.0

    @property
    def precision(self) -> float:
        return self.kept / self.extracted_sentences if self.extracted_sentences else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(*(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))

    def counts(self) -> tuple[int, ...]:
        return (
            self.gold_sentences,
            self.found,
            self.extracted_sentences,
            self.kept,
            self.gold_paragraphs,
            self.exact_paragraphs,
            self.extracted_paragraphs,
        )


ZERO = Score(0, 0, 0, 0, 0, 0, 0)


def normalise(text: str) -> str:
    return " ".join(text.split())


def sentences(paragraphs: tuple[str, ...] | list[str]) -> list[str]:
    return [normalise(p[a:b]) for p in paragraphs for a, b in split_sentences(p)]


def score(gold: tuple[str, ...] | list[str], extracted: tuple[str, ...] | list[str]) -> Score:
    """Sentence recall and precision of `extracted` against `gold`, and exact paragraphs."""
    gold_text, extracted_text = normalise(" ".join(gold)), normalise(" ".join(extracted))
    gold_sentences, extracted_sentences = sentences(gold), sentences(extracted)
    extracted_set = {normalise(p) for p in extracted}
    return Score(
        gold_sentences=len(gold_sentences),
        found=sum(s in extracted_text for s in gold_sentences),
        extracted_sentences=len(extracted_sentences),
        kept=sum(s in gold_text for s in extracted_sentences),
        gold_paragraphs=len(gold),
        exact_paragraphs=sum(normalise(p) in extracted_set for p in gold),
        extracted_paragraphs=len(extracted),
    )


def load_gold(document: Path) -> Story | None:
    gold = document.with_name(document.stem + ".gold.txt")
    return parse_story(gold.read_bytes(), gold.name) if gold.exists() else None


def documents() -> list[Path]:
    return sorted(PAGES.glob("*.html")) + sorted(PDFS.glob("*.pdf"))


def meta_marks(gold: Story, found: dict[str, str | None]) -> str:
    marks = []
    for key in META_KEYS:
        expected = getattr(gold, key)
        if expected is None:
            marks.append("-")
        else:
            marks.append("ok" if found.get(key) == expected else "NO")
    return " ".join(f"{mark:>3}" for mark in marks)


def pypdf_paragraphs(data: bytes) -> list[str]:
    """pypdf's plain text made into paragraphs the best way its public API allows: it gives no
    line widths, so a paragraph ends at a blank line or at a short line that ends a sentence."""
    from io import BytesIO

    from pypdf import PdfReader

    from index.corpus.extract.hyphens import Vocabulary, join_lines

    lines: list[str] = []
    for page in PdfReader(BytesIO(data)).pages:
        page_lines = [normalise(line) for line in page.extract_text().split("\n")]
        lines.extend(line for line in page_lines if line and not line.strip("-–— ").isdigit())
        lines.append("")
    lengths = sorted(len(line) for line in lines if line)
    typical = lengths[len(lengths) * 3 // 4] if lengths else 0
    vocabulary = Vocabulary(lines)
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        if not line or (line.endswith((".", '"', "”")) and len(line) < 0.85 * typical):
            paragraphs.append([])
    return [join_lines(group, vocabulary) for group in paragraphs if group]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pypdf-baseline", action="store_true", help="also score pypdf's plain text on the PDFs")
    args = parser.parse_args()
    if args.pypdf_baseline and importlib.util.find_spec("pypdf") is None:
        parser.error("--pypdf-baseline needs pypdf, which storybot does not install: pip install pypdf")
    totals: dict[str, Score] = {}
    header = f"{'kind':<5} {'document':<28} {'sent':>5} {'recall':>7} {'precision':>9} {'paragraphs':>11}"
    print(header + "  meta(t d a s)   secs")
    refusals = []
    for path in documents():
        kind = path.suffix.lstrip(".")
        gold = load_gold(path)
        started = time.perf_counter()
        try:
            story = extract_story(path.read_bytes(), filename=path.name)
        except ExtractionError as exc:
            refusals.append(f"{path.name}: refused ({'expected' if gold is None else 'UNEXPECTED'}): {exc}")
            continue
        seconds = time.perf_counter() - started
        if gold is None:
            refusals.append(f"{path.name}: NOT REFUSED, though it has no article")
            continue
        result = score(gold.paragraphs, story.paragraphs)
        totals[kind] = totals.get(kind, ZERO) + result
        found = {"title": story.title, "date": story.date, "author": story.author, "source": story.source}
        print(_row(kind, path.stem, result) + f"  {meta_marks(gold, found)}  {seconds:5.2f}")
    for kind, total in totals.items():
        print(_row(kind, "TOTAL", total))
    if args.pypdf_baseline:
        baseline = ZERO
        for path in sorted(PDFS.glob("*.pdf")):
            gold = load_gold(path)
            if gold is not None:
                result = score(gold.paragraphs, pypdf_paragraphs(path.read_bytes()))
                baseline += result
                print(_row("pypdf", path.stem, result))
        print(_row("pypdf", "TOTAL", baseline))
    for line in refusals:
        print(line)
    return 1 if any("UNEXPECTED" in line or "NOT REFUSED" in line for line in refusals) else 0


def _row(kind: str, name: str, result: Score) -> str:
    paragraphs = f"{result.exact_paragraphs}/{result.gold_paragraphs} of {result.extracted_paragraphs}"
    return (
        f"{kind:<5} {name:<28} {result.gold_sentences:>5} {result.recall:>7.3f} {result.precision:>9.3f} "
        f"{paragraphs:>11}"
    )


if __name__ == "__main__":
    sys.exit(main())
