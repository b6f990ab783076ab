"""One base error and a small hierarchy, so front ends can turn each into one clear line."""

from __future__ import annotations


class StorybotError(Exception):
    """Base of every error the engine raises on purpose; its message is safe to show."""


class CorpusError(StorybotError):
    """The corpus folder or one of its files cannot be used (names the file and the problem)."""


class QuestionError(StorybotError):
    """The question cannot be asked: empty, blank or too long."""


class ModelError(StorybotError):
    """The embedding model cannot be loaded."""


class IndexStoreError(StorybotError):
    """A built index is missing, damaged or incompatible; the message says how to fix it."""


class IndexMissingError(IndexStoreError):
    """No index has been built yet."""


class IndexIncompatibleError(IndexStoreError):
    """The index was built by another model or format version: rebuild it."""


class IndexCorruptError(IndexStoreError):
    """An index file fails its checksum, is truncated or disagrees with the others."""


class BuildInProgressError(StorybotError):
    """Another process holds the build lock."""


class ExtractionError(CorpusError):
    """An uploaded or fetched document cannot become a story: the message says why, in one line
    a user can act on (empty, binary, not UTF-8, the wrong type for its name, no article text,
    a scanned or encrypted PDF)."""


class StoryRefused(CorpusError):
    """A story cannot be added, updated or removed as asked (a title another scope already has, a
    name no story has, the last shared story): the message says why, in one line."""
