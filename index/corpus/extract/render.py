"""The stored form of a story: front matter, then one paragraph per line.

`parse_story(render_story(...).encode(), "x.txt")` gives back exactly the paragraphs and
metadata rendered, so every quote the engine cuts from the stored file can be checked against
the document it came from.
"""

from __future__ import annotations

from index.corpus.extract.article import clean_text
from index.corpus.stories import split_front_matter


def front_matter_value(value: str) -> str:
    """A value that stays on its line and reads back unchanged.

    White space (newlines included) is collapsed, so no value can end the front matter early;
    a value the reader would unquote (it starts and ends with the same quote mark) is wrapped in
    single quotes, doubling the ones inside.
    """
    cleaned = clean_text(value)
    if _reads_back(cleaned) == cleaned:
        return cleaned
    return "'" + cleaned.replace("'", "''") + "'"


def _reads_back(rendered: str) -> str:
    meta, _ = split_front_matter(f"---\ntitle: {rendered}\n---\n", "front matter")
    return meta.get("title", "")


def render_story(
    paragraphs: list[str] | tuple[str, ...],
    *,
    title: str | None = None,
    source: str | None = None,
    date: str | None = None,
    author: str | None = None,
) -> str:
    """The story as storybot stores it: `---` front matter with the known keys, then the
    paragraphs, each cleaned to one line of single-spaced text."""
    lines = ["---"]
    for key, value in (("title", title), ("source", source), ("date", date), ("author", author)):
        if value is not None and (rendered := front_matter_value(value)):
            lines.append(f"{key}: {rendered}")
    lines.append("---")
    lines.extend(cleaned for paragraph in paragraphs if (cleaned := clean_text(paragraph)))
    return "\n".join(lines) + "\n"
