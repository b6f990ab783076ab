"""Security: the token never reaches a log, a message or the records; admin commands are checked
at run time; nothing a user types reaches the file system; SQL only with parameters; nothing
unpickled.
"""

from __future__ import annotations

import ast
import copy
import io
import logging
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import render
from bot.cogs.admin import admin_check
from bot.custom_ids import QuoteRef, VoteRef, story_key
from bot.logs import REDACTED, RedactToken
from bot.records import DB_NAME, Records
from bot.service import STORY_GONE_TEXT, AskService
from bot.settings import parse_settings
from index import Engine, EngineConfig
from index.store.build import BuildReport
from index.types import Answer, Quote
from tests.bot_fixtures import bot_settings, storybot_running
from tests.doubles import EngineDouble
from tests.e2e import INSULT_Q, assert_sane, show_ids
from tests.fake_discord import DefaultIds, FakeDiscord
from tests.fake_discord.world import MANAGE_GUILD
from tests.helpers import REPO
from tests.reliability_fixtures import (
    REAL_LOOKING_TOKEN,
    WATCHED_TOKENS,
    FileAudit,
    TokenWatch,
    mention,
    outcome_of,
    outside,
    reply_to,
)

EXAMPLES = 100

# -- the token ------------------------------------------------------------------------------


def test_tracebacks_are_redacted_whatever_formats_them() -> None:
    """discord.py's colour formatter (used on a TTY and in Docker) renders exc_info itself; the
    redaction must hold for it, for a plain formatter after it, and for the message and stack."""
    import discord.utils

    streams = [io.StringIO(), io.StringIO()]
    handlers = [logging.StreamHandler(streams[0]), logging.StreamHandler(streams[1])]
    handlers[0].setFormatter(discord.utils._ColourFormatter())
    redactor = RedactToken("fake-bot-token")
    for handler in handlers:
        handler.addFilter(redactor)
    logger = logging.getLogger("storybot.test.colour")
    logger.propagate = False
    for handler in handlers:
        logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"401 for Authorization: Bot fake-bot-token ({REAL_LOOKING_TOKEN})")
        except RuntimeError:
            logger.exception("request with %s failed", "fake-bot-token", stack_info=True)
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    for stream in streams:
        text = stream.getvalue()
        assert "fake-bot-token" not in text and REAL_LOOKING_TOKEN not in text, text
        assert "Traceback (most recent call last)" in text and "RuntimeError: 401 for Authorization: Bot" in text
        assert text.count(REDACTED) >= 4  # message, exception (twice), stack


def test_settings_never_show_the_token() -> None:
    settings = parse_settings({"DISCORD_TOKEN": REAL_LOOKING_TOKEN})
    assert REAL_LOOKING_TOKEN not in repr(settings) and REAL_LOOKING_TOKEN not in str(settings)
    with pytest.raises(Exception) as raised:
        parse_settings({"DISCORD_TOKEN": REAL_LOOKING_TOKEN, "STORYBOT_TOP_K": "x"})
    assert REAL_LOOKING_TOKEN not in str(raised.value)


# -- admin commands ---------------------------------------------------------------------------


async def test_every_admin_command_refuses_non_admins_at_run_time(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    fake = fake_discord
    other_guild, other_channel, other_mod, other_mod_role = (
        811111111111111177,
        822222222222222277,
        833333333333333377,
        844444444444444477,
    )
    editor, editor_role, lookalike_role = 833333333333333378, 844444444444444478, 844444444444444479
    fake.add_user(other_mod, "elsewhere-mod")
    fake.add_guild(other_guild, "Another Server", other_mod)
    fake.add_role(other_guild, other_mod_role, "Mods", MANAGE_GUILD)
    fake.add_member(other_guild, other_mod, roles=[other_mod_role])
    fake.add_member(other_guild, DefaultIds.admin)  # the host's admin, but only a member here
    fake.add_channel(other_guild, other_channel, "general")
    fake.add_role(DefaultIds.guild, editor_role, "Editors", 0)
    fake.add_role(DefaultIds.guild, lookalike_role, "Admins", 0)  # named like admins, not listed
    fake.add_member(DefaultIds.guild, editor, "editor", roles=[editor_role])
    fake.add_member(DefaultIds.guild, DefaultIds.member, roles=[lookalike_role])
    settings = bot_settings(
        fake,
        tmp_path / "data",
        engine_config,
        STORYBOT_ADMIN_ROLE_IDS=str(editor_role),
        STORYBOT_ADMIN_USER_IDS=str(DefaultIds.owner),
    )
    # `rebuilt` returns at once and counts, so admin checks can be tested fast.
    counting = EngineDouble(
        engine, rebuild=lambda double: (double, BuildReport(1, 14, 40, 0.01, Path("gen-x"), 0, engine.corpus_hash))
    )
    async with storybot_running(fake, settings, lambda: counting) as bot:  # type: ignore[arg-type, return-value]
        admin_commands = [
            c for c in fake.guild_commands[DefaultIds.guild] if c.get("default_member_permissions") is not None
        ]
        assert [c["name"] for c in admin_commands] == ["reindex"]
        for (
            command
        ) in bot.tree.walk_commands():  # every command Discord hides from non-admins is also checked by the bot
            if getattr(command, "default_permissions", None) is not None:
                assert admin_check in command.checks, command.name
        for command in admin_commands:  # as if registered in another server and globally (DMs) too
            definition = {
                k: v
                for k, v in copy.deepcopy(command).items()
                if k not in ("id", "guild_id", "application_id", "version")
            }
            fake.register_command(definition, guild_id=other_guild)
            fake.register_command(definition, guild_id=None)

        refused = [
            ("plain member of the host's server", {"user_id": DefaultIds.member}),
            ("Manage Server in another server", {"user_id": other_mod, "guild_id": other_guild}),
            ("the host's admin in another server", {"user_id": DefaultIds.admin, "guild_id": other_guild}),
            ("plain member in a DM", {"user_id": DefaultIds.member, "dm": True}),
            ("Manage Server holder in a DM", {"user_id": DefaultIds.admin, "dm": True}),
            ("listed role's member in a DM (roles count only in servers)", {"user_id": editor, "dm": True}),
        ]
        allowed = [
            ("Manage Server on the host's server", {"user_id": DefaultIds.admin}),
            ("a listed admin role", {"user_id": editor}),
            ("a listed admin user, in a DM", {"user_id": DefaultIds.owner, "dm": True}),
        ]
        for command in admin_commands:
            for who, where in refused:
                callback = await (await fake.slash_command(command["name"], **where)).wait_response()
                assert callback["type"] == 4 and callback["data"]["flags"] & 64, who
                assert callback["data"]["content"] == render.NOT_ADMIN_TEXT, who
            await fake.wait_until(lambda: not bot.reindexing)
            assert counting.rebuilds == 0  # a refusal has no effect
            for n, (who, where) in enumerate(allowed, start=1):
                handle = await fake.slash_command(command["name"], **where)
                assert (await handle.wait_response())["data"]["content"] == render.REINDEX_STARTED_TEXT, who
                await handle.wait_followup(timeout=10)
                assert counting.rebuilds == n, who
        assert_sane(fake)
    records = (tmp_path / "data").iterdir()
    assert not any(
        token.encode() in path.read_bytes() for path in records if path.is_file() for token in WATCHED_TOKENS
    )


# -- nothing a user types reaches the file system ------------------------------------------

HOSTILE_IDS = [
    "sb:p:0:../../etc/passwd:1:0:5:abcdef01:12345678",
    "sb:p:0:..%2F..%2Fetc%2Fpasswd:1:0:5:abcdef01:12345678",
    "sb:p:0:..\\..\\boot.ini:1:0:5:abcdef01:12345678",
    "sb:p:0:/etc/passwd:1:0:5:abcdef01:12345678",
    "sb:p:0:story.txt\x00.png:1:0:5:abcdef01:12345678",
    "sb:p:0:story.txt:1:0:5:abcdef01:12345678\n",
    "sb:p:0:ﾠ.txt:1:0:5:abcdef01:12345678",
    "sb:p:0:" + "a" * 41 + ":1:0:5:abcdef01:12345678",
    "sb:p:0:story.txt:-1:0:5:abcdef01:12345678",
    "sb:p:0:story.txt:1:0:99999999:abcdef01:12345678",
    "sb:v:u:../../etc:abcdef01",
    "sb:v:u:0123456789ab:abcdef01; DROP TABLE votes",
]
PARSEABLE_BUT_NOWHERE = ["..", ".", "...", "-", "_", "..txt", "~0123456789"]


@pytest.mark.parametrize("custom_id", HOSTILE_IDS)
def test_hostile_custom_ids_do_not_parse(custom_id: str) -> None:
    assert QuoteRef.parse(custom_id) is None and VoteRef.parse(custom_id) is None


@pytest.mark.parametrize("key", PARSEABLE_BUT_NOWHERE)
def test_a_story_key_only_names_a_story_the_engine_already_holds(key: str, engine: Engine) -> None:
    ref = QuoteRef.parse(f"sb:p:0:{key}:1:0:5:abcdef01:12345678")
    assert ref is not None and ref.key == key
    service = AskService(parse_settings({}))
    service.engine = engine
    with FileAudit.recording() as touched:
        assert service.paragraph(ref) == STORY_GONE_TEXT
    assert not touched  # resolved against the loaded stories only; no file is opened


def test_the_file_audit_sees_what_is_opened_listed_and_removed(tmp_path: Path) -> None:
    with FileAudit.recording() as touched:
        (tmp_path / "x.txt").write_text("x")
        list(tmp_path.iterdir())
        (tmp_path / "x.txt").unlink()
        sqlite3.connect(tmp_path / "db.sqlite3").close()
    events = {(event, Path(path).name) for event, path in touched}
    assert {("open", "x.txt"), ("os.remove", "x.txt"), ("sqlite3.connect", "db.sqlite3")} <= events
    assert any(event in ("os.listdir", "os.scandir") for event, _ in touched)
    assert outside(touched, [tmp_path]) == [] and outside(touched, []) != []


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    custom_id=st.one_of(
        st.text(max_size=120),
        st.builds(
            lambda key, p, a, b: f"sb:p:0:{key}:{p}:{a}:{b}:abcdef01:12345678",
            st.text(alphabet=st.sampled_from(list("./\\~-_aZ09%:\x00")), min_size=1, max_size=45),
            st.integers(0, 10**6),
            st.integers(0, 10**7),
            st.integers(0, 10**7),
        ),
    )
)
def test_any_custom_id_parses_safely_and_opens_nothing(custom_id: str, engine: Engine) -> None:
    service = AskService(parse_settings({}))
    service.engine = engine
    with FileAudit.recording() as touched:
        ref = QuoteRef.parse(custom_id)
        vote = VoteRef.parse(custom_id)
        shown = service.paragraph(ref) if ref is not None else None
    assert not touched
    if ref is not None:
        assert "/" not in ref.key and "\\" not in ref.key and "\x00" not in ref.key
        assert ref.key in {story_key(s.file) for s in engine.stories} or shown == STORY_GONE_TEXT
    if vote is not None:
        assert len(vote.answer_id) == 12 and all(c in "0123456789abcdef" for c in vote.answer_id)


PATH_QUESTIONS = [
    "../../../../etc/passwd",
    "What does /etc/shadow say about the NYPD?",
    "file:///proc/self/environ who called it an insult?",
    "C:\\Windows\\system32\\config\\SAM",
    "$(cat ~/.ssh/id_rsa) `rm -rf /` ; cat .env",
    "{corpus_dir}/../data/records.key",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd \x00 .env",
]


async def test_questions_and_buttons_never_touch_files_outside_the_bots_folders(
    fake_discord: FakeDiscord,
    engine: Engine,
    engine_config: EngineConfig,
    tmp_path: Path,
) -> None:
    """Hostile questions by every route, and clicks on tampered buttons, while an audit hook lists
    every file the process opens, lists, creates or removes."""
    fake = fake_discord
    data = tmp_path / "data"
    allowed = [data, engine_config.corpus_dir, engine_config.index_dir]
    async with storybot_running(fake, bot_settings(fake, data, engine_config), lambda: engine):
        answer = await (await fake.slash_command("ask", {"question": INSULT_Q})).final_message()
        with FileAudit.recording() as touched:
            for n, template in enumerate(PATH_QUESTIONS):
                question = template.format(corpus_dir=engine_config.corpus_dir)
                user = (DefaultIds.member, DefaultIds.admin, DefaultIds.owner)[n % 3]
                handle = await fake.slash_command("ask", {"question": question}, user_id=user)
                assert outcome_of(await handle.final_message(timeout=10)) in ("answered", "refused")
                asked = await mention(fake, question, author=user)
                assert outcome_of(await reply_to(fake, int(asked["id"]))) in ("answered", "refused")

            # A tampered copy of an answer whose buttons name files outside the corpus.
            tampered = copy.deepcopy(fake.get_message(int(answer["id"])))
            tampered["id"] = str(fake.snowflakes.next())
            hostile = [
                *HOSTILE_IDS[:4],
                "sb:p:0:..:1:0:5:abcdef01:12345678",
                "sb:p:1:~0123456789:1:0:5:abcdef01:12345678",
            ]
            tampered["components"] = [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 2, "label": "x", "custom_id": cid} for cid in hostile[i : i + 5]
                    ],
                }
                for i in range(0, len(hostile), 5)
            ]
            fake.store.put(tampered)
            for custom_id in hostile:
                click = await fake.click_button(tampered, custom_id)
                if QuoteRef.parse(custom_id) is not None:  # names no story the bot holds
                    assert (await click.final_message())["content"] == STORY_GONE_TEXT
            shown = await (
                await fake.click_button(answer, show_ids(answer)[0])
            ).final_message()  # the real one still works
            assert shown["embeds"]
        assert not outside(touched, allowed), outside(touched, allowed)
        assert not any("passwd" in path or "shadow" in path or ".ssh" in path for _, path in touched)
    fake.expired_interactions.clear()  # the unparseable clicks are ignored by design (Discord never sends them)
    assert_sane(fake)


# -- SQL and pickles ------------------------------------------------------------------------

SQLISH = st.sampled_from(
    [
        "'",
        '"',
        ";",
        "--",
        "/*",
        "*/",
        "DROP TABLE questions;",
        "' OR '1'='1",
        "\\",
        "%",
        "_",
        "?",
        ":name",
        "\x00",
        "\u202e",
        "😀",
        "NULL",
    ]
)
TEXTISH = st.lists(st.one_of(st.text(max_size=20), SQLISH), max_size=12).map("".join)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=TEXTISH.filter(bool), context=st.one_of(st.none(), TEXTISH), story=TEXTISH.filter(bool), via=TEXTISH)
def test_hostile_text_round_trips_through_the_records_exactly(
    tmp_path_factory: pytest.TempPathFactory, question: str, context: str | None, story: str, via: str
) -> None:
    data = tmp_path_factory.mktemp("records")
    records = Records.open(data)
    try:
        quote = Quote("q", story, f"{story}.txt", 1, 0, 1, 0.5, None)
        answer = Answer(question, (quote,), 0.2, 0.5, "abc", 0.01)
        records.record_answer(
            answer_id="0123456789ab", user_id=42, via=via, answer=answer, latency=0.01, context=context
        )
        records.record_vote(answer_id="0123456789ab", user_id=7, up=False)
        stats = records.stats()
        assert [u.question for u in stats.unanswered] == [question]
        assert stats.downvoted[0].citations == (f"{story} ¶1",)
    finally:
        records.close()
    with sqlite3.connect(data / DB_NAME) as db:
        row = db.execute("SELECT question, context, via FROM questions").fetchone()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert row == (question, context, via)
    assert tables == {"questions", "quotes", "votes", "story_changes"}  # the admin log of story changes


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((REPO / folder).rglob("*.py"))]


def test_index_files_are_never_unpickled() -> None:
    """No pickle-family import in the engine or the bot; every np.load passes allow_pickle=False;
    no torch.load without weights_only=True."""
    banned = {"pickle", "cPickle", "dill", "joblib", "shelve", "cloudpickle", "marshal"}
    problems = []
    for path in _python_files("index", "bot"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [f"{path}: import {a.name}" for a in node.names if a.name.split(".")[0] in banned]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in banned:
                problems.append(f"{path}: from {node.module} import")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = ast.unparse(node.func)
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                if name in ("np.load", "numpy.load") and keywords.get("allow_pickle") != "False":
                    problems.append(f"{path}:{node.lineno}: {name} without allow_pickle=False")
                if name == "torch.load" and keywords.get("weights_only") != "True":
                    problems.append(f"{path}:{node.lineno}: torch.load without weights_only=True")
                if name.endswith(("read_pickle", "pickle.loads", "pickle.load")):
                    problems.append(f"{path}:{node.lineno}: {name}")
    assert not problems, problems


def test_sql_is_only_ever_a_constant_string() -> None:
    """Every execute/executemany in the records gets a literal SQL string (values go as parameters)."""
    problems = []
    for path in _python_files("bot", "index"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany", "executescript")
            ):
                sql = node.args[0] if node.args else None
                constant = isinstance(sql, ast.Constant) and isinstance(sql.value, str)
                pragma = isinstance(sql, ast.JoinedStr) and ast.unparse(sql).startswith("f'PRAGMA user_version=")
                loop_over_schema = isinstance(sql, ast.Name) and sql.id == "statement"  # the literal schema, split
                if not (constant or pragma or loop_over_schema):
                    problems.append(f"{path}:{node.lineno}: {ast.unparse(node)[:100]}")
    assert not problems, problems


def test_no_log_line_of_the_e2e_runs_so_far_holds_the_token(token_watch: TokenWatch) -> None:
    """The watch sees every log record (DEBUG included) of the session's e2e bots; the session's
    end checks the rest (see `token_watch`)."""
    assert any(line.startswith("discord.") for line in token_watch.lines), "the watch saw no discord.py log line"
    assert not token_watch.leaks(), token_watch.leaks()[:3]
