from r1chat.conversation import (
    Conversation,
    Message,
    MessageStatus,
    ReasoningPart,
    Role,
    TextPart,
    build_history,
    exchanges,
    title_from_prompt,
)


def user(text: str) -> Message:
    return Message(Role.USER, text)


def answer(text: str, reasoning: str = "", status: MessageStatus = MessageStatus.DONE) -> Message:
    return Message(Role.ASSISTANT, text, reasoning=reasoning, status=status)


def sent(history) -> list[tuple[str, str]]:
    return [(str(m.role), m.content) for m in history]


def test_history_is_the_typed_messages_in_order_with_their_parts():
    messages = [user("What is 17*23?"), answer("391", reasoning="17*20=340, 17*3=51"), user("And 18*23?")]
    history = build_history(messages)
    assert sent(history) == [("user", "What is 17*23?"), ("assistant", "391"), ("user", "And 18*23?")]
    assert history.messages[1] is messages[1]  # the message itself: each backend decides what of it goes


def test_history_has_no_system_prompt_unless_one_is_set():
    assert build_history([user("hi")]).system == ""
    assert build_history([user("hi")], system_prompt="Be brief.").system == "Be brief."
    assert build_history([user("hi")], system_prompt="   ").system == ""


def test_interrupted_and_errored_answers_are_not_sent_nor_the_prompt_that_led_to_them():
    messages = [
        user("first"),
        answer("partial", status=MessageStatus.INTERRUPTED),
        user("second"),
        answer("", status=MessageStatus.ERROR),
        user("third"),
    ]
    assert sent(build_history(messages)) == [("user", "third")]


def test_failed_answers_can_be_included_on_request():
    messages = [user("first"), answer("partial", status=MessageStatus.INTERRUPTED), user("next")]
    assert [m.content for m in build_history(messages, include_failed=True)] == ["first", "partial", "next"]


def test_a_prompt_that_never_got_an_answer_is_not_sent_twice_in_a_row():
    assert sent(build_history([user("lost"), user("retry")])) == [("user", "retry")]


def test_title_comes_from_the_first_prompt_on_one_line():
    assert title_from_prompt("  Why is\nthe sky   blue? ") == "Why is the sky blue?"
    long = title_from_prompt("word " * 40)
    assert len(long) <= 61 and long.endswith("…")


# --- parts ---------------------------------------------------------------------------------------


def test_content_and_reasoning_are_the_joined_text_of_their_parts_in_order():
    message = Message(Role.ASSISTANT, parts=[
        ReasoningPart("think ", started_at=10.0, ended_at=12.0, tokens=3),
        TextPart("Let me check. "),
        ReasoningPart("again", started_at=13.0, ended_at=14.5, tokens=2),
        TextPart("It is 391."),
    ])
    assert message.content == "Let me check. It is 391."
    assert message.reasoning == "think again"
    assert message.reasoning_seconds == 3.5  # each segment's time, summed
    assert (message.reasoning_started_at, message.reasoning_ended_at) == (10.0, 14.5)


def test_a_message_made_from_text_has_one_trace_segment_and_one_text_part():
    message = Message(Role.ASSISTANT, "391", reasoning="17*23", reasoning_started_at=1.0, reasoning_ended_at=3.0)
    assert [type(p) for p in message.parts] == [ReasoningPart, TextPart]
    assert message.reasoning_seconds == 2.0
    assert Message(Role.USER, "hi").parts == [TextPart("hi")]


# --- exchanges and versions ----------------------------------------------------------------------


def stored(role: Role, text: str, id: int, **kwargs) -> Message:
    return Message(role, text, id=id, **kwargs)


def test_messages_written_before_versions_existed_pair_up_in_order():
    messages = [stored(Role.USER, "a", 1), stored(Role.ASSISTANT, "A", 2), stored(Role.USER, "b", 3),
                stored(Role.ASSISTANT, "B", 4)]
    found = exchanges(messages)
    assert [(e.id, [(v.prompt.content, v.answer.content) for v in e.versions]) for e in found] == [
        (1, [("a", "A")]), (3, [("b", "B")])]


def test_a_retry_is_a_second_version_of_the_same_prompt_and_current_once_done():
    prompt = stored(Role.USER, "q", 1, exchange_id=1)
    first = stored(Role.ASSISTANT, "first", 2, exchange_id=1, reply_to=1, current=False)
    second = stored(Role.ASSISTANT, "second", 3, exchange_id=1, reply_to=1)
    conversation = Conversation(messages=[prompt, first, second])
    (exchange,) = conversation.exchanges()
    assert [v.answer.content for v in exchange.versions] == ["first", "second"]
    assert exchange.versions[0].prompt is exchange.versions[1].prompt is prompt
    assert exchange.current == 1
    assert [m.content for m in conversation.current_messages()] == ["q", "second"]


def test_a_failed_retry_leaves_the_finished_answer_current():
    prompt = stored(Role.USER, "q", 1, exchange_id=1)
    done = stored(Role.ASSISTANT, "done", 2, exchange_id=1, reply_to=1)
    failed = stored(Role.ASSISTANT, "", 3, exchange_id=1, reply_to=1, current=False, status=MessageStatus.ERROR)
    (exchange,) = exchanges([prompt, done, failed])
    assert exchange.current == 0 and len(exchange.versions) == 2


def test_an_edit_is_a_version_with_its_own_prompt_and_later_exchanges_keep_their_place():
    old_prompt = stored(Role.USER, "old", 1, exchange_id=1, current=False)
    old_answer = stored(Role.ASSISTANT, "old answer", 2, exchange_id=1, reply_to=1, current=False)
    new_prompt = stored(Role.USER, "new", 3, exchange_id=1)
    new_answer = stored(Role.ASSISTANT, "new answer", 4, exchange_id=1, reply_to=3)
    later = [stored(Role.USER, "next", 5), stored(Role.ASSISTANT, "next answer", 6)]
    conversation = Conversation(messages=[old_prompt, old_answer, new_prompt, new_answer, *later])
    first, second = conversation.exchanges()
    assert [(v.prompt.content, v.answer.content) for v in first.versions] == [("old", "old answer"), ("new", "new answer")]
    assert [m.content for m in conversation.current_messages()] == ["new", "new answer", "next", "next answer"]


def test_when_every_version_failed_the_newest_is_shown():
    prompt = stored(Role.USER, "q", 1, exchange_id=1)
    one = stored(Role.ASSISTANT, "", 2, exchange_id=1, reply_to=1, status=MessageStatus.ERROR)
    two = stored(Role.ASSISTANT, "half", 3, exchange_id=1, reply_to=1, current=False, status=MessageStatus.INTERRUPTED)
    (exchange,) = exchanges([prompt, one, two])
    assert exchange.current == 1


def test_messages_not_stored_yet_still_pair_up():
    messages = [user("a"), answer("A"), user("b"), answer("B")]
    assert [[v.prompt.content for v in e.versions] for e in exchanges(messages)] == [["a"], ["b"]]
