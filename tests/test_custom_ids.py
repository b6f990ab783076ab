"""Custom ids carry everything a button needs, stay under 100 characters and parse back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.custom_ids import MAX_CUSTOM_ID, QuoteRef, VoteRef, new_answer_id, resolve_story_key, story_key


def test_plain_file_names_are_their_own_key() -> None:
    assert story_key("000_4b5094cc93f72285.txt") == "000_4b5094cc93f72285.txt"


def test_long_or_odd_names_get_a_short_stable_key() -> None:
    odd = "sub dir/" + "ü" * 80 + ".md"
    key = story_key(odd)
    assert key.startswith("~") and len(key) == 11 and key == story_key(odd)
    assert resolve_story_key(key, ["a.txt", odd]) == odd
    assert resolve_story_key(key, ["a.txt"]) is None


@given(
    st.integers(0, 9),
    st.text(min_size=1, max_size=300),
    st.integers(1, 999_999),
    st.integers(0, 9_999_999),
    st.integers(0, 9_999_999),
    st.text(max_size=50),
    st.text(min_size=0, max_size=64, alphabet="0123456789abcdef"),
)
def test_quote_ref_round_trips(
    index: int, file: str, paragraph: int, start: int, end: int, text: str, corpus: str
) -> None:
    ref = QuoteRef.of(index, file, paragraph=paragraph, start=start, end=end, text=text, corpus_hash=corpus)
    custom_id = ref.custom_id()
    assert len(custom_id) <= MAX_CUSTOM_ID
    parsed = QuoteRef.parse(custom_id)
    assert parsed is not None
    assert (parsed.key, parsed.paragraph, parsed.start, parsed.end, parsed.text_hash) == (
        ref.key,
        paragraph,
        start,
        end,
        ref.text_hash,
    )
    assert resolve_story_key(parsed.key, [file]) == file


def test_vote_ref_round_trips() -> None:
    answer_id = new_answer_id()
    for up in (True, False):
        ref = VoteRef(up, answer_id, "abcdef01")
        assert VoteRef.parse(ref.custom_id()) == ref
    assert VoteRef.parse("sb:v:x:0123456789ab:ab") is None
    assert QuoteRef.parse("sb:v:u:0123456789ab:ab") is None
