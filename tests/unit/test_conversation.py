from r1chat.conversation import Message, MessageStatus, Role, build_history, title_from_prompt


def user(text: str) -> Message:
    return Message(Role.USER, text)


def answer(text: str, reasoning: str = "", status: MessageStatus = MessageStatus.DONE) -> Message:
    return Message(Role.ASSISTANT, text, reasoning=reasoning, status=status)


def test_history_sends_roles_and_answer_text_but_never_reasoning():
    messages = [user("What is 17*23?"), answer("391", reasoning="17*20=340, 17*3=51"), user("And 18*23?")]
    history = build_history(messages)
    assert history == [
        {"role": "user", "content": "What is 17*23?"},
        {"role": "assistant", "content": "391"},
        {"role": "user", "content": "And 18*23?"},
    ]
    assert all(set(item) == {"role", "content"} for item in history)
    assert "340" not in repr(history)


def test_history_has_no_system_prompt_unless_one_is_set():
    assert build_history([user("hi")])[0]["role"] == "user"
    history = build_history([user("hi")], system_prompt="Be brief.")
    assert history[0] == {"role": "system", "content": "Be brief."}
    assert build_history([user("hi")], system_prompt="   ")[0]["role"] == "user"


def test_interrupted_and_errored_answers_are_not_sent_nor_the_prompt_that_led_to_them():
    messages = [
        user("first"),
        answer("partial", status=MessageStatus.INTERRUPTED),
        user("second"),
        answer("", status=MessageStatus.ERROR),
        user("third"),
    ]
    assert build_history(messages) == [{"role": "user", "content": "third"}]


def test_failed_answers_can_be_included_on_request():
    messages = [user("first"), answer("partial", status=MessageStatus.INTERRUPTED), user("next")]
    assert [m["content"] for m in build_history(messages, include_failed=True)] == ["first", "partial", "next"]


def test_a_prompt_that_never_got_an_answer_is_not_sent_twice_in_a_row():
    assert build_history([user("lost"), user("retry")]) == [{"role": "user", "content": "retry"}]


def test_title_comes_from_the_first_prompt_on_one_line():
    assert title_from_prompt("  Why is\nthe sky   blue? ") == "Why is the sky blue?"
    long = title_from_prompt("word " * 40)
    assert len(long) <= 61 and long.endswith("…")
