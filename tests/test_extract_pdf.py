"""PDFs through the real extractor (pdfminer.six), and the layout rules on hand-made lines.

The PDFs in tests/data/pdfs/ are set like real ones (two columns, hyphenation, running heads,
page numbers, captions, subheads); tests/data/pdfs/make_pdfs.py makes them and their gold files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.extraction import PDFS, ZERO, Score, load_gold, score
from index.corpus.extract import Article, extract_pdf
from index.corpus.extract.hyphens import Vocabulary, join_lines, keeps_hyphen
from index.corpus.extract.pdf_layout import TextLine, is_page_number, paragraphs, reading_order, without_furniture
from index.errors import CorpusError, ExtractionError

TEXT_PDFS = sorted(path for path in PDFS.glob("*.pdf") if load_gold(path) is not None)
PDF_FLOOR = 0.95  # each PDF: sentence recall and precision
TOTAL_FLOOR = 0.98  # all PDFs together (measured: 1.000 and 1.000)


@pytest.fixture(scope="module")
def extracted() -> dict[str, Article]:
    return {path.stem: extract_pdf(path.read_bytes()) for path in TEXT_PDFS}


def test_there_are_two_column_and_single_column_pdfs() -> None:
    names = [path.stem for path in TEXT_PDFS]
    assert len(names) >= 3
    assert any("two_column" in name for name in names)
    assert any("single_column" in name for name in names)


@pytest.mark.parametrize("pdf", TEXT_PDFS, ids=lambda path: path.stem)
def test_each_pdf_gives_its_article_title_and_author(pdf: Path, extracted: dict[str, Article]) -> None:
    gold = load_gold(pdf)
    assert gold is not None
    article = extracted[pdf.stem]
    result = score(gold.paragraphs, article.paragraphs)
    assert result.recall >= PDF_FLOOR, pdf.stem
    assert result.precision >= PDF_FLOOR, pdf.stem
    assert (article.title, article.author) == (gold.title, gold.author)


def test_all_pdfs_together_meet_the_floors_and_keep_their_paragraphs(extracted: dict[str, Article]) -> None:
    total: Score = ZERO
    for pdf in TEXT_PDFS:
        gold = load_gold(pdf)
        assert gold is not None
        total += score(gold.paragraphs, extracted[pdf.stem].paragraphs)
    assert total.recall >= TOTAL_FLOOR
    assert total.precision >= TOTAL_FLOOR
    # Paragraphs rebuilt from the layout, across columns and pages: not one per printed line.
    assert total.exact_paragraphs >= 0.9 * total.gold_paragraphs
    assert total.extracted_paragraphs <= 1.1 * total.gold_paragraphs


@pytest.mark.parametrize(
    "absent",
    [
        "ENGINEERING HERITAGE REVIEW",  # a running head
        "Vol. 12",
        "Figure 1.",  # a caption inside a column
        "Newcomen Society, London",  # a footnote
        "Chapter 4",  # a book's running head beside its folio
        "Briefing note 2016/04",  # a running footer
        "Page 2",
        "CLIMATE POLICY BULLETIN",
        "Membership and structure",  # a subhead in the body's size
        "By Priya Raman",  # a byline
    ],
)
def test_page_furniture_is_left_out(absent: str, extracted: dict[str, Article]) -> None:
    assert not any(absent in paragraph for article in extracted.values() for paragraph in article.paragraphs)


def test_hyphenated_words_are_joined_and_compounds_kept(extracted: dict[str, Article]) -> None:
    text = " ".join(paragraph for article in extracted.values() for paragraph in article.paragraphs)
    gold_text = " ".join(
        paragraph for pdf in TEXT_PDFS if (gold := load_gold(pdf)) is not None for paragraph in gold.paragraphs
    )
    for word in {word.strip('.,;:()"') for word in gold_text.split() if "-" in word}:
        assert text.count(word) >= gold_text.count(word) > 0, word  # every compound kept whole
    assert "Revolu-tion" not in text
    assert "Industrial Revolution" in text


def test_a_generated_title_in_the_metadata_gives_way_to_the_first_large_line(extracted: dict[str, Article]) -> None:
    # The report's /Title is "Microsoft Word - rhine_briefing_final_v3.docx".
    assert extracted["single_column_report"].title == "The Rhine: Course, Delta and History"


def test_a_scanned_pdf_is_refused_for_having_no_text_layer() -> None:
    with pytest.raises(ExtractionError, match=r"no text layer \(a scan\?\)"):
        extract_pdf((PDFS / "scanned.pdf").read_bytes())


def test_an_encrypted_pdf_is_refused_for_its_password() -> None:
    with pytest.raises(ExtractionError, match="encrypted with a password"):
        extract_pdf((PDFS / "encrypted.pdf").read_bytes())


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:300],  # cut short
        lambda data: data[:20] + b"\x00garbage" * 50,
        lambda data: b"%PDF-1.4\n%%EOF\n",
    ],
    ids=["truncated", "garbage", "no-objects"],
)
def test_a_damaged_pdf_is_refused_as_damaged(damage: Callable[[bytes], bytes]) -> None:
    data = (PDFS / "single_column_report.pdf").read_bytes()
    with pytest.raises(ExtractionError, match="damaged and cannot be read") as caught:
        extract_pdf(damage(data))
    assert isinstance(caught.value, CorpusError)


def test_a_pdf_longer_than_the_page_limit_is_refused() -> None:
    with pytest.raises(ExtractionError, match="more pages than the 1 storybot reads"):
        extract_pdf((PDFS / "single_column_report.pdf").read_bytes(), max_pages=1)


def _minimal_pdf(content: bytes) -> bytes:
    """A one-page PDF drawing `content` with Helvetica, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def test_a_pdf_with_blank_pages_is_refused_for_having_no_text() -> None:
    with pytest.raises(ExtractionError, match="no text on any page"):
        extract_pdf(_minimal_pdf(b""))


def test_a_one_paragraph_pdf_is_read() -> None:
    article = extract_pdf(_minimal_pdf(b"BT /F1 11 Tf 72 700 Td (A short note that says one thing.) Tj ET"))
    assert article.paragraphs == ("A short note that says one thing.",)


# -- the layout rules on hand-made lines --------------------------------------------------------


def _line(
    text: str, x0: float, y0: float, *, page: int = 0, size: float = 10.0, width: float | None = None
) -> TextLine:
    """A line whose characters are 5 points wide, unless its width is given."""
    x1 = x0 + (width if width is not None else 5.0 * len(text))
    first = 5.0 * len(text.split(maxsplit=1)[0])
    return TextLine(page=page, text=text, x0=x0, x1=x1, y0=y0, y1=y0 + size, size=size, first_word_width=first)


def test_two_columns_read_column_by_column_below_a_full_width_line() -> None:
    lines = [_line("A title set across both columns of the page", 50, 760, width=480)]
    lines += [_line(f"left {n}", 50, 700 - 12 * n, width=220) for n in range(5)]
    lines += [_line(f"right {n}", 300, 700 - 12 * n, width=220) for n in range(5)]
    order = [line.text for _, line in reading_order(lines, 10.0)]
    assert order == [lines[0].text] + [f"left {n}" for n in range(5)] + [f"right {n}" for n in range(5)]


def test_a_paragraph_starts_at_an_indent_a_gap_or_after_a_short_line() -> None:
    full = 300.0
    lines = [
        _line("First paragraph line one goes to the edge", 50, 700, width=full),
        _line("and ends short.", 50, 688, width=80),
        _line("Second starts after the short line and", 50, 676, width=full),
        _line("runs on.", 50, 664, width=full),  # ends at the edge: the paragraph goes on
        _line("Still the second paragraph, to the end.", 50, 652, width=full),
        _line("Third starts with an indent and goes to the edge", 62, 640, width=full - 12),
        _line("of the column as well.", 50, 628, width=full),
        _line("Fourth comes after a gap.", 50, 600, width=full),
    ]
    groups = paragraphs([lines], 10.0)
    assert [[line.text for line in group] for group in groups] == [
        [lines[0].text, lines[1].text],
        [lines[2].text, lines[3].text, lines[4].text],
        [lines[5].text, lines[6].text],
        [lines[7].text],
    ]


def test_running_heads_and_folios_go_but_a_large_title_stays() -> None:
    pages = []
    for number in range(3):
        body = [_line(f"Body line {n} of page {number}.", 50, 700 - 12 * n, page=number) for n in range(10)]
        head = [_line("THE JOURNAL", 50, 780, page=number, size=10), _line(str(number + 41), 500, 780, page=number)]
        foot = [_line(f"Page {number + 1} of 3", 250, 40, page=number, size=8)]
        pages.append(head + body + foot)
    pages[0].insert(0, _line("A Large Title", 50, 750, size=20))
    kept = without_furniture(pages, 10.0)
    texts = [line.text for page in kept for line in page]
    assert "THE JOURNAL" not in texts
    assert not any(text.startswith("Page ") or text.isdigit() for text in texts)
    assert "A Large Title" in texts
    assert len(texts) == 31


@pytest.mark.parametrize("text", ["12", "- 3 -", "– 4 –", "Page 7", "page 2 of 9", "xiv", "(5)", "3/10"])
def test_page_numbers_are_recognised(text: str) -> None:
    assert is_page_number(text)


@pytest.mark.parametrize("text", ["Chapter 4", "12 people died", "In 2016 we locked up", "Vol. 12, No. 3"])
def test_text_is_not_a_page_number(text: str) -> None:
    assert not is_page_number(text)


# -- hyphenation --------------------------------------------------------------------------------


def test_a_hyphenated_word_is_joined() -> None:
    vocabulary = Vocabulary(["nothing relevant here"])
    assert join_lines(["the infor-", "mation age"], vocabulary) == "the information age"


def test_a_compound_broken_after_its_hyphen_keeps_it() -> None:
    vocabulary = Vocabulary(["steam was powered by coal", "and more"])
    assert join_lines(["a steam-", "powered engine"], vocabulary) == "a steam-powered engine"


def test_the_documents_own_spelling_wins() -> None:
    assert keeps_hyphen("co", "operation", Vocabulary(["the co-operation of all"]))
    assert not keeps_hyphen("co", "operation", Vocabulary(["the cooperation of all"]))
    assert not keeps_hyphen("Carolin", "gian", Vocabulary(["the Carolingian kings"]))


def test_capitals_keep_the_hyphen_unless_only_the_first_letter_is_one() -> None:
    empty = Vocabulary([])
    assert keeps_hyphen("Franco", "Prussian", empty)
    assert keeps_hyphen("UN", "led", empty)
    assert not keeps_hyphen("Organiza", "tion", empty)


def test_soft_hyphens_dashes_and_numbers_join_without_a_space() -> None:
    empty = Vocabulary([])
    assert join_lines(["infor\u00ad", "mation"], empty) == "information"
    assert join_lines(["from 1939-", "1945 on"], empty) == "from 1939-1945 on"
    assert join_lines(["the model—", "many"], empty) == "the model—many"
    assert join_lines(["a spaced dash –", "like this"], empty) == "a spaced dash – like this"
