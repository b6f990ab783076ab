"""A web page's article: its paragraphs as the page has them, without the page around them.

trafilatura finds the article and its metadata (JSON-LD, OpenGraph, microdata, <title>, the
canonical link) and leaves out navigation, comments and most boilerplate. Its XML output keeps
the structure, and a few general rules on it remove what it lets through on news pages:

- headings are not stored (the title goes to the front matter, and a subhead is no sentence);
- a line break starts a new paragraph (old CMSs separate paragraphs with <br><br>);
- a block that is mostly link text is navigation ("Read more: ...", "Related: ...");
- a short block with no sentence-ending punctuation is a label, not prose ("Advertisement",
  a timestamp, a section name, a video's title and duration);
- a block repeated inside another one is a pull quote, and is stored once, where it stands;
- cookie and consent dialogs are cut from the page before extraction.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree

from index.corpus.extract.article import Article, clean_text, http_url, looks_like_label
from index.errors import ExtractionError

# Elements that hold a block of text in trafilatura's XML; everything else is inline.
_BLOCK_TAGS = frozenset({"main", "p", "head", "list", "item", "quote", "code", "table", "row", "cell", "graphic"})
# Cookie banners and consent dialogs are short; the wrappers around an article are not.
OVERLAY_MAX_CHARS, OVERLAY_MAX_PARAGRAPHS = 1500, 3
OVERLAY_WORDS = ("cookie", "consent", "gdpr")


def _overlay_xpaths() -> list[str]:
    """Dialogs and banners that sit over the page, whatever the CMS names them: only short
    elements outside the main containers, since a site may mark <body> "cookies-accepted"."""
    small = (
        "//*[not(self::html or self::body or self::main or self::article)]"
        f"[not(.//article or .//main)][count(.//p) <= {OVERLAY_MAX_PARAGRAPHS}]"
        f"[string-length(normalize-space()) < {OVERLAY_MAX_CHARS}]"
    )
    lower = "translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    named = " or ".join(
        f"contains({lower.format(attribute)}, '{word}')" for word in OVERLAY_WORDS for attribute in ("@id", "@class")
    )
    return [f"{small}[@role='dialog' or @role='alertdialog' or @aria-modal='true']", f"{small}[{named}]", "//noscript"]


_OVERLAYS = _overlay_xpaths()
MAX_LINK_SHARE = 0.5  # a block with more of its text in links than this is navigation
MIN_ARTICLE_CHARS = 150
MIN_REPEAT_CHARS, MAX_REPEAT_CHARS = 20, 400  # the length of a pull quote or teaser that repeats the text
_QUOTES = "\"'“”‘’«»"


@dataclass
class _Block:
    kind: str
    parts: list[str] = field(default_factory=list)
    link_chars: int = 0

    @property
    def text(self) -> str:
        return clean_text("".join(self.parts))


def extract_html(data: bytes | str, *, source_url: str | None = None, charset: str | None = None) -> Article:
    """The article of a web page, or an ExtractionError when the page has none."""
    import trafilatura

    if isinstance(data, bytes) and charset:
        with contextlib.suppress(LookupError):  # an unknown charset name: trafilatura detects the encoding
            data = data.decode(charset, errors="replace")
    xml = trafilatura.extract(
        data,
        url=source_url,
        output_format="xml",
        with_metadata=True,
        include_comments=False,
        include_tables=True,  # layout tables hold whole articles on old sites; cells are flattened below
        include_images=False,
        include_links=True,  # to measure how much of a block is links
        favor_precision=True,
        deduplicate=False,
        prune_xpath=_OVERLAYS,
    )
    if not xml:
        raise ExtractionError(_NO_ARTICLE)
    root = ElementTree.fromstring(xml)
    title = clean_text(root.get("title") or "") or None
    paragraphs = article_paragraphs(root.find("main"), title)
    if sum(len(p) for p in paragraphs) < MIN_ARTICLE_CHARS:
        raise ExtractionError(_NO_ARTICLE)
    return Article(
        paragraphs=tuple(paragraphs),
        title=title,
        source=http_url(root.get("url")),
        date=_iso_date(root.get("date")),
        author=clean_text(root.get("author") or "") or None,
    )


_NO_ARTICLE = "the page has no article text (a front page, a list of links, or a page that needs JavaScript?)"


def article_paragraphs(main: ElementTree.Element | None, title: str | None) -> list[str]:
    """The paragraphs of trafilatura's <main>, after the rules in the module docstring."""
    if main is None:
        return []
    blocks = [block for block in _blocks(main) if block.text]
    kept = [block.text for block in blocks if _is_prose(block, title)]
    return _without_repeats(kept)


def _blocks(main: ElementTree.Element) -> list[_Block]:
    blocks = [_Block("main")]
    for kind, text, in_link in _walk(main, "main", in_link=False):
        if text is None:
            blocks.append(_Block(kind))
            continue
        blocks[-1].parts.append(text)
        if in_link:
            blocks[-1].link_chars += len(text.strip())
    return blocks


def _walk(element: ElementTree.Element, kind: str, *, in_link: bool) -> Iterator[tuple[str, str | None, bool]]:
    """(kind, text, in_link) pieces in reading order; text None marks a block boundary."""
    tag = element.tag
    inner = tag if tag in _BLOCK_TAGS else kind
    linked = in_link or tag == "ref"
    if tag in _BLOCK_TAGS or tag == "lb":
        yield inner, None, linked
    if element.text and tag != "graphic":
        yield inner, element.text, linked
    for child in element:
        yield from _walk(child, inner, in_link=linked)
        if child.tag in _BLOCK_TAGS:
            yield inner, None, linked  # text after a nested block is a block of its own
        if child.tail:
            yield inner, child.tail, linked


def _is_prose(block: _Block, title: str | None) -> bool:
    text = block.text
    if block.kind == "head":
        return False
    if title and text.strip(_QUOTES).casefold() == title.casefold():
        return False
    letters = sum(ch.isalnum() for ch in text)
    if letters == 0 or block.link_chars > MAX_LINK_SHARE * len(text.replace(" ", "")):
        return False
    return not looks_like_label(text)


def _without_repeats(paragraphs: list[str]) -> list[str]:
    """Drop exact repeats and blocks that another block contains (pull quotes, teasers)."""
    kept: list[str] = []
    seen: set[str] = set()
    for index, paragraph in enumerate(paragraphs):
        core = paragraph.strip(_QUOTES + " ")
        if paragraph in seen:
            continue
        others = paragraphs[:index] + paragraphs[index + 1 :]
        repeats = MIN_REPEAT_CHARS <= len(core) <= MAX_REPEAT_CHARS
        if repeats and any(core in other and len(other) > len(paragraph) for other in others):
            continue
        seen.add(paragraph)
        kept.append(paragraph)
    return kept


def _iso_date(value: str | None) -> str | None:
    if value and re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return value
    return None
