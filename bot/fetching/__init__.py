"""Fetching a story's web page safely, for `story add`: public http(s) addresses only, within limits.

Pure checks (`addresses`, `urls`) decide what may be fetched; `resolver` applies them to every
name lookup; `client` does the fetching. Nothing here imports discord.py, so the command line
can use it too.
"""

from bot.fetching.client import fetch_document, fetch_document_sync
from bot.fetching.errors import FetchRefused
from bot.fetching.policy import ACCEPTED_TYPES, FetchedDocument, FetchPolicy

__all__ = ["ACCEPTED_TYPES", "FetchPolicy", "FetchRefused", "FetchedDocument", "fetch_document", "fetch_document_sync"]
