"""A PDF's article, read from its text layer with pdfminer.six.

pdfminer gives every character its box and font size (from the font's own widths, the
standard fonts' metrics included), which the layout rules in pdf_layout need: where a line
ends, whether the next word would have fitted, where the gutter between columns runs. A PDF
with no text layer (a scan), one that needs a password, or one too damaged to read is refused
with its own reason.
"""

from __future__ import annotations

import re
import struct
import zlib
from io import BytesIO
from typing import TYPE_CHECKING

from index.corpus.extract import pdf_layout
from index.corpus.extract.article import Article, clean_text, looks_like_label
from index.corpus.extract.hyphens import Vocabulary, join_lines
from index.corpus.extract.pdf_layout import TextLine
from index.errors import ExtractionError

if TYPE_CHECKING:
    from pdfminer.layout import LTComponent, LTPage, LTTextLineHorizontal
    from pdfminer.pdfdocument import PDFDocument

NO_TEXT_LAYER = "the PDF has no text layer (a scan?); storybot needs a PDF whose text can be selected"
MAX_PAGES = 200  # a story is an article, not a book, and pdfminer takes a while over long ones
TITLE_SIZE_RATIO = 1.25  # a title is set at least this much larger than the body
MAX_TITLE_LINES = 3
# A /Title left by the program that made the file rather than by its author.
_GENERATED_TITLE = re.compile(
    r"(?:^(?:microsoft (?:word|powerpoint)|untitled|document\d*|print|slide \d+)\b)"
    r"|\.(?:docx?|odt|rtf|pdf|indd|tex|txt|pptx?|xlsx?|html?)$",
    re.IGNORECASE,
)
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")  # pdfminer's stand-in for a glyph with no Unicode mapping
_DOT_LEADERS = re.compile(r"(?:\. ?){8,}")  # a table of contents
# An /Author that a program filled in rather than a person.
_PLACEHOLDER_AUTHORS = frozenset({"anonymous", "unknown", "user", "admin", "administrator", "owner", "author"})
_BYLINE = re.compile(r"^(?:by|von|par|por|door)\s+(.+)$", re.IGNORECASE)
_BYLINE_END = re.compile(r"\s+(?:[·|•—–]|-\s)\s*.*$")
# What pdfminer raises on malformed input besides its own PSException family.
_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    EOFError,
    OverflowError,
    ZeroDivisionError,
    AssertionError,
    RecursionError,
    struct.error,
    zlib.error,
)


def extract_pdf(data: bytes, *, max_pages: int = MAX_PAGES) -> Article:
    """The article in a PDF's text layer, with paragraphs rebuilt from the page layout."""
    pages, info, images = _read(data, max_pages)
    lines = [line for page in pages for line in page]
    if not lines:
        raise ExtractionError(NO_TEXT_LAYER if images else "the PDF has no text on any page")
    size = pdf_layout.body_size(lines)
    pages = pdf_layout.without_furniture(pages, size)
    title_lines, byline = _front_lines(pages[0], size)
    body = [[line for line in page if pdf_layout.is_body(line, size)] for page in pages]
    groups = pdf_layout.paragraphs(body, size)
    vocabulary = Vocabulary(line.text for group in groups for line in group)
    paragraphs = [clean_text(join_lines([line.text for line in group], vocabulary)) for group in groups]
    paragraphs = [p for p in paragraphs if p and not looks_like_label(p) and not _DOT_LEADERS.search(p)]
    if not paragraphs:
        raise ExtractionError("the PDF has no body text (only headings, captions or page furniture)")
    title = _meta_title(info.get("Title")) or clean_text(" ".join(line.text for line in title_lines)) or None
    author = _meta_author(info.get("Author")) or byline
    return Article(paragraphs=tuple(paragraphs), title=title, author=author or None)


def _front_lines(page: list[TextLine], size: float) -> tuple[list[TextLine], str | None]:
    """The title (the largest lines above the body on the first page) and a "By ..." byline."""
    top_body = max((line.y1 for line in page if pdf_layout.is_body(line, size)), default=0.0)
    above = [line for line in page if line.y0 >= top_body - 0.5 and not pdf_layout.is_body(line, size)]
    largest = max((line.size for line in above), default=0.0)
    candidates = sorted(
        (line for line in above if line.size >= TITLE_SIZE_RATIO * size and line.size >= largest * 0.95),
        key=lambda line: -line.y1,
    )
    title: list[TextLine] = []
    for line in candidates:  # the topmost block of the largest lines: a title may run to a few lines
        if title and (title[-1].y0 - line.y1 > line.size or len(title) == MAX_TITLE_LINES):
            break
        title.append(line)
    byline = None
    for line in sorted(above, key=lambda line: -line.y1):
        if match := _BYLINE.match(line.text):
            byline = _BYLINE_END.sub("", match.group(1)).strip() or None
            break
    return title, byline


def _meta_author(value: str | None) -> str | None:
    author = clean_text(value or "")
    if len(author) < 2 or author.casefold() in _PLACEHOLDER_AUTHORS:
        return None
    return author


def _meta_title(value: str | None) -> str | None:
    title = clean_text(value or "")
    if len(title) < 3 or _GENERATED_TITLE.search(title):
        return None
    return title


def _read(data: bytes, max_pages: int) -> tuple[list[list[TextLine]], dict[str, str], int]:
    """Every page's lines, the document information and how many images the pages show."""
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.psexceptions import PSException

    try:
        return _parse(data, max_pages)
    except PDFPasswordIncorrect:
        raise ExtractionError("the PDF is encrypted with a password; save a copy without one") from None
    except (PSException, *_MALFORMED) as exc:
        raise ExtractionError("the PDF is damaged and cannot be read; save or print it again as PDF") from exc


def _parse(data: bytes, max_pages: int) -> tuple[list[list[TextLine]], dict[str, str], int]:
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTPage
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    document = PDFDocument(PDFParser(BytesIO(data)), password="")
    info = _document_info(document)
    manager = PDFResourceManager(caching=True)
    # all_texts: text drawn inside form XObjects (whole pages, with some generators) is read too.
    device = PDFPageAggregator(manager, laparams=LAParams(all_texts=True))
    interpreter = PDFPageInterpreter(manager, device)
    pages: list[list[TextLine]] = []
    images = 0
    for number, page in enumerate(PDFPage.create_pages(document)):
        if number == max_pages:
            raise ExtractionError(f"the PDF has more pages than the {max_pages} storybot reads (articles, not books)")
        interpreter.process_page(page)
        layout = device.get_result()
        assert isinstance(layout, LTPage)
        lines, page_images = _page_lines(layout, number)
        pages.append(lines)
        images += page_images
    if not pages:
        raise ExtractionError("the PDF has no pages")
    return pages, info, images


def _page_lines(layout: LTPage, number: int) -> tuple[list[TextLine], int]:
    from pdfminer.layout import LTChar, LTContainer, LTImage, LTTextLineHorizontal

    lines: list[TextLine] = []
    images = 0
    stack: list[LTComponent] = [layout]
    while stack:
        item = stack.pop()
        if isinstance(item, LTImage):
            images += 1
        elif isinstance(item, LTTextLineHorizontal):
            chars = [char for char in item if isinstance(char, LTChar)]
            raw = _UNMAPPED_GLYPH.sub("", item.get_text())
            text = clean_text(raw)
            if not text or not chars:
                continue
            if raw.rstrip().endswith("\u00ad"):
                text += "\u00ad"  # a soft hyphen at the line's end: the word goes on on the next line
            lines.append(
                TextLine(
                    page=number,
                    text=text,
                    x0=item.x0,
                    x1=item.x1,
                    y0=item.y0,
                    y1=item.y1,
                    size=_median([char.size for char in chars]),
                    first_word_width=_first_word_width(item),
                )
            )
        elif isinstance(item, LTContainer):
            stack.extend(reversed(list(item)))
    return lines, images


def _first_word_width(line: LTTextLineHorizontal) -> float:
    """The width of the line's first word: up to the first space, drawn or inferred from a gap."""
    from pdfminer.layout import LTChar

    first: LTChar | None = None
    last: LTChar | None = None
    for item in line:
        if not isinstance(item, LTChar) or item.get_text().isspace():
            if first is not None:
                break
            continue
        first = first or item
        last = item
    return last.x1 - first.x0 if first is not None and last is not None else 0.0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _document_info(document: PDFDocument) -> dict[str, str]:
    """Title and Author from the document information dictionary, decoded."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    info: dict[str, str] = {}
    for entry in document.info:
        if not isinstance(entry, dict):
            continue
        for key in ("Title", "Author"):
            value = resolve1(entry.get(key))
            if isinstance(value, bytes):
                info[key] = decode_text(value)
            elif isinstance(value, str):
                info[key] = value
    return info
