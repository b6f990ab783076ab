"""One entry point: the bytes of an uploaded or fetched document in, a story to store out.

What the caller knows beats what the document says about itself: a title given by the person
adding the story wins over the page's, and the URL the page was fetched from wins over the
canonical link it claims. Every refusal is an ExtractionError whose message is one line,
starting with the document's name, that can be shown to the person who sent it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from index.corpus.extract.article import Article, clean_paragraphs, clean_text, http_url
from index.corpus.extract.detect import Kind, charset_of, detect_kind
from index.corpus.extract.render import render_story
from index.corpus.stories import decode_story, parse_story, split_front_matter, title_from_file
from index.errors import CorpusError, ExtractionError

FALLBACK_TITLE_WORDS = 10


@dataclass(frozen=True, slots=True)
class ExtractedStory:
    """A document made into a story: what to store (`text`) and what was found in it."""

    title: str
    paragraphs: tuple[str, ...]
    kind: Kind
    text: str  # the stored form: front matter and one paragraph per line (see render_story)
    source: str | None = None
    date: str | None = None
    author: str | None = None


def extract_story(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    source_url: str | None = None,
    title: str | None = None,
    max_bytes: int | None = None,
) -> ExtractedStory:
    """Detect the document's kind, extract its article and render it for storing.

    Raises ExtractionError (a CorpusError) with a one-line reason: too large, empty, binary,
    not UTF-8, a name that disagrees with the content, an unsupported type, no article text,
    a PDF without a text layer, encrypted or damaged.
    """
    label = filename or _name_in_url(source_url) or "the document"
    try:
        if max_bytes is not None and len(data) > max_bytes:
            raise ExtractionError(f"{len(data):,} bytes is more than the {max_bytes:,} bytes a story may be")
        if not data.strip():
            raise ExtractionError("the file is empty")
        kind = detect_kind(data, filename=filename, content_type=content_type)
        article = _extract(data, kind, label, content_type, source_url)
    except ExtractionError as exc:
        raise ExtractionError(f"{label}: {exc}") from None
    paragraphs = clean_paragraphs(article.paragraphs)
    if not paragraphs:
        raise ExtractionError(f"{label}: no text to store")
    story_title = (
        clean_text(title or "")
        or article.title
        or (title_from_file(filename) if filename else "")
        or _title_from_url(source_url)
        or _first_words(paragraphs[0])
    )
    source = http_url(source_url) or article.source
    text = render_story(paragraphs, title=story_title, source=source, date=article.date, author=article.author)
    return ExtractedStory(
        title=clean_text(story_title),
        paragraphs=paragraphs,
        kind=kind,
        text=text,
        source=source,
        date=clean_text(article.date or "") or None,
        author=clean_text(article.author or "") or None,
    )


def _extract(data: bytes, kind: Kind, label: str, content_type: str | None, source_url: str | None) -> Article:
    if kind == "html":
        from index.corpus.extract.html import extract_html

        return extract_html(data, source_url=http_url(source_url), charset=charset_of(content_type))
    if kind == "pdf":
        from index.corpus.extract.pdf import extract_pdf

        return extract_pdf(data)
    return _plain_text(data, kind, label)


def _plain_text(data: bytes, kind: Kind, label: str) -> Article:
    """A .txt or .md story, read by the corpus's own rules, its front matter kept."""
    file = f"{label}.{kind}" if not label.lower().endswith(f".{kind}") else label
    try:
        story = parse_story(data, file)
        meta, _ = split_front_matter(decode_story(data, file), file)
    except CorpusError as exc:
        raise ExtractionError(str(exc).removeprefix(f"{file}: ")) from None
    return Article(
        paragraphs=story.paragraphs,
        title=clean_text(meta.get("title", "")) or None,
        source=story.source,
        date=story.date,
        author=story.author,
    )


def _name_in_url(url: str | None) -> str | None:
    if not url:
        return None
    name = unquote(PurePosixPath(urlsplit(url).path).name)
    return name or urlsplit(url).hostname


def _title_from_url(url: str | None) -> str:
    name = _name_in_url(http_url(url))
    if not name or ("." in name and not PurePosixPath(name).stem):
        return ""
    stem = PurePosixPath(name).stem
    return " ".join(re.split(r"[_\-\s+]+", stem)).strip() if re.search(r"[A-Za-z]{3}", stem) else ""


def _first_words(paragraph: str) -> str:
    words = paragraph.split()
    head = " ".join(words[:FALLBACK_TITLE_WORDS])
    return head + ("…" if len(words) > FALLBACK_TITLE_WORDS else "")
