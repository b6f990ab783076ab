"""The pure rules of story management: stored names, titles and uploads, who may, what people are told,
and the log of changes in the records (schema 3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.guard import may_change_stories
from bot.records import _SCHEMA_V1, _SCHEMA_V2, DB_NAME, SCHEMA_VERSION, Records
from bot.story_changes import check_source, check_upload, refusal_text, story_choices
from bot.story_log import format_story_log
from index.corpus.naming import SLUG, check_title, check_upload_name, slugify, story_file_name
from index.errors import BuildInProgressError, IndexStoreError, StoryRefused
from index.types import StorySummary

A, B = 811111111111111111, 822222222222222222


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Council approves the new bus lanes!", "council-approves-the-new-bus-lanes"),
        ("../../etc/passwd", "etc-passwd"),
        ("/absolute/path.txt", "absolute-path-txt"),
        ("Café au lait — naïve", "cafe-au-lait-naive"),
        ("Tokyo東京news", "tokyo-news"),
        ("README", "readme-story"),
        ("  .hidden  ", "hidden"),
        ("x" * 100, "x" * 60),
        ("word " * 30, "-".join(["word"] * 12)),
    ],
)
def test_slugs(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_a_title_without_ascii_letters_still_gets_a_stable_name_of_its_own() -> None:
    name = slugify("日本語のニュース")
    assert name.startswith("story-") and name == slugify("日本語のニュース") != slugify("中文新闻")


@given(st.text(max_size=300))
def test_any_title_gives_a_plain_name(title: str) -> None:
    name = story_file_name(title, ["taken.txt"])
    assert SLUG.fullmatch(name.removesuffix(".txt")) and len(name) <= 64 + 4
    assert "/" not in name and not name.startswith(".") and name.endswith(".txt")


def test_a_taken_name_gets_a_number() -> None:
    assert story_file_name("Bus lanes", []) == "bus-lanes.txt"
    assert story_file_name("Bus lanes?", ["BUS-LANES.txt", "bus-lanes-2.txt"]) == "bus-lanes-3.txt"


def test_titles_and_upload_names_people_give_are_checked() -> None:
    assert check_title("  Bus   lanes ") == "Bus lanes"
    for bad, reason in [
        ("", "empty"),
        ("   ", "empty"),
        ("../..", "letters or digits"),
        ("a\x00b", "control characters"),
        ("line\nbreak", "control characters"),
        ("x" * 201, "201 characters"),
    ]:
        with pytest.raises(StoryRefused, match=reason):
            check_title(bad)
    assert check_upload_name("Bus lanes.md") == "Bus lanes.md"
    for bad, reason in [
        ("../evil.txt", "other folders"),
        ("a\\b.txt", "other folders"),
        (".env", "hidden"),
        ("a\x07.txt", "odd characters"),
        ("", "no plain name"),
        (" x.txt", "no plain name"),
    ]:
        with pytest.raises(StoryRefused, match=reason):
            check_upload_name(bad)


def test_uploads_and_sources_are_checked_before_any_download() -> None:
    check_upload("story.PDF", 10, 100)
    for name, size, reason in [
        ("story.docx", 10, "takes .txt, .md, .html and .pdf"),
        ("story.txt", 101, "101 bytes is more than the 100"),
        ("story.txt", 0, "empty"),
        ("../story.txt", 10, "other folders"),
    ]:
        with pytest.raises(StoryRefused, match=reason):
            check_upload(name, size, 100)
    check_source(True, None)
    check_source(False, "https://example.org")
    with pytest.raises(StoryRefused, match="not both"):
        check_source(True, "https://example.org")
    with pytest.raises(StoryRefused, match="as a file"):
        check_source(False, "  ")
    assert refusal_text(StoryRefused("x")) == "Nothing was added: x"
    assert refusal_text(BuildInProgressError("locked"), removing=True).startswith("Nothing was removed: another build")
    assert "the rebuild failed" in refusal_text(IndexStoreError("disk full"))


def test_who_may_change_which_stories() -> None:
    def may(scope: int | None, **kw: object) -> bool:
        values: dict[str, object] = {
            "user_id": 1,
            "guild_id": A,
            "role_ids": [],
            "manage_guild": False,
            "admin_user_ids": [99],
            "admin_role_ids": [7],
        }
        values.update(kw)
        return may_change_stories(scope=scope, **values)  # type: ignore[arg-type]

    assert may(A, manage_guild=True) and may(A, role_ids=[7]) and not may(A)
    assert not may(B, manage_guild=True) and not may(B, role_ids=[7])  # only in the server itself
    assert not may(None, manage_guild=True) and not may(None, role_ids=[7]) and not may(A, guild_id=None)
    assert may(None, user_id=99) and may(B, user_id=99, guild_id=None)  # listed admin users: any stories


def test_autocomplete_offers_only_the_scopes_own_stories() -> None:
    stories = [
        StorySummary("Shared one", "shared.txt", 1, 1),
        StorySummary("Zoo panda", f"guilds/{A}/zoo-panda.txt", 2, 2),
        StorySummary("Zoo keepers", f"guilds/{A}/zoo-keepers.txt", 2, 2),
        StorySummary("L" * 150, f"guilds/{A}/l.txt", 1, 1),
    ]
    assert [c.value for c in story_choices(stories, A, "zoo")] == ["Zoo panda", "Zoo keepers"]
    long = story_choices(stories, A, "lll")
    assert long[0].value == f"guilds/{A}/l.txt" and len(long[0].name) == 100
    assert [c.value for c in story_choices(stories, None, "")] == ["Shared one"]
    assert story_choices(stories, B, "") == [] and len(story_choices(stories, A, "", limit=2)) == 2


def test_the_records_log_story_changes_from_schema_2_on(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(_SCHEMA_V1)
    db.executescript(_SCHEMA_V2)
    db.execute("PRAGMA user_version=2")
    db.close()
    records = Records.open(tmp_path, retention_days=1, clock=lambda: 1_700_000_000.0)
    try:
        records.record_story_change(
            who=f"discord:{A}", who_name="mod", scope=str(A), action="add", title="Zoo panda",
            file=f"guilds/{A}/zoo-panda.txt", content_hash="ab" * 32, origin="panda.md",
        )  # fmt: skip
        records.record_story_change(
            who="shell:root", who_name=None, scope="shared", action="remove", title="Old",
            file="old.txt", content_hash="cd" * 32, origin=None,
        )  # fmt: skip
        assert records.purge(now=1_800_000_000.0) == 0  # the admin log is not purged with the questions
        log = records.story_log()
        assert [r.action for r in log] == ["remove", "add"]
        assert [r.title for r in records.story_log(scope="shared")] == ["Old"]
        assert [r.title for r in records.story_log(scope=str(A))] == ["Zoo panda"]
        with pytest.raises(sqlite3.IntegrityError):
            records.record_story_change(
                who="x", who_name=None, scope="shared", action="rename", title="t", file="f", content_hash="h",
                origin=None,
            )  # fmt: skip
    finally:
        records.close()
    version = sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION == 3
    text = format_story_log(log)
    assert "remove  shared" in text and f"server {A}" in text and "by discord:" in text and "(mod)" in text
    assert "from panda.md" in text and "sha256 abababababab" in text
    assert log[1].to_json()["changed_at"] == "2023-11-14T22:13:20+00:00"
    assert format_story_log([]) == "No story changes recorded."
