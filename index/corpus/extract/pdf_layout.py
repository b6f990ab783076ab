"""From the positioned lines of a PDF's pages to the article's paragraphs.

Pure geometry, so every rule tests on hand-made lines. Coordinates are PDF points with y
growing upwards. The steps, in order:

1. The body size is the font size most of the text is set in.
2. Running headers and footers go: the lines at a page's top or bottom edge, set apart by a
   gap, that are page numbers, smaller than the body, or repeated on other pages.
3. Lines not in the body size go too: the title (kept as the title), subheads, captions,
   footnotes, pull quotes.
4. Columns are found from the gutters no body line crosses; a page reads band by band between
   the lines that span the columns, each band column by column.
5. A paragraph ends where the next line is indented, a gap is wider than the line spacing, or
   the next line's first word would have fitted at the end of this one.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

_BULLETS = ("•", "◦", "▪", "‣", "●", "○", "■", "□", "➢", "✓")
SIZE_TOLERANCE = 0.07  # a line within 7% of the body size is body text; captions and bylines are smaller
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|seite|pagina|página)\s*)?[-–—(\[]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*[-–—)\]]?"
    r"(?:\s*(?:of|/|von|de|sur)\s*\d{1,4})?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TextLine:
    """One printed line: its text, its box, its font size and the width of its first word."""

    page: int
    text: str
    x0: float
    x1: float
    y0: float  # bottom
    y1: float  # top
    size: float
    first_word_width: float


@dataclass(frozen=True, slots=True)
class Column:
    left: float
    right: float


def body_size(lines: list[TextLine]) -> float:
    """The font size that most characters are set in (to a quarter point)."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[round(line.size * 4) / 4] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def is_body(line: TextLine, size: float) -> bool:
    return abs(line.size - size) <= SIZE_TOLERANCE * size


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()))


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.casefold()).strip()


def _rows(lines: list[TextLine]) -> list[list[TextLine]]:
    """The page's lines grouped by shared baseline (a header's left and right parts), top first."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda item: -item.y1):
        if rows and abs(rows[-1][0].y0 - line.y0) <= 0.5 * min(rows[-1][0].size, line.size):
            rows[-1].append(line)
        else:
            rows.append([line])
    return rows


def without_furniture(pages: list[list[TextLine]], size: float) -> list[list[TextLine]]:
    """The pages without running headers, footers and page numbers."""
    keys: Counter[str] = Counter()
    for page in pages:
        rows = _rows(page)
        edges = rows[:2] + rows[-2:]
        keys.update({_furniture_key(line.text) for row in edges for line in row})
    result = []
    for page in pages:
        rows = _rows(page)
        dropped: set[int] = set()
        for order in (rows, rows[::-1]):  # from the top, then from the bottom
            for index, row in enumerate(order[:2]):
                neighbour = order[index + 1] if index + 1 < len(order) else None
                if id(row) in dropped or not _is_furniture(row, neighbour, size, keys, len(pages)):
                    break
                dropped.add(id(row))
        result.append([line for row in rows if id(row) not in dropped for line in row])
    return result


def _is_furniture(
    row: list[TextLine], neighbour: list[TextLine] | None, size: float, keys: Counter[str], pages: int
) -> bool:
    if neighbour is None:
        return False
    gap = min(abs(line.y0 - other.y0) for line in row for other in neighbour)
    if gap < 1.6 * size:
        return False  # no more space than between two lines of text: part of the text
    if any(line.size > size * (1 + SIZE_TOLERANCE) for line in row):
        return False  # larger than the body: a title, even one repeated as the running head
    if any(is_page_number(line.text) for line in row):
        return True  # a folio, alone or beside a running title
    return all(
        line.size < size * (1 - SIZE_TOLERANCE) or (pages > 1 and keys[_furniture_key(line.text)] > 1) for line in row
    )


def gutters(lines: list[TextLine], size: float) -> list[tuple[float, float]]:
    """The x-ranges, at least 0.8 em wide, that (almost) no line crosses and that have lines
    on both sides: the gaps between columns."""
    if not lines:
        return []
    left, right = min(line.x0 for line in lines), max(line.x1 for line in lines)
    changes = [0] * (int(right - left) + 3)
    for line in lines:  # how many lines cover each point of the width, from where they start and stop
        changes[int(line.x0 - left)] += 1
        changes[int(line.x1 - left) + 1] -= 1
    cover = list(itertools.accumulate(changes))[:-1]
    allowed = _allowed_crossings(lines)
    found: list[tuple[float, float]] = []
    start: int | None = None
    for i, count in enumerate([*cover, allowed + 1]):
        if count <= allowed and start is None:
            start = i
        elif count > allowed and start is not None:
            gap = (left + start, left + i)
            if i - start >= 0.8 * size and _fits(gap, lines, min_side=3):
                found.append(gap)
            start = None
    return found


def _allowed_crossings(lines: list[TextLine]) -> int:
    return max(1, len(lines) // 20)  # a few lines (a full-width heading or note) may span the columns


def _fits(gap: tuple[float, float], lines: list[TextLine], min_side: int) -> bool:
    before = sum(line.x1 <= gap[0] + 1 for line in lines)
    after = sum(line.x0 >= gap[1] - 1 for line in lines)
    crossing = len(lines) - before - after
    return before >= min_side and after >= min_side and crossing <= _allowed_crossings(lines)


def page_columns(lines: list[TextLine], size: float, document_gutters: list[tuple[float, float]]) -> list[Column]:
    """A page's columns: its own gutters, or else the document's that the page's lines respect
    (a last page with a few lines in its second column)."""
    if not lines:
        return []
    found = gutters(lines, size) or [gap for gap in document_gutters if _fits(gap, lines, min_side=1)]
    edges = [min(line.x0 for line in lines)]
    for g0, g1 in sorted(found):
        edges.extend((g0, g1))
    edges.append(max(line.x1 for line in lines))
    return [Column(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]


FULL_WIDTH = -1  # the column number of a line that spans the columns


def reading_order(
    lines: list[TextLine], size: float, document_gutters: list[tuple[float, float]] | None = None
) -> Iterator[tuple[int, TextLine]]:
    """(column number, line) in reading order: band by band down the page, a band being the
    column lines between two full-width lines, read column by column."""
    cols = page_columns(lines, size, document_gutters or [])

    def column_of(line: TextLine) -> int:
        for number, column in enumerate(cols):
            if line.x0 >= column.left - 1 and line.x1 <= column.right + 1:
                return number
        return FULL_WIDTH

    placed = sorted(_merged_rows([(column_of(line), line) for line in lines]), key=lambda item: -item[1].y1)
    band: list[tuple[int, TextLine]] = []
    for number, line in placed:
        if number == FULL_WIDTH:
            yield from sorted(band, key=lambda item: (item[0], -item[1].y1))
            band = []
            yield number, line
        else:
            band.append((number, line))
    yield from sorted(band, key=lambda item: (item[0], -item[1].y1))


def _merged_rows(placed: list[tuple[int, TextLine]]) -> list[tuple[int, TextLine]]:
    """Pieces of one printed line in one column made one line again: a PDF reader splits a line
    wherever justification leaves a wide space, and a generator may draw each word alone."""
    rows: dict[tuple[int, float], list[TextLine]] = {}
    for column, line in sorted(placed, key=lambda item: (item[0], -item[1].y0, item[1].x0)):
        for (other_column, baseline), row in rows.items():
            if other_column == column and column != FULL_WIDTH and abs(baseline - line.y0) <= 0.3 * line.size:
                row.append(line)
                break
        else:
            rows[(column, line.y0)] = [line]
    return [((column, _merge(row)) if len(row) > 1 else (column, row[0])) for (column, _), row in rows.items()]


def _merge(row: list[TextLine]) -> TextLine:
    row = sorted(row, key=lambda line: line.x0)
    main = max(row, key=lambda line: len(line.text))
    return TextLine(
        page=row[0].page,
        text=" ".join(line.text for line in row),
        x0=row[0].x0,
        x1=max(line.x1 for line in row),
        y0=min(line.y0 for line in row),
        y1=max(line.y1 for line in row),
        size=main.size,
        first_word_width=row[0].first_word_width,
    )


def paragraphs(pages: list[list[TextLine]], size: float) -> list[list[TextLine]]:
    """The body lines of every page, grouped into paragraphs in reading order."""
    document_gutters = gutters([line for page in pages for line in page], size)
    ordered: list[tuple[int, int, TextLine]] = []
    for number, page in enumerate(pages):
        ordered.extend((number, column, line) for column, line in reading_order(page, size, document_gutters))
    spacing = _line_spacing(ordered, size)
    edges = _column_edges(ordered)
    groups: list[list[TextLine]] = []
    previous: tuple[int, int, TextLine] | None = None
    for item in ordered:
        line = item[2]
        if previous is None or _starts_paragraph(previous, item, spacing, edges, size):
            groups.append([line])
        else:
            groups[-1].append(line)
        previous = item
    return groups


def _line_spacing(ordered: list[tuple[int, int, TextLine]], size: float) -> float:
    gaps = [
        a[2].y0 - b[2].y0 for a, b in itertools.pairwise(ordered) if a[:2] == b[:2] and 0 < a[2].y0 - b[2].y0 < 3 * size
    ]
    return statistics.median(gaps) if gaps else 1.2 * size


def _column_edges(ordered: list[tuple[int, int, TextLine]]) -> dict[tuple[int, int], tuple[float, float]]:
    """The left and right edge of each (page, column), from where its lines start and end."""
    edges: dict[tuple[int, int], tuple[float, float]] = {}
    for page, column, line in ordered:
        left, right = edges.get((page, column), (line.x0, line.x1))
        edges[(page, column)] = (min(left, line.x0), max(right, line.x1))
    return edges


def _starts_paragraph(
    previous: tuple[int, int, TextLine],
    current: tuple[int, int, TextLine],
    spacing: float,
    edges: dict[tuple[int, int], tuple[float, float]],
    size: float,
) -> bool:
    p_page, p_column, p_line = previous
    page, column, line = current
    left, _ = edges[(page, column)]
    _, p_right = edges[(p_page, p_column)]
    same_column = (p_page, p_column) == (page, column)
    if line.text.startswith(_BULLETS):
        return True  # a list item
    if same_column and p_line.y0 - line.y0 > 1.3 * spacing:
        return True  # a gap: block paragraphs
    indent = line.x0 - left
    if 0.5 * size < indent < 6 * size and (not same_column or line.x0 > p_line.x0 + 0.5 * size):
        return True  # a first-line indent
    if p_line.text.endswith(("-", "‐", "\u00ad")):
        return False
    space = 0.25 * p_line.size
    return p_line.x1 + space + line.first_word_width < p_right - 0.5  # the next word would have fitted
