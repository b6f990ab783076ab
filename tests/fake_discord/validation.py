"""Discord's documented limits on messages and modals, checked the way the API reports them.

Each validator returns Discord's nested ``errors`` object (``{"content": {"_errors": [...]}}``)
or None, so the server can answer 400/50035 exactly like Discord and tests see which
field broke which limit.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_MODAL_TITLE = 45
COMPONENTS_V2_FLAG = 1 << 15

EMBED_LIMITS = {"title": 256, "description": 4096}


class Errors:
    """Accumulates errors under Discord's path-keyed structure."""

    def __init__(self) -> None:
        self.tree: JSON = {}

    def add(self, path: list[str | int], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def too_long(self, path: list[str | int], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def too_short(self, path: list[str | int], limit: int) -> None:
        self.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length.")

    def required(self, path: list[str | int]) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def result(self) -> JSON | None:
        return self.tree or None


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def _check_embed(embed: JSON, path: list[str | int], errors: Errors) -> int:
    """Validate one embed; returns its character count toward the 6000 total."""
    total = 0
    for key, limit in EMBED_LIMITS.items():
        size = _text_len(embed.get(key))
        total += size
        if size > limit:
            errors.too_long([*path, key], limit)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors.too_long([*path, "fields"], 25)
    for i, fld in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            value = fld.get(key)
            if value is None or value == "":
                errors.required([*path, "fields", i, key])
            elif len(str(value)) > limit:
                errors.too_long([*path, "fields", i, key], limit)
            total += len(str(value or ""))
    footer = (embed.get("footer") or {}).get("text")
    total += _text_len(footer)
    if _text_len(footer) > 2048:
        errors.too_long([*path, "footer", "text"], 2048)
    author = (embed.get("author") or {}).get("name")
    total += _text_len(author)
    if _text_len(author) > 256:
        errors.too_long([*path, "author", "name"], 256)
    return total


def _check_component(comp: JSON, path: list[str | int], errors: Errors, seen: set[str]) -> None:
    """Validate one interactive component (button, select, text input)."""
    custom_id = comp.get("custom_id")
    ctype = comp.get("type")
    if custom_id is not None:
        if len(custom_id) > MAX_CUSTOM_ID:
            errors.too_long([*path, "custom_id"], MAX_CUSTOM_ID)
        if custom_id in seen:
            errors.add(
                [*path, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            )
        seen.add(custom_id)
    if ctype == 2:
        if _text_len(comp.get("label")) > MAX_BUTTON_LABEL:
            errors.too_long([*path, "label"], MAX_BUTTON_LABEL)
        style = comp.get("style")
        if style == 5 and not comp.get("url"):
            errors.required([*path, "url"])
        elif style not in (5, 6) and custom_id is None:
            errors.required([*path, "custom_id"])
    elif ctype in (3, 5, 6, 7, 8):
        if custom_id is None:
            errors.required([*path, "custom_id"])
        if len(comp.get("options") or []) > MAX_SELECT_OPTIONS:
            errors.too_long([*path, "options"], MAX_SELECT_OPTIONS)
        if _text_len(comp.get("placeholder")) > 150:
            errors.too_long([*path, "placeholder"], 150)


def _walk_v2(components: list[JSON], path: list[str | int], errors: Errors, seen: set[str]) -> None:
    for i, comp in enumerate(components):
        _check_component(comp, [*path, i], errors, seen)
        if comp.get("components"):
            _walk_v2(comp["components"], [*path, i, "components"], errors, seen)
        if isinstance(comp.get("accessory"), dict):
            _check_component(comp["accessory"], [*path, i, "accessory"], errors, seen)


def check_components(components: list[JSON], errors: Errors, *, v2: bool, prefix: list[str | int]) -> None:
    """Action-row limits for classic components; per-item limits for Components V2."""
    seen: set[str] = set()
    if v2:
        _walk_v2(components, [*prefix, "components"], errors, seen)
        return
    if len(components) > MAX_ROWS:
        errors.too_long([*prefix, "components"], MAX_ROWS)
    for r, row in enumerate(components):
        path: list[str | int] = [*prefix, "components", r]
        if row.get("type") != 1:
            errors.add([*path, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).')
            continue
        items = row.get("components") or []
        if not items:
            errors.too_short([*path, "components"], 1)
        if len(items) > MAX_ROW_ITEMS:
            errors.too_long([*path, "components"], MAX_ROW_ITEMS)
        if len(items) > 1 and any(c.get("type") in (3, 5, 6, 7, 8) for c in items):
            errors.add(
                [*path, "components"],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for c, comp in enumerate(items):
            _check_component(comp, [*path, "components", c], errors, seen)


def check_message(payload: JSON, *, prefix: list[str | int] | None = None) -> JSON | None:
    """Limits on content, embeds and components of a create or edit payload."""
    errors = Errors()
    base: list[str | int] = list(prefix or [])
    content = payload.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errors.too_long([*base, "content"], MAX_CONTENT)
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors.too_long([*base, "embeds"], MAX_EMBEDS)
    total = sum(_check_embed(e, [*base, "embeds", i], errors) for i, e in enumerate(embeds))
    if total > MAX_EMBED_TOTAL:
        errors.add([*base, "embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    components = payload.get("components") or []
    v2 = bool(int(payload.get("flags") or 0) & COMPONENTS_V2_FLAG)
    check_components(components, errors, v2=v2, prefix=base)
    return errors.result()


def is_empty_message(message: JSON, *, has_files: bool) -> bool:
    """Discord's 50006 rule: nothing to show at all."""
    return not (
        message.get("content")
        or message.get("embeds")
        or message.get("components")
        or message.get("attachments")
        or message.get("sticker_ids")
        or message.get("poll")
        or has_files
    )


def check_modal(data: JSON) -> JSON | None:
    """A MODAL callback's data (title, custom_id, 1-5 top-level components)."""
    errors = Errors()
    title = data.get("title")
    if not title:
        errors.required(["data", "title"])
    elif len(title) > MAX_MODAL_TITLE:
        errors.too_long(["data", "title"], MAX_MODAL_TITLE)
    custom_id = data.get("custom_id")
    if not custom_id:
        errors.required(["data", "custom_id"])
    elif len(custom_id) > MAX_CUSTOM_ID:
        errors.too_long(["data", "custom_id"], MAX_CUSTOM_ID)
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        errors.add(["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    return errors.result()
