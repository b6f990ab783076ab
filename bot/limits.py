"""Discord's message limits, and a checker for outgoing payloads (used by render and the tests).

Pure module: no discord import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONTENT = 2000
TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000
EMBEDS = 10
CUSTOM_ID = 100
BUTTON_LABEL = 80
ROWS = 5
ROW_WIDTH = 5


def embed_length(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts towards the 6000 total of one embed."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or ():
        total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def embed_violations(embed: Mapping[str, Any]) -> list[str]:
    """Every way one embed dict breaks Discord's limits (empty when it fits)."""
    problems = []
    for key, limit in (("title", TITLE), ("description", DESCRIPTION)):
        if len(embed.get(key) or "") > limit:
            problems.append(f"embed {key} longer than {limit}")
    if len((embed.get("footer") or {}).get("text") or "") > FOOTER:
        problems.append(f"embed footer longer than {FOOTER}")
    if len((embed.get("author") or {}).get("name") or "") > AUTHOR:
        problems.append(f"embed author longer than {AUTHOR}")
    fields = embed.get("fields") or ()
    if len(fields) > FIELDS:
        problems.append(f"more than {FIELDS} fields")
    for f in fields:
        if not f.get("name") or len(f["name"]) > FIELD_NAME:
            problems.append(f"field name empty or longer than {FIELD_NAME}")
        if not f.get("value") or len(f["value"]) > FIELD_VALUE:
            problems.append(f"field value empty or longer than {FIELD_VALUE}")
    if embed_length(embed) > EMBED_TOTAL:
        problems.append(f"embed longer than {EMBED_TOTAL} in total")
    return problems


def message_violations(payload: Mapping[str, Any]) -> list[str]:
    """Every way a message payload (content, embeds, components) breaks Discord's limits."""
    problems = []
    if len(payload.get("content") or "") > CONTENT:
        problems.append(f"content longer than {CONTENT}")
    embeds = payload.get("embeds") or ()
    if len(embeds) > EMBEDS:
        problems.append(f"more than {EMBEDS} embeds")
    for embed in embeds:
        problems.extend(embed_violations(embed))
    if sum(embed_length(e) for e in embeds) > EMBED_TOTAL:
        problems.append(f"embeds longer than {EMBED_TOTAL} in total")
    rows = payload.get("components") or ()
    if len(rows) > ROWS:
        problems.append(f"more than {ROWS} component rows")
    for row in rows:
        children = row.get("components") or ()
        if len(children) > ROW_WIDTH:
            problems.append(f"more than {ROW_WIDTH} components in a row")
        for child in children:
            if len(child.get("custom_id") or "") > CUSTOM_ID:
                problems.append(f"custom_id longer than {CUSTOM_ID}")
            if len(child.get("label") or "") > BUTTON_LABEL:
                problems.append(f"button label longer than {BUTTON_LABEL}")
    return problems
