"""Which kind of document some bytes are: its name, its content type and its first bytes must agree.

A name or a content type is only a claim; the bytes decide. A `.txt` that is really a PDF, an
image or a zip file is refused rather than stored as a story of garbage, and a `.pdf` that is
not one is refused before a parser sees it.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from index.errors import ExtractionError

Kind = Literal["txt", "md", "html", "pdf"]
KINDS: tuple[Kind, ...] = ("txt", "md", "html", "pdf")

SUFFIXES: dict[str, Kind] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
}
CONTENT_TYPES: dict[str, Kind] = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
}
# Content types that say nothing about the kind: the name and the bytes decide.
VAGUE_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (WebP, WAV or AVI)"),
    (b"PK\x03\x04", "a zip archive (or a Word, OpenDocument or EPUB file)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)
_HTML_TAG = re.compile(rb"<(?:p|div|br|article|section|span|a|h[1-6]|table|li|main)\b[^>]*>", re.I)
_SNIFF_BYTES = 4096
_PDF_MAGIC_WINDOW = 1024  # the PDF specification lets the header start this far in
_KIND_NAMES = {"txt": "a plain-text file", "md": "a Markdown file", "html": "a web page (HTML)", "pdf": "a PDF"}


def kind_of_name(filename: str | None) -> Kind | None:
    if not filename:
        return None
    return SUFFIXES.get(PurePosixPath(filename.replace("\\", "/")).suffix.lower())


def kind_of_content_type(content_type: str | None) -> Kind | None:
    """The kind a content type names; None when it says nothing useful (missing or octet-stream)."""
    mime = media_type(content_type)
    return CONTENT_TYPES.get(mime)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset_of(content_type: str | None) -> str | None:
    match = re.search(r";\s*charset\s*=\s*\"?([A-Za-z0-9._:-]+)", content_type or "", re.I)
    return match.group(1) if match else None


def sniff(data: bytes) -> str:
    """'pdf', 'html', 'text' or a description of a binary format ('a PNG image', 'binary')."""
    head = data[:_SNIFF_BYTES]
    if b"%PDF-" in data[:_PDF_MAGIC_WINDOW]:
        return "pdf"
    for magic, description in _BINARY_MAGIC:
        if head.startswith(magic):
            return description
    if head.startswith((b"\xfe\xff", b"\xff\xfe")):
        return "UTF-16 text (save it as UTF-8)"
    if b"\x00" in head:
        return "binary"
    if _HTML_START.match(head.removeprefix(b"\xef\xbb\xbf")) or len(_HTML_TAG.findall(head)) >= 3:
        return "html"
    return "text"


def detect_kind(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> Kind:
    """The document's kind, or an ExtractionError saying why its name, type and bytes disagree
    (the message is the reason alone: the caller puts the document's name before it)."""
    by_name = kind_of_name(filename)
    by_type = kind_of_content_type(content_type)
    mime = media_type(content_type)
    if filename and by_name is None and "." in PurePosixPath(filename).name and by_type is None:
        raise ExtractionError(f"storybot reads .txt, .md, .html and .pdf files, not {_suffix(filename)} files")
    if by_type is None and mime not in VAGUE_CONTENT_TYPES:
        raise ExtractionError(f"its type {mime} is not one storybot reads (text, Markdown, HTML or PDF)")
    if by_name and by_type and not _agree(by_name, by_type):
        raise ExtractionError(
            f"the name says {_KIND_NAMES[by_name]} but the content type {mime} says {_KIND_NAMES[by_type]}"
        )
    claimed = by_name or by_type
    found = sniff(data)
    if claimed is None:
        sniffed: dict[str, Kind] = {"pdf": "pdf", "html": "html", "text": "txt"}
        if found in sniffed:
            return sniffed[found]
        raise ExtractionError(f"this is {found}, not a story; storybot reads text, Markdown, HTML and PDF")
    _check_bytes(claimed, found)
    return claimed


def _check_bytes(claimed: Kind, found: str) -> None:
    what = _KIND_NAMES[claimed]
    if claimed == "pdf":
        if found != "pdf":
            raise ExtractionError("it should be a PDF but does not start like one (%PDF-)")
        return
    if found == "pdf":
        raise ExtractionError(f"it should be {what} but it is a PDF; name it .pdf")
    if found not in ("html", "text"):
        raise ExtractionError(f"it should be {what} but it is {found}")
    if claimed == "html" and found != "html":
        raise ExtractionError("it should be a web page but has no HTML markup")
    if claimed in ("txt", "md") and found == "html":
        raise ExtractionError(f"it should be {what} but it is a web page (HTML); name it .html")


def _agree(by_name: Kind, by_type: Kind) -> bool:
    # Markdown is often served, and attached, as text/plain.
    return by_name == by_type or (by_type == "txt" and by_name == "md")


def _suffix(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower()
