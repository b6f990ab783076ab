"""Turning the bytes of a web page, a PDF or a text file into a story storybot can store.

`extract_story` is the entry point; the extractors and the renderer are usable on their own.
trafilatura and pdfminer.six are imported only when a page or a PDF is extracted.
"""

from index.corpus.extract.article import Article, clean_text
from index.corpus.extract.detect import Kind, detect_kind
from index.corpus.extract.html import extract_html
from index.corpus.extract.pdf import extract_pdf
from index.corpus.extract.render import render_story
from index.corpus.extract.story import ExtractedStory, extract_story

__all__ = [
    "Article",
    "ExtractedStory",
    "Kind",
    "clean_text",
    "detect_kind",
    "extract_html",
    "extract_pdf",
    "extract_story",
    "render_story",
]
