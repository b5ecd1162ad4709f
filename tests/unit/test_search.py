"""Search over titles, prompts, answers and traces: what the history screen's search box calls."""

import sqlite3
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r1chat import store as store_module
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.search import CLOSE, OPEN, SearchHit, excerpt, fts_query, parse_snippet, plain_snippet, term_spans
from r1chat.store import Store


@pytest.fixture(params=["fts5", "like"])
def store(request, tmp_path, monkeypatch):
    """Every behaviour holds with the FTS5 index and with the LIKE fallback of a SQLite without it."""
    if request.param == "like":
        monkeypatch.setattr(store_module, "fts5_available", lambda: False)
    s = Store(tmp_path / "r1chat.db")
    assert s._full_text is (request.param == "fts5")
    yield s
    s.close()


def chat(store, title, prompt, answer, trace="", model="deepseek-r1:8b", when=None):
    conversation = Conversation(title=title)
    for message in (Message(Role.USER, prompt), Message(Role.ASSISTANT, answer, reasoning=trace, model=model)):
        store.add_message(conversation, message)
        conversation.messages.append(message)
    if when is not None:
        store._db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (when, conversation.id))
    return conversation


def where(hits):
    return [(h.conversation_id, h.where) for h in hits]


def test_a_word_is_found_in_a_title_a_prompt_an_answer_and_a_trace(store):
    titled = chat(store, "Quaternion rotations", "how?", "like so")
    prompted = chat(store, "one", "What is a quaternion?", "a number system")
    answered = chat(store, "two", "rotate a vector", "Use a unit quaternion.")
    traced = chat(store, "three", "rotate again", "q v q*", trace="The quaternion sandwich product.")
    hits = store.search("quaternion", per_conversation=None)
    assert set(where(hits)) == {
        (titled.id, "title"),
        (prompted.id, "prompt"),
        (answered.id, "answer"),
        (traced.id, "trace"),
    }
    trace_hit = next(h for h in hits if h.where == "trace")
    assert trace_hit.message_id == traced.messages[1].id
    assert trace_hit.conversation_title == "three"
    assert next(h for h in hits if h.where == "title").message_id is None


def test_words_spread_over_an_answer_and_its_trace_are_found_in_the_trace(store):
    chat(store, "t", "p", "The answer mentions a walrus.", trace="The trace mentions a narwhal.")
    [hit] = store.search("walrus narwhal")
    assert hit.where == "trace" and [hit.snippet[a:b] for a, b in hit.matches] == ["narwhal"]
    assert [h.where for h in store.search("walrus mentions")] == ["answer"]


def test_typing_part_of_the_last_word_already_finds_it(store):
    chat(store, "t", "p", "a", trace="Using quaternions avoids gimbal lock.")
    for typed in ("q", "quat", "quaternio", "gimbal lo", "GIMBAL LOCK"):
        assert where(store.search(typed)) != [], typed
    assert store.search("quaternionz") == []
    if store._full_text:
        # Only the word being typed is a prefix: a finished word must match whole.
        assert store.search("gim lock") == []


def test_every_word_must_appear_and_the_match_is_marked_in_a_one_line_snippet(store):
    chat(store, "t", "p", "Rayleigh scattering\n\nmakes the   sky blue, not [bold]markup[/bold].")
    chat(store, "t2", "p", "Rayleigh was a physicist.")
    [hit] = store.search("sky rayleigh")
    assert "\n" not in hit.snippet and "  " not in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.matches] == ["Rayleigh", "sky"]
    assert "[bold]markup[/bold]" in hit.snippet  # text stays text; the UI escapes it
    assert hit.marked("<", ">").startswith("<Rayleigh> scattering makes the <sky> blue")


def test_a_long_trace_gives_a_short_snippet_around_the_match(store):
    trace = " ".join(f"filler{n}" for n in range(3000)) + " the needle is here " + "more " * 3000
    chat(store, "t", "p", "answer", trace=trace)
    [hit] = store.search("needle")
    assert hit.where == "trace"
    assert len(hit.snippet) < 200
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert [hit.snippet[a:b] for a, b in hit.matches] == ["needle"]


def test_control_characters_in_stored_text_never_reach_the_snippet(store):
    chat(store, "t", "p", "evil \x1b]52;c;aGk=\x07 clipboard \x02fake\x03 marks")
    [hit] = store.search("clipboard")
    assert not any(ord(c) < 32 for c in hit.snippet)
    assert hit.snippet[slice(*hit.matches[0])] == "clipboard"


def test_best_match_first_then_the_most_recent(store):
    if not store._full_text:
        pytest.skip("without FTS5 there is no relevance, only recency")
    once = chat(store, "a", "p", "kettle " + "other words " * 30, when=3000.0)
    often = chat(store, "b", "p", "kettle kettle kettle and a kettle", when=1000.0)
    old_tie = chat(store, "c", "p", "teapot", when=1000.0)
    new_tie = chat(store, "d", "p", "teapot", when=2000.0)
    assert [h.conversation_id for h in store.search("kettle")] == [often.id, once.id]
    assert [h.conversation_id for h in store.search("teapot")] == [new_tie.id, old_tie.id]


def test_without_fts5_the_newest_conversation_comes_first(store):
    older = chat(store, "a", "p", "kettle", when=1000.0)
    newer = chat(store, "b", "p", "kettle", when=2000.0)
    assert [h.conversation_id for h in store.search("kettle")] == [newer.id, older.id]


def test_one_hit_per_conversation_unless_asked_for_all(store):
    conversation = chat(store, "kettle talk", "about a kettle", "the kettle boils", trace="kettle physics")
    assert len(store.search("kettle")) == 1
    hits = store.search("kettle", per_conversation=None)
    assert {h.conversation_id for h in hits} == {conversation.id}
    assert {h.where for h in hits} == {"title", "prompt", "answer"}
    assert len(store.search("kettle", limit=2, per_conversation=None)) == 2


def test_a_conversation_is_one_hit_counting_its_matches_and_naming_the_turn_of_the_best(store):
    conversation = Conversation(title="Ferns")
    turns = [("about ferns", "spores"), ("and mosses?", "mosses make spores too"), ("trees?", "no"),
             ("spores again", "spores spores spores")]
    for prompt, answer in turns:
        for message in (Message(Role.USER, prompt), Message(Role.ASSISTANT, answer)):
            store.add_message(conversation, message)
    other = chat(store, "Other", "p", "one spores here", when=1.0)
    hits = store.search("spores")
    # Best match first (FTS5), the newest first (LIKE): the same order here.
    assert [h.conversation_id for h in hits] == [conversation.id, other.id]
    best = hits[0]
    # The answers of turns 1, 2 and 4 and the prompt of turn 4.
    assert best.match_count == 4 and hits[1].match_count == 1
    assert best.where in ("prompt", "answer") and best.turn in (1, 2, 4)
    if store._full_text:
        assert (best.turn, best.where) == (4, "answer")  # the answer that says it most
    assert hits[1].turn == 1


def test_a_title_hit_gives_way_to_a_message_of_the_same_conversation(store):
    conversation = chat(store, "Kettle descaling", "how do I descale it?", "vinegar dissolves kettle scale")
    [hit] = store.search("kettle")
    assert (hit.where, hit.message_id, hit.turn) == ("answer", conversation.messages[1].id, 1)
    assert hit.match_count == 2  # the title and the answer
    [title_only] = store.search("descaling")
    assert (title_only.where, title_only.turn, title_only.match_count) == ("title", None, 1)


def test_the_turn_of_an_edited_prompt_is_the_turn_it_replaced(store):
    conversation = chat(store, "t", "first prompt", "first answer")
    chat_turn = [Message(Role.USER, "second prompt"), Message(Role.ASSISTANT, "second answer")]
    for message in chat_turn:
        store.add_message(conversation, message)
    edited = Message(Role.USER, "second prompt, walrus edition", exchange_id=chat_turn[0].id)
    store.add_message(conversation, edited)
    store.add_message(conversation, Message(Role.ASSISTANT, "walrus answer", exchange_id=chat_turn[0].id,
                                            reply_to=edited.id))
    hits = store.search("walrus", per_conversation=None)
    assert {h.turn for h in hits} == {2} and len(hits) == 2


def test_an_answer_is_searchable_once_it_stops_streaming(store):
    conversation = Conversation(title="t")
    store.add_message(conversation, Message(Role.USER, "p"))
    answer = Message(Role.ASSISTANT, status=MessageStatus.STREAMING)
    store.add_message(conversation, answer)
    for piece in ("Bernoulli ", "says ", "lift"):
        answer.reasoning += piece
        store.save_message(answer)
    if store._full_text:
        assert store.search("bernoulli") == []  # streaming saves leave the index alone
    answer.content, answer.status = "Lift.", MessageStatus.DONE
    store.save_message(answer)
    assert where(store.search("bernoulli")) == [(conversation.id, "trace")]


def test_an_answer_left_streaming_by_a_crash_is_searchable_after_recovery(store, tmp_path):
    conversation = Conversation(title="t")
    answer = Message(Role.ASSISTANT, "half of a zeppelin", status=MessageStatus.STREAMING)
    store.add_message(conversation, answer)
    store._db.execute("UPDATE messages SET writer_pid = NULL")
    assert store.recover_interrupted() == 1
    assert where(store.search("zeppelin")) == [(conversation.id, "answer")]


def test_deleted_renamed_and_replaced_text_is_no_longer_found(store):
    kept = chat(store, "kept", "p", "walrus")
    gone = chat(store, "gone", "p", "walrus")
    store.delete_conversation(gone.id)
    assert [h.conversation_id for h in store.search("walrus")] == [kept.id]
    # r1chat deletes no message by itself (a retry adds a version); another program might.
    store._db.execute("DELETE FROM messages WHERE id = ?", (kept.messages[1].id,))
    assert store.search("walrus") == []
    store.rename_conversation(kept.id, "Narwhal facts")
    assert store.search("kept") == []
    assert where(store.search("narwhal")) == [(kept.id, "title")]


@pytest.mark.parametrize("typed", ['"', "AND", "*", "(", "NEAR", "NEAR(a b)", "a OR", "title:x", "{content}: x",
                                   "^", "-", "x\x00y", "\x00", '""', "'", "a\"b", "é", "日本語", "🙂", "", "   ", "\\",
                                   "bad\udcff byte", "\ud800"])
def test_odd_input_never_raises(store, typed):
    chat(store, "AND NEAR title", 'say "x" and a OR b', "日本語の答え", trace="e\u0301tude (a*b)")
    assert isinstance(store.search(typed), list)


def test_fts_operators_typed_by_the_user_are_plain_words(store):
    chat(store, "t", "p", "salt AND pepper")
    chat(store, "t", "p", "salt pepper")
    chat(store, "t", "p", "salt only")
    # "AND" is a word to find, not the operator (which would also match "salt pepper").
    assert len(store.search("salt AND pepper")) == 1
    assert len(store.search("salt OR")) == 0


def test_accents_do_not_matter(store):
    if not store._full_text:
        pytest.skip("LIKE compares accents as they are")
    chat(store, "t", "p", "a naïve café crème")
    assert len(store.search("naive cafe creme")) == 1
    assert len(store.search("CAFÉ")) == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(st.characters(exclude_categories=()), max_size=40)
       | st.lists(st.sampled_from(['"', "AND", "OR", "NOT", "NEAR", "*", "(", ")", "^",
                                   ":", "{", "}", "+", "-", "quat", "é", "\x00", " "]),
                  max_size=12).map("".join))
def test_no_typed_text_makes_search_raise(store, typed):
    if not store.search("seed"):
        chat(store, "seed conversation", "a prompt", "an answer with quaternions", trace="a trace (with) \"quotes\"")
    for hit in store.search(typed, per_conversation=None):
        assert isinstance(hit, SearchHit)
        assert all(0 <= a < b <= len(hit.snippet) for a, b in hit.matches)


def test_the_query_quotes_every_word_and_makes_the_last_a_prefix():
    assert fts_query("quaternio") == '"quaternio"*'
    assert fts_query('say "hi" AND bye') == '"say" """hi""" "AND" "bye"*'
    assert fts_query("* ( ) ^ :") is None
    assert fts_query("") is None
    assert fts_query(" ".join(["w"] * 100)).count('"w"') == 16


@given(st.text())
def test_every_built_query_parses_in_fts5(text):
    query = fts_query(text)
    if query is None:
        return
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO t VALUES ('some text')")
    db.execute("SELECT * FROM t WHERE t MATCH ?", (query,)).fetchall()


@given(st.lists(st.tuples(st.text(), st.booleans()), max_size=8))
def test_snippet_parsing_keeps_each_marked_term_as_a_span(parts):
    marked = "".join(OPEN + text + CLOSE if hit else text for text, hit in parts)
    snippet, spans = parse_snippet(marked)
    assert OPEN not in snippet and CLOSE not in snippet
    assert snippet == snippet.strip(" ") and "\n" not in snippet
    assert all(0 <= a < b <= len(snippet) for a, b in spans)
    assert list(spans) == sorted(spans)


def test_a_snippet_made_without_fts5_is_cut_at_words_and_marks_every_term():
    text = "alpha " * 40 + "the Needle and another needle " + "omega " * 40
    snippet, spans = plain_snippet(text, ["needle"], width=80)
    assert snippet.startswith("… alpha") or snippet.startswith("…alpha")
    assert snippet.endswith("…")
    assert [snippet[a:b] for a, b in spans] == ["Needle", "needle"]


def test_the_excerpt_of_a_long_text_shows_the_window_with_the_most_different_words():
    text = "alpha " * 40 + "the Needle and another needle " + "omega " * 40 + " needle near the haystack " + "z " * 40
    snippet, spans = plain_snippet(text, ["needle", "haystack"], width=80)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert [snippet[a:b].lower() for a, b in spans] == ["needle", "haystack"]


def test_the_excerpt_of_a_text_shorter_than_the_window_is_the_whole_text():
    snippet, spans = excerpt(f"Explain quaternion {OPEN}rotation{CLOSE}", width=54)
    assert snippet == "Explain quaternion rotation" and spans == ((19, 27),)


def test_an_excerpt_never_cuts_a_marked_word_in_two():
    marked = "x " * 10 + OPEN + "supercalifragilistic" + CLOSE + " tail"
    snippet, spans = excerpt(marked, width=25)
    assert [snippet[a:b] for a, b in spans] == ["supercalifragilistic"]


@settings(max_examples=300)
@given(st.text(), st.lists(st.text(min_size=1, max_size=4), max_size=3), st.integers(min_value=1, max_value=150))
def test_an_excerpt_is_one_clean_short_line_with_spans_inside_it(text, words, width):
    snippet, spans = plain_snippet(text, words, width=width)
    assert "\n" not in snippet and not any(ord(c) < 32 for c in snippet)
    assert all(0 <= a < b <= len(snippet) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in pairwise(spans))
    longest = max((len(w) for w in words), default=0)
    assert len(snippet) <= width + 2 * longest + 2


def test_term_spans_match_words_as_the_query_does_whole_words_and_the_last_as_a_prefix():
    text = "The quaternion: Quaternions rotate; thinking in (b) THE end"

    def found(*words: str) -> list[str]:
        return [text[a:b] for a, b in term_spans(text, words)]

    assert found("quaternion") == ["quaternion", "Quaternions"]  # the last word: a prefix
    assert found("quaternion", "the") == ["The", "quaternion", "THE"]  # not the last: whole words only
    assert found("in") == ["in"]  # a word's start, not inside "thinking"
    assert found("(b)", "rot") == ["rotate", "(b)"]  # what looks like syntax is plain text
    assert term_spans(text, ()) == [] and term_spans("", ["the"]) == []


def test_a_search_of_one_or_two_letters_lists_the_newest_matches_first(store):
    often = chat(store, "a", "p", "kettle kettle kettle and a kettle", when=1000.0)
    newest = chat(store, "b", "p", "kettle " + "other words " * 30, when=3000.0)
    # Ranked from three characters typed: the better match first.
    if store._full_text:
        assert [h.conversation_id for h in store.search("ket")] == [often.id, newest.id]
    # Below that nearly everything matches: no ranking, the newest first, and still marked.
    hits = store.search("ke")
    assert [h.conversation_id for h in hits] == [newest.id, often.id]
    assert all(h.snippet[slice(*h.matches[0])].lower().startswith("ke") for h in hits)


def test_a_cancelled_search_stops_and_leaves_the_store_usable(store):
    import threading

    from r1chat.store import SearchCancelled

    for n in range(30):
        chat(store, f"t{n}", "about a kettle", "the kettle boils " * 50, trace="kettle physics " * 200)
    cancel = threading.Event()
    cancel.set()  # already replaced by a newer search: it stops at SQLite's first check
    with pytest.raises(SearchCancelled):
        store.search("kettle", cancel=cancel)
    # Nothing of the cancelled search is left behind: the next one, and a write, work.
    assert len(store.search("kettle", cancel=threading.Event())) == 30
    chat(store, "after", "p", "a kettle again")
    assert len(store.search("kettle")) == 31


def test_a_very_common_word_ranks_only_its_newest_matches(store, monkeypatch):
    if not store._full_text:
        pytest.skip("without FTS5 there is no relevance, only recency")
    from r1chat import search as search_module

    best = chat(store, "a", "p", "kettle kettle kettle and a kettle", when=1000.0)
    newer = chat(store, "b", "p", "kettle " + "other words " * 30, when=2000.0)
    newest = chat(store, "c", "p", "a kettle " + "other words " * 30, when=3000.0)
    assert [h.conversation_id for h in store.search("kettle")][0] == best.id
    # Matched by more messages than are ranked: the newest are, best first, and the older wait.
    monkeypatch.setattr(search_module, "RANK_WINDOW", 2)
    assert {h.conversation_id for h in store.search("kettle")} == {newer.id, newest.id}
