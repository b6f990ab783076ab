"""Make the test PDFs of tests/data/pdfs/ and their gold files, laid out as real ones are.

    python tests/data/pdfs/make_pdfs.py [--source ../shared/data/qa/squad1/test_stories.jsonl]

A generator-only tool: it needs reportlab and Pillow (`pip install reportlab`), which storybot
itself never imports. It sets the text of Wikipedia articles (CC BY-SA 4.0, see README.md)
with a small line breaker of its own, so that the PDFs carry what makes real ones hard to read
back: two columns, justified lines with words hyphenated at the line ends (and compounds
broken after their own hyphen), running headers and footers with page numbers, a title across
both columns, a byline, paragraphs marked by indentation or by a gap, and paragraphs that run
on across a column or a page. Each `NAME.pdf` gets `NAME.gold.txt`: the expected title,
author and paragraphs, in the stored story form (front matter, one paragraph per line).

The output is deterministic (reportlab's invariant mode), so re-running it changes no file.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab import rl_config
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[3] / "shared" / "data" / "qa" / "squad1" / "test_stories.jsonl"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_VOWELS = set("aeiouyAEIOUY")


def load_stories(source: Path) -> dict[str, list[str]]:
    stories = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        stories[record["title"]] = record["paragraphs"]
    return stories


# -- line breaking ------------------------------------------------------------------------


def hyphen_points(word: str) -> list[int]:
    """Where a hyphenator might split `word`: after a vowel followed by a consonant, keeping
    at least three letters on each side, within the word's letters (not its punctuation)."""
    core = re.match(r"^[\"'(“‘]*([A-Za-z]+)", word)
    if not core or "-" in word:
        return []
    start, end = core.span(1)
    letters = word[start:end]
    points = []
    for i in range(3, len(letters) - 2):
        if letters[i - 1] in _VOWELS and letters[i] not in _VOWELS and letters[i + 1] in _VOWELS:
            points.append(start + i)
    return points


@dataclass
class Line:
    words: list[str]
    last: bool  # the paragraph's last line: never justified


def break_paragraph(
    text: str,
    width: float,
    measure: Callable[[str], float],
    first_indent: float,
    hyphenate: bool,
    stats: dict[str, int],
) -> list[Line]:
    """Greedy line breaking; a word that does not fit is split at its own hyphen or hyphenated."""
    words = text.split()
    lines: list[Line] = []
    current: list[str] = []
    available = width - first_indent
    queue = list(words)
    while queue:
        word = queue.pop(0)
        candidate = " ".join([*current, word])
        if measure(candidate) <= available:
            current.append(word)
            continue
        split = _split_to_fit(word, current, available, measure, hyphenate)
        if split is not None:
            head, tail = split
            stats["compound breaks" if word.startswith(head) else "hyphenated"] += 1
            current.append(head)
            queue.insert(0, tail)
        elif not current:  # a single word wider than the line
            current.append(word)
            continue
        else:
            queue.insert(0, word)
        lines.append(Line(current, last=False))
        current = []
        available = width
    if current:
        lines.append(Line(current, last=True))
    return lines


def _split_to_fit(
    word: str, current: list[str], available: float, measure: Callable[[str], float], hyphenate: bool
) -> tuple[str, str] | None:
    prefix = " ".join(current)
    sep = " " if current else ""
    # A compound breaks after its own hyphen, as TeX and InDesign do.
    for match in reversed(list(re.finditer(r"(?<=[A-Za-z])-(?=[A-Za-z])", word))):
        head = word[: match.end()]
        if measure(prefix + sep + head) <= available:
            return head, word[match.end() :]
    if not hyphenate:
        return None
    for point in reversed(hyphen_points(word)):
        head = word[:point] + "-"
        if measure(prefix + sep + head) <= available:
            return head, word[point:]
    return None


# -- page furniture -----------------------------------------------------------------------


@dataclass
class Layout:
    page_size: tuple[float, float]
    margins: tuple[float, float, float, float]  # left, right, top, bottom
    columns: int
    gutter: float
    font: str
    size: float
    leading: float
    indent: float  # first-line indent of every paragraph but the first
    gap: float  # extra space between paragraphs
    justify: bool
    hyphenate: bool
    per_word: bool  # draw each word on its own, as some generators do
    header: Callable[[Canvas, int, Layout], None] | None = None
    footer: Callable[[Canvas, int, Layout], None] | None = None
    stats: dict[str, int] = field(default_factory=lambda: {"hyphenated": 0, "compound breaks": 0})

    @property
    def column_width(self) -> float:
        left, right, _, _ = self.margins
        usable = self.page_size[0] - left - right
        return (usable - self.gutter * (self.columns - 1)) / self.columns

    def column_x(self, column: int) -> float:
        return self.margins[0] + column * (self.column_width + self.gutter)


class Setter:
    """Flows paragraphs into the columns of successive pages."""

    def __init__(self, canvas: Canvas, layout: Layout, body_top: float) -> None:
        self.canvas = canvas
        self.layout = layout
        self.page = 1
        self.column = 0
        self.top = body_top  # the first page's body starts below its title block
        self.y = body_top
        self._decorate()

    def _decorate(self) -> None:
        if self.layout.header:
            self.layout.header(self.canvas, self.page, self.layout)
        if self.layout.footer:
            self.layout.footer(self.canvas, self.page, self.layout)

    def _next_column(self) -> None:
        self.column += 1
        if self.column == self.layout.columns:
            self.canvas.showPage()
            self.page += 1
            self.column = 0
            self.top = self.layout.page_size[1] - self.layout.margins[2]
            self._decorate()
        self.y = self.top

    def _room(self, height: float) -> None:
        if self.y - height < self.layout.margins[3]:
            self._next_column()

    def heading(self, text: str, font: str) -> None:
        """A subhead in the body size, bold, with space above: a line of its own."""
        lay = self.layout
        self._room(3 * lay.leading)
        if self.y != self.top:
            self.y -= lay.leading * 0.8
        self.y -= lay.leading
        self.canvas.setFont(font, lay.size)
        self.canvas.drawString(lay.column_x(self.column), self.y, text)

    def caption(self, text: str, font: str, size: float) -> None:
        """A figure (a grey box) with its caption, set smaller, within the column."""
        lay = self.layout
        box = lay.column_width * 0.55
        lines = break_paragraph(text, lay.column_width, lambda t: pdfmetrics.stringWidth(t, font, size), 0, False, {})
        self._room(box + len(lines) * size * 1.2 + 2 * lay.leading)
        x = lay.column_x(self.column)
        self.y -= lay.leading * 0.6 + box
        self.canvas.setFillGray(0.85)
        self.canvas.rect(x, self.y, lay.column_width, box, stroke=0, fill=1)
        self.canvas.setFillGray(0)
        self.y -= 2
        for line in lines:
            self.y -= size * 1.2
            self.canvas.setFont(font, size)
            self.canvas.drawString(x, self.y, " ".join(line.words))
        self.y -= lay.leading * 0.6

    def paragraph(self, text: str, first: bool) -> None:
        lay = self.layout
        indent = 0.0 if first else lay.indent

        def measure(s: str) -> float:
            return pdfmetrics.stringWidth(s, lay.font, lay.size)

        lines = break_paragraph(text, lay.column_width, measure, indent, lay.hyphenate, lay.stats)
        if not first and self.y != self.top:
            self.y -= lay.gap
        for number, line in enumerate(lines):
            if self.y - lay.leading < lay.margins[3]:
                self._next_column()
            self.y -= lay.leading
            x = lay.column_x(self.column) + (indent if number == 0 else 0.0)
            width = lay.column_width - (indent if number == 0 else 0.0)
            self._draw_line(line, x, self.y, width)

    def _draw_line(self, line: Line, x: float, y: float, width: float) -> None:
        lay = self.layout
        natural = pdfmetrics.stringWidth(" ".join(line.words), lay.font, lay.size)
        spaces = len(line.words) - 1
        extra = (width - natural) / spaces if lay.justify and not line.last and spaces else 0.0
        if lay.per_word:
            space = pdfmetrics.stringWidth(" ", lay.font, lay.size) + extra
            for word in line.words:
                self.canvas.setFont(lay.font, lay.size)
                self.canvas.drawString(x, y, word)
                x += pdfmetrics.stringWidth(word, lay.font, lay.size) + space
            return
        text = self.canvas.beginText(x, y)
        text.setFont(lay.font, lay.size)
        text.setWordSpace(extra)
        text.textOut(" ".join(line.words))
        self.canvas.drawText(text)


def _title_block(
    canvas: Canvas, layout: Layout, title: str, font: str, size: float, byline: str | None, byline_font: str
) -> float:
    """Draw the title across the columns (wrapped), then a byline; return where the body starts."""
    left, right, top, _ = layout.margins
    usable = layout.page_size[0] - left - right
    y = layout.page_size[1] - top
    words = title.split()
    lines: list[str] = []
    for word in words:
        if lines and pdfmetrics.stringWidth(lines[-1] + " " + word, font, size) <= usable:
            lines[-1] += " " + word
        else:
            lines.append(word)
    for line in lines:
        y -= size * 1.2
        canvas.setFont(font, size)
        canvas.drawString(left, y, line)
    if byline:
        y -= layout.size * 2.2
        canvas.setFont(byline_font, layout.size * 0.9)
        canvas.drawString(left, y, byline)
    canvas.setLineWidth(0.5)
    canvas.line(left, y - layout.size * 0.9, layout.page_size[0] - right, y - layout.size * 0.9)
    return y - layout.size * 1.6


# -- the documents ------------------------------------------------------------------------


@dataclass
class Document:
    name: str
    story: str
    paragraphs: slice
    title: str  # the title as printed on page 1
    meta_title: str | None  # /Title in the document information, as the generator left it
    author: str | None  # /Author in the document information
    byline: str | None
    expected_title: str
    expected_author: str | None
    layout: Layout
    # Before the paragraph with this index: ("heading", text, font, 0) or ("caption", text, font, size).
    extras: dict[int, tuple[str, str, str, float]] = field(default_factory=dict)
    title_font: str = "Helvetica-Bold"
    title_size: float = 20.0
    byline_font: str = "Helvetica-Oblique"


def _journal_header(canvas: Canvas, page: int, layout: Layout) -> None:
    """Journal style: the journal's name left and the issue right on every page; the folio
    centred in the footer."""
    left, right, top, bottom = layout.margins
    width, height = layout.page_size
    canvas.setFont("Helvetica", 7.5)
    canvas.drawString(left, height - top + 22, "ENGINEERING HERITAGE REVIEW")
    canvas.drawRightString(width - right, height - top + 22, "Vol. 12, No. 3 · Spring 2017")
    canvas.setLineWidth(0.4)
    canvas.line(left, height - top + 16, width - right, height - top + 16)
    canvas.setFont("Times-Roman", 9)
    canvas.drawCentredString(width / 2, bottom - 28, str(page + 140))
    if page == 1:  # a footnote below the columns, above the folio
        canvas.setFont("Times-Roman", 7)
        canvas.drawString(left, bottom - 12, "* Based on a lecture given to the Newcomen Society, London, in 2016.")


def _book_header(canvas: Canvas, page: int, layout: Layout) -> None:
    """Book style: no header on the opening page; then the folio at the outer edge and the
    running title, alternating sides."""
    if page == 1:
        return
    left, right, top, _ = layout.margins
    width, height = layout.page_size
    canvas.setFont("Times-Italic", 9)
    y = height - top + 20
    if page % 2 == 0:
        canvas.drawString(left, y, str(page))
        canvas.drawRightString(width - right, y, "Chloroplasts: structure and origin")
    else:
        canvas.drawString(left, y, "Chapter 4")
        canvas.drawRightString(width - right, y, str(page))


def _report_footer(canvas: Canvas, page: int, layout: Layout) -> None:
    """Report style: document name left and "Page N" right, below a rule."""
    left, right, _, bottom = layout.margins
    width, _ = layout.page_size
    canvas.setLineWidth(0.3)
    canvas.line(left, bottom - 14, width - right, bottom - 14)
    canvas.setFont("DejaVuSans", 8)
    canvas.drawString(left, bottom - 26, "River Basin Commission — Briefing note 2016/04")
    canvas.drawRightString(width - right, bottom - 26, f"Page {page}")


def _newsletter_furniture(canvas: Canvas, page: int, layout: Layout) -> None:
    """Newsletter style: a header with the date on every page, "– N –" at the foot."""
    left, right, top, bottom = layout.margins
    width, height = layout.page_size
    canvas.setFont("Helvetica-Bold", 8)
    canvas.drawString(left, height - top + 24, "CLIMATE POLICY BULLETIN")
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(width - right, height - top + 24, "March 2015")
    canvas.setFont("Helvetica", 8)
    canvas.drawCentredString(width / 2, bottom - 30, f"– {page} –")


def documents() -> list[Document]:
    # reportlab embeds a subset of a TrueType font with a /ToUnicode map, as Word and
    # LibreOffice do; the other documents use the unembedded standard fonts.
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(DEJAVU / "DejaVuSans-Bold.ttf")))
    return [
        Document(
            name="two_column_journal",
            story="Steam_engine",
            paragraphs=slice(0, 16),
            title="The Steam Engine: From Newcomen to the Turbine",
            meta_title="The Steam Engine: From Newcomen to the Turbine",
            author="Margaret Holloway",
            byline="Margaret Holloway · Department of Mechanical Engineering",
            expected_title="The Steam Engine: From Newcomen to the Turbine",
            expected_author="Margaret Holloway",
            extras={
                5: (
                    "caption",
                    "Figure 1. A mill engine of 1903, with its flywheel and governor, as preserved today. "
                    "Courtesy of the Museum of Steam Power.",
                    "Times-Italic",
                    8,
                ),
                11: ("caption", "Figure 2. Indicator diagram of a compound engine.", "Times-Italic", 8),
            },
            layout=Layout(
                page_size=A4,
                margins=(54, 54, 72, 64),
                columns=2,
                gutter=18,
                font="Times-Roman",
                size=9.5,
                leading=11.5,
                indent=12,
                gap=0,
                justify=True,
                hyphenate=True,
                per_word=False,
                header=_journal_header,
            ),
        ),
        Document(
            name="single_column_book",
            story="Chloroplast",
            paragraphs=slice(0, 12),
            title="Chloroplasts",
            meta_title=None,
            author=None,
            byline="By Daniel Okafor",
            expected_title="Chloroplasts",
            expected_author="Daniel Okafor",
            title_font="Times-Bold",
            title_size=24,
            byline_font="Times-Italic",
            layout=Layout(
                page_size=(432, 648),  # a 6 × 9 in book page
                margins=(54, 54, 60, 60),
                columns=1,
                gutter=0,
                font="Times-Roman",
                size=10.5,
                leading=13,
                indent=15,
                gap=0,
                justify=True,
                hyphenate=True,
                per_word=True,
                header=_book_header,
            ),
        ),
        Document(
            name="single_column_report",
            story="Rhine",
            paragraphs=slice(0, 10),
            title="The Rhine: Course, Delta and History",
            meta_title="Microsoft Word - rhine_briefing_final_v3.docx",
            author="River Basin Commission",
            byline=None,
            expected_title="The Rhine: Course, Delta and History",
            expected_author="River Basin Commission",
            title_font="DejaVuSans-Bold",
            title_size=18,
            layout=Layout(
                page_size=A4,
                margins=(72, 72, 72, 72),
                columns=1,
                gutter=0,
                font="DejaVuSans",
                size=10,
                leading=14,
                indent=0,
                gap=8,
                justify=False,
                hyphenate=False,
                per_word=False,
                footer=_report_footer,
            ),
        ),
        Document(
            name="two_column_newsletter",
            story="Intergovernmental_Panel_on_Climate_Change",
            paragraphs=slice(0, 12),
            title="How the IPCC Works",
            meta_title="How the IPCC Works",
            author=None,
            byline="By Priya Raman",
            expected_title="How the IPCC Works",
            expected_author="Priya Raman",
            extras={
                3: ("heading", "Membership and structure", "Helvetica-Bold", 0),
                6: ("heading", "Reports and authors", "Helvetica-Bold", 0),
                10: ("heading", "The Fourth Assessment Report", "Helvetica-Bold", 0),
            },
            layout=Layout(
                page_size=LETTER,
                margins=(50, 50, 70, 66),
                columns=2,
                gutter=24,
                font="Helvetica",
                size=9,
                leading=11,
                indent=0,
                gap=6,
                justify=False,
                hyphenate=True,
                per_word=False,
                header=_newsletter_furniture,
            ),
        ),
    ]


def make_pdf(document: Document, paragraphs: list[str]) -> bytes:
    buffer = io.BytesIO()
    layout = document.layout
    canvas = Canvas(buffer, pagesize=layout.page_size, invariant=1, pageCompression=1)
    canvas.setCreator("storybot test generator")
    if document.meta_title:
        canvas.setTitle(document.meta_title)
    if document.author:
        canvas.setAuthor(document.author)
    body_top = _title_block(
        canvas,
        layout,
        document.title,
        document.title_font,
        document.title_size,
        document.byline,
        document.byline_font,
    )
    setter = Setter(canvas, layout, body_top)
    for number, paragraph in enumerate(paragraphs):
        kind, text, font, size = document.extras.get(number, ("", "", "", 0.0))
        if kind == "heading":
            setter.heading(text, font)
        elif kind == "caption":
            setter.caption(text, font, size)
        setter.paragraph(paragraph, first=number == 0 or kind == "heading")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def gold_text(title: str, author: str | None, paragraphs: list[str]) -> str:
    head = ["---", f"title: {title}"]
    if author:
        head.append(f"author: {author}")
    head.append("---")
    return "\n".join([*head, *paragraphs]) + "\n"


def make_scan(paragraphs: list[str]) -> bytes:
    """A page as a scanner makes it: one greyscale image of the text, no text layer."""
    width, height = 850, 1100  # 100 dpi Letter
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(DEJAVU / "DejaVuSerif.ttf"), 15)
    y = 90
    draw.text((90, 40), "Force", font=font, fill=0)
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, 85):
            draw.text((90, y), line, font=font, fill=30)
            y += 20
        y += 12
        if y > height - 100:
            break
    png = io.BytesIO()
    image.convert("1").save(png, format="PNG", optimize=True)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=1)
    canvas.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, 0, width=LETTER[0], height=LETTER[1])
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def make_encrypted(paragraphs: list[str]) -> bytes:
    """A PDF that opens only with a password."""
    from reportlab.lib import pdfencrypt

    buffer = io.BytesIO()
    encryption = pdfencrypt.StandardEncryption("reader-secret", ownerPassword="owner-secret", strength=128)
    canvas = Canvas(buffer, pagesize=LETTER, invariant=1, encrypt=encryption)
    canvas.setFont("Helvetica", 10)
    text = canvas.beginText(72, 700)
    for line in textwrap.wrap(paragraphs[0], 90)[:10]:
        text.textLine(line)
    canvas.drawText(text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    rl_config.invariant = 1
    stories = load_stories(args.source)
    for document in documents():
        paragraphs = stories[document.story][document.paragraphs]
        data = make_pdf(document, paragraphs)
        (HERE / f"{document.name}.pdf").write_bytes(data)
        visible = [" ".join(p.replace("\u200b", "").replace("\ufeff", "").split()) for p in paragraphs]
        gold = gold_text(document.expected_title, document.expected_author, visible)
        (HERE / f"{document.name}.gold.txt").write_text(gold, encoding="utf-8")
        print(f"{document.name}.pdf: {len(data):,} bytes, {len(paragraphs)} paragraphs, {document.layout.stats}")
    scan = make_scan(stories["Force"][:3])
    (HERE / "scanned.pdf").write_bytes(scan)
    print(f"scanned.pdf: {len(scan):,} bytes")
    encrypted = make_encrypted(stories["Force"])
    (HERE / "encrypted.pdf").write_bytes(encrypted)
    print(f"encrypted.pdf: {len(encrypted):,} bytes")


if __name__ == "__main__":
    main()
