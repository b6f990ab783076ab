"""The entry point: kind detection, refusals with their reasons, and the stored form.

Whatever `extract_story` returns must read back through `parse_story` unchanged, because the
engine quotes the stored text verbatim and a reader checks the quote against the document.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.extraction import PAGES, PDFS, load_gold
from index.corpus.extract import ExtractedStory, clean_text, extract_story, render_story
from index.corpus.stories import parse_story
from index.errors import CorpusError, ExtractionError

DOCUMENTS = sorted(path for path in [*PAGES.glob("*.html"), *PDFS.glob("*.pdf")] if load_gold(path) is not None)
PDF_BYTES = (PDFS / "single_column_report.pdf").read_bytes()
PAGE_BYTES = (PAGES / "wordpress_post.html").read_bytes()
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
ZIP_BYTES = b"PK\x03\x04" + b"\x00" * 40
FRONT_PAGE = (PAGES / "section_front.html").read_bytes()
SCAN = (PDFS / "scanned.pdf").read_bytes()
LOCKED = (PDFS / "encrypted.pdf").read_bytes()


@pytest.fixture(scope="module")
def stories() -> dict[str, ExtractedStory]:
    return {path.name: extract_story(path.read_bytes(), filename=path.name) for path in DOCUMENTS}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_the_stored_text_reads_back_as_the_extracted_story(document: Path, stories: dict[str, ExtractedStory]) -> None:
    story = stories[document.name]
    parsed = parse_story(story.text.encode("utf-8"), "stored.txt")
    assert parsed.paragraphs == story.paragraphs
    assert (parsed.title, parsed.source, parsed.date, parsed.author) == (
        story.title,
        story.source,
        story.date,
        story.author,
    )
    assert story.kind == document.suffix.lstrip(".")
    assert all("\n" not in p and p == " ".join(p.split()) for p in story.paragraphs)


def test_a_page_story_carries_the_pages_metadata(stories: dict[str, ExtractedStory]) -> None:
    story = stories["wordpress_post.html"]
    assert story.text.startswith(
        "---\ntitle: Who were the Normans? The people who gave Normandy its name\n"
        "source: https://history-notes.example.com/2017/03/who-were-the-normans/\n"
        "date: 2017-03-14\nauthor: Claire Dubois\n---\nThe Normans (Norman: Nourmands;"
    )


def test_what_the_caller_knows_wins_over_what_the_page_claims() -> None:
    story = extract_story(
        PAGE_BYTES,
        filename="normans.html",
        source_url="https://mirror.example.net/normans",
        title="The Normans, as we read them",
    )
    assert story.title == "The Normans, as we read them"
    assert story.source == "https://mirror.example.net/normans"


def test_only_http_urls_become_the_source() -> None:
    story = extract_story(b"One paragraph.\n", filename="a.txt", source_url="javascript:alert(1)")
    assert story.source is None


def test_a_fetched_page_needs_no_file_name() -> None:
    story = extract_story(PAGE_BYTES, content_type="text/html; charset=utf-8", source_url="https://example.com/x")
    assert story.kind == "html"
    assert story.source == "https://example.com/x"


@pytest.mark.parametrize(
    ("data", "content_type", "kind"),
    [
        (PDF_BYTES, None, "pdf"),
        (PDF_BYTES, "application/octet-stream", "pdf"),
        (PAGE_BYTES, None, "html"),
        (b"Just a paragraph of plain text.\n", None, "txt"),
    ],
)
def test_without_a_name_the_bytes_tell_the_kind(data: bytes, content_type: str | None, kind: str) -> None:
    assert extract_story(data, content_type=content_type).kind == kind


def test_a_markdown_story_keeps_its_front_matter_and_its_paragraph_rules() -> None:
    head = b"---\ntitle: Bus lanes\nsource: https://example.org/bus\ndate: 2017-08-11\n---\n"
    story = extract_story(head + b"First line\nwraps.\n\nSecond.\n", filename="bus.md", content_type="text/plain")
    assert (story.kind, story.title, story.source) == ("md", "Bus lanes", "https://example.org/bus")
    assert story.date == "2017-08-11"
    assert story.paragraphs == ("First line wraps.", "Second.")
    assert story.text.endswith("---\nFirst line wraps.\nSecond.\n")


def test_a_text_story_without_a_title_is_named_after_its_file() -> None:
    story = extract_story(b"  One.  \n\nTwo\tthree.\n", filename="city_council-vote.txt")
    assert story.title == "city council vote"
    assert story.paragraphs == ("One.", "Two three.")


def _reason(data: bytes, **kwargs: object) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract_story(data, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, CorpusError)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("data", "kwargs", "reason"),
    [
        (b"", {"filename": "a.txt"}, "a.txt: the file is empty"),
        (b" \n\t\n", {"filename": "a.md"}, "a.md: the file is empty"),
        (PNG_BYTES, {"filename": "story.txt"}, "story.txt: it should be a plain-text file but it is a PNG image"),
        (PDF_BYTES, {"filename": "story.txt"}, "story.txt: it should be a plain-text file but it is a PDF"),
        (ZIP_BYTES, {"filename": "notes.md"}, "notes.md: it should be a Markdown file but it is a zip"),
        (b"ab\x00cd" * 10, {"filename": "a.txt"}, "a.txt: it should be a plain-text file but it is binary"),
        ("caf\u00e9 au lait".encode("latin-1"), {"filename": "a.txt"}, "a.txt: not UTF-8 text"),
        ("Hello".encode("utf-16"), {"filename": "a.txt"}, "save it as UTF-8"),
        (PAGE_BYTES, {"filename": "page.txt"}, "page.txt: it should be a plain-text file but it is a web page (HTML)"),
        (b"Plain words, no markup.", {"filename": "a.html"}, "a.html: it should be a web page but has no HTML markup"),
        (b"Plain words.", {"filename": "a.pdf"}, "a.pdf: it should be a PDF but does not start like one"),
        (PDF_BYTES, {"filename": "a.pdf", "content_type": "text/html"}, "the name says a PDF but the content type"),
        (b"text", {"filename": "report.docx"}, "report.docx: storybot reads .txt, .md, .html and .pdf files"),
        (PNG_BYTES, {"content_type": "image/png"}, "its type image/png is not one storybot reads"),
        (PNG_BYTES, {}, "the document: this is a PNG image, not a story"),
        (PAGE_BYTES, {"filename": "a.html", "max_bytes": 1000}, "bytes is more than the 1,000 bytes a story may be"),
        (FRONT_PAGE, {"filename": "front.html"}, "front.html: the page has no article"),
        (SCAN, {"filename": "scan.pdf"}, "scan.pdf: the PDF has no text layer (a scan?)"),
        (LOCKED, {"filename": "locked.pdf"}, "locked.pdf: the PDF is encrypted"),
        (PDF_BYTES[:400], {"filename": "cut.pdf"}, "cut.pdf: the PDF is damaged"),
        (b"---\ntitle: Only a header\n---\n", {"filename": "a.txt"}, "a.txt: the story is empty"),
    ],
)
def test_each_refusal_says_why_in_one_line_naming_the_file(data: bytes, kwargs: dict[str, object], reason: str) -> None:
    assert reason in _reason(data, **kwargs)


def test_a_size_limit_names_both_sizes() -> None:
    assert _reason(b"x" * 2000, filename="big.txt", max_bytes=1000) == (
        "big.txt: 2,000 bytes is more than the 1,000 bytes a story may be"
    )


def test_a_fetched_documents_name_comes_from_its_url() -> None:
    assert _reason(PNG_BYTES, content_type="image/png", source_url="https://example.com/img/cat.png").startswith(
        "cat.png: "
    )


# -- the stored form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Plain title",
        '"Quoted" at both "ends"',
        "'tis the season'",
        "It's fine",
        "---",
        "title: nested",
        "# not a comment",
        "Line one\nline two\r\n---\n",
        "  padded\t",
    ],
)
def test_front_matter_values_cannot_break_the_front_matter(title: str) -> None:
    text = render_story(["Body."], title=title, author=title, source="https://example.org/a?b=c#d", date="2017-01-02")
    story = parse_story(text.encode(), "x.txt")
    assert story.title == clean_text(title)
    assert story.author == clean_text(title)
    assert story.source == "https://example.org/a?b=c#d"
    assert story.paragraphs == ("Body.",)


def test_paragraphs_are_cleaned_to_single_spaced_visible_text() -> None:
    text = render_story(["---", "a\n b\t\tc", "  ", "zero\u200bwidth soft\u00adhyphen\x00nul", "ﬁne ﬂow"], title="T")
    assert parse_story(text.encode(), "x.txt").paragraphs == ("---", "a b c", "zerowidth softhyphennul", "fine flow")


@settings(max_examples=200, deadline=None)
@given(
    paragraphs=st.lists(st.text(max_size=60), max_size=6),
    title=st.text(max_size=40),
    author=st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_text_renders_to_a_story_that_reads_back(paragraphs: list[str], title: str, author: str | None) -> None:
    expected = tuple(cleaned for p in paragraphs if (cleaned := clean_text(p)))
    text = render_story(paragraphs, title=title, author=author)
    if not expected:
        return  # parse_story refuses a story without paragraphs, as it should
    story = parse_story(text.encode("utf-8"), "x.txt")
    assert story.paragraphs == expected
    if clean_text(title):
        assert story.title == clean_text(title)
    assert story.author == (clean_text(author or "") or None)
