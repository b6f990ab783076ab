"""The `storybot` command line. Each command maps to one library call; errors become one line.

Discord is imported only by the commands that talk to it, so `storybot ask` starts fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_ask import ask_stream, format_answer
from bot.cli_common import EXIT_FAILURE, EXIT_USAGE, errors_as_lines, fail, settings_or_fail, setup_logging
from bot.cli_story import story_group
from index.errors import StorybotError

if TYPE_CHECKING:
    from bot.settings import Settings
    from index import Engine


def _quiet_libraries() -> None:
    """Model libraries chatter on stderr; storybot's own log says what matters."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="storybot")
def main() -> None:
    """storybot: answers questions about the stories in a corpus with verbatim, cited quotes.

    Settings come from the environment and a `.env` file in the current folder (see
    `.env.example`); folders are relative to the current folder.
    """
    _quiet_libraries()


@main.group("index")
def index_group() -> None:
    """Build and inspect the search index of the corpus."""


@index_group.command("build")
def index_build() -> None:
    """Embed the corpus and write a fresh index (the old one serves until it is done), then the index of
    every server with stories of its own (only their own text is embedded again).

    Example: storybot index build
    """
    settings = settings_or_fail()
    setup_logging(settings.log_level)
    with errors_as_lines():
        from index import build_index
        from index.corpus.scopes import guilds_with_stories
        from index.embedding.runtime import load_embedder
        from index.library import scope_config

        config = settings.engine_config()
        embedder = load_embedder(config, progress=True)
        report = build_index(config, embedder, progress=True)
        guilds = guilds_with_stories(config.corpus_dir)
    click.echo(
        f"Indexed {report.stories} stories, {report.paragraphs} paragraphs, {report.sentences} sentences "
        f"in {report.seconds:.1f} s → {report.path}"
    )
    failed = False
    for guild in guilds:
        try:
            own = build_index(scope_config(config, guild), embedder, progress=True)
        except StorybotError as exc:
            click.echo(f"storybot: server {guild}: {exc}", err=True)
            failed = True
            continue
        click.echo(f"Indexed server {guild}: {own.stories} stories, {own.sentences} sentences → {own.path}")
    if failed:
        sys.exit(EXIT_FAILURE)


@index_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def index_info_command(as_json: bool) -> None:
    """Show what the index holds, which model built it, and whether the corpus changed since."""
    settings = settings_or_fail()
    with errors_as_lines():
        from index import index_info

        info = index_info(settings.engine_config())
    if as_json:
        from dataclasses import asdict

        click.echo(json.dumps(asdict(info), ensure_ascii=False, indent=2))
        return
    state = {
        True: "stale: the corpus changed since (run `storybot index build`)",
        False: "up to date",
        None: "unknown (corpus unreadable)",
    }[info.stale]
    click.echo(f"Index:      {info.path}")
    click.echo(f"Model:      {info.model} ({info.dimension} dimensions)")
    click.echo(f"Built:      {info.built_at}")
    click.echo(f"Corpus:     {info.corpus_hash} — {state}")
    click.echo(
        f"Contents:   {len(info.stories)} stories, {info.paragraphs} paragraphs, {info.sentences} sentences "
        f"({info.index_kind} search)"
    )
    for story in info.stories:
        click.echo(f"  - {story.title} ({story.file}, {story.paragraphs} ¶)")


def _open_engine(settings: Settings, guild: str | None = None) -> Engine:
    """The engine that answers in `guild` (its own when it has stories of its own), else the shared one."""
    from index import Engine
    from index.corpus.scopes import guild_id_from_text
    from index.library import config_for_guild
    from index.tuning import freeze_loaded_objects, tune_process

    setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
    tune_process()
    config = settings.engine_config()
    if guild is not None:
        config = config_for_guild(config, guild_id_from_text(guild))
    engine = Engine.open(config, build="if-needed", progress=True)
    freeze_loaded_objects()
    return engine


@main.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question (for scripts).")
@click.option(
    "-k",
    "top_k",
    type=click.IntRange(1, 10),
    default=None,
    help="How many quotes at most (default: STORYBOT_TOP_K, 3).",
)
@click.option(
    "--guild",
    default=None,
    metavar="ID",
    help="Ask as in that server: its own stories beside the shared ones (default: the shared stories, as in DMs).",
)
def ask(question: str, as_json: bool, top_k: int | None, guild: str | None) -> None:
    """Answer QUESTION from the corpus, quoting it verbatim with citations.

    The answer says its outcome: answered, unsure (the closest passages; the story may not
    answer exactly) or not in the story. Use - as QUESTION to read questions from standard
    input, one per line (with --json, one JSON object per line comes back, in order, each with
    its "outcome"). A line that is a JSON object {"question": "...", "history": ["earlier
    question", ...]} (oldest first) is answered as a follow-up. Builds the index first if it is
    missing or stale.

    \b
    Examples:
      storybot ask "How many people did the NYPD lock up in 2016?"
      storybot ask --guild 811111111111111111 "When do the bus lanes open?"
      printf 'Who spoke first?\\nWhat did the DOJ say?\\n' | storybot ask --json -
      echo '{"question": "what did he say about ICE?", "history": ["who is Ed Mullins?"]}' | storybot ask --json -
    """
    settings = settings_or_fail()
    k = top_k or settings.top_k
    if question != "-":
        from index import check_question

        with errors_as_lines():
            check_question(question, settings.max_question_chars)
    with errors_as_lines():
        engine = _open_engine(settings, guild)
        if question == "-":
            ask_stream(engine, k, as_json)
            return
        answer = engine.answer(question, k=k)
    click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else format_answer(answer))


@main.command("run")
def run() -> None:
    """Start the Discord bot (needs DISCORD_TOKEN; builds a missing or stale index first)."""
    settings = settings_or_fail()
    from bot.runner import run_bot

    sys.exit(run_bot(settings))


@main.command("sync")
@click.option("--global", "global_", is_flag=True, help="Sync commands to every server (takes up to an hour to show).")
def sync(global_: bool) -> None:
    """Register the slash commands with Discord: in STORYBOT_GUILD_IDS, or globally with --global."""
    settings = settings_or_fail()
    from bot.runner import sync_commands

    sys.exit(sync_commands(settings, global_))


@main.command("invite-url")
def invite_url_command() -> None:
    """Print the link that adds the bot to a server, with the scopes and permissions it needs."""
    settings = settings_or_fail()
    from bot.invite import application_id_from_token, invite_url

    app_id = settings.application_id or application_id_from_token(settings.discord_token)
    if app_id is None:
        fail("set STORYBOT_APPLICATION_ID (the Application ID in the developer portal) or DISCORD_TOKEN", EXIT_USAGE)
    click.echo(invite_url(app_id))


@main.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(as_json: bool) -> None:
    """What the records hold: questions by outcome, votes, unanswered questions, 👎 and judged unsure answers."""
    settings = settings_or_fail()
    with errors_as_lines():
        from bot.records import Records, format_stats

        records = Records.from_settings(settings)
        try:
            figures = records.stats()
        finally:
            records.close()
    if as_json:
        from dataclasses import asdict

        click.echo(json.dumps(asdict(figures), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(format_stats(figures))


@main.command("questions")
@click.option("-n", "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many.")
@click.option(
    "--outcome",
    type=click.Choice(["answered", "unsure", "not_in_story"]),
    default=None,
    help="Only questions with this outcome.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
def questions(limit: int, outcome: str | None, as_json: bool) -> None:
    """What readers asked, newest first: each question's outcome, the quotes given and the votes.

    \b
    Examples:
      storybot questions --outcome unsure
      storybot questions -n 100 --json
    """
    settings = settings_or_fail()
    with errors_as_lines():
        from bot.records import Records, format_questions

        records = Records.from_settings(settings)
        try:
            rows = records.recent(limit, outcome)
        finally:
            records.close()
    if as_json:
        from dataclasses import asdict

        for row in rows:
            click.echo(json.dumps(asdict(row), ensure_ascii=False))
    else:
        click.echo(format_questions(rows, log_questions=settings.log_questions))


@main.command("eval")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default="dev",
    show_default=True,
    help="Which files of a folder (ignored when PATH is a file).",
)
@click.option(
    "--mode",
    type=click.Choice(["own", "pooled", "both"]),
    default="own",
    show_default=True,
    help="own: each question asked of its own story (plus off-story); pooled: of all stories in one corpus.",
)
@click.option(
    "--limit-stories", type=click.IntRange(min=1), default=None, help="Only the first N stories of the stories file."
)
@click.option(
    "--max-questions",
    type=click.IntRange(min=1),
    default=None,
    help="At most N questions, evenly spaced through the questions file.",
)
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A scorer weights file to evaluate instead of the shipped one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_command(
    *,
    path: Path,
    split: str,
    mode: str,
    limit_stories: int | None,
    max_questions: int | None,
    weights: Path | None,
    as_json: bool,
) -> None:
    """Measure answer quality on a QA set: sentence hits, abstention, pooled search, speed.

    PATH is a folder with <split>_stories.jsonl and <split>_questions.jsonl (the format the
    README's "Answer quality" section describes; a SQuAD slice ships in tests/data/qa_dev_subset)
    or one of those files. Indexes are built in memory; nothing is written. Tune on dev; use
    test only to report.

    \b
    Examples:
      storybot eval tests/data/qa_dev_subset --mode both
      storybot eval DATA/squad2 --split test --mode both
    """
    setup_logging("WARNING")
    with errors_as_lines():
        from index.embedding.runtime import load_embedder
        from index.heads import load_heads
        from index.quality.evaluate import evaluate, select_questions
        from index.quality.qa import load_qa_set
        from index.quality.report import format_table
        from index.retrieval.scorer import load_scorer

        qa = select_questions(load_qa_set(path, split, limit_stories=limit_stories), max_questions)
        if qa.name.endswith("/test"):
            click.echo("storybot: evaluating on a test split: report these figures, do not tune on them", err=True)
        scorer = load_scorer(weights) if weights else None
        config = settings_or_fail().engine_config()
        report = evaluate(
            qa,
            load_embedder(config),
            mode=mode,
            scorer=scorer,
            heads=load_heads(config),
            progress=lambda line: click.echo(line, err=True),
        )
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_table(report))


main.add_command(story_group)

if __name__ == "__main__":
    main()
