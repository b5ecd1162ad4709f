"""How tool turns are written for each dialect and how calls are read back (protocols.md F.1, F.4)."""

from __future__ import annotations

from r1chat.backends import ollama, openai
from r1chat.backends.base import PassBack, ToolCall
from r1chat.conversation import History, Message, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from r1chat.tools.names import wire_name
from r1chat.tools.steps import steps


def tool_turn(model: str = "m") -> Message:
    return Message(Role.ASSISTANT, parts=[
        ReasoningPart("Look it up."),
        ToolCallPart("c1", "find", {"q": "x"}, server="docs"),
        ToolCallPart("c2", "find", {"q": "y"}, server="docs"),
        ToolResultPart("c1", "find", "found x"),
        ToolResultPart("c2", "find", "", denied=True),
        ReasoningPart("Both in."),
        TextPart("Here."),
    ], model=model, provider="p")


def test_a_tool_turn_is_cut_into_its_requests():
    first, second = steps(tool_turn())
    assert (first.reasoning, [c.id for c in first.calls], [r.call_id for r in first.results]) == (
        "Look it up.", ["c1", "c2"], ["c1", "c2"])
    assert (second.reasoning, second.content, second.calls) == ("Both in.", "Here.", [])


def test_ollama_sends_thinking_only_inside_the_current_loop():
    earlier = History("", (Message(Role.USER, "a"), tool_turn(), Message(Role.USER, "b")))
    messages = ollama.encode(earlier)
    assert all("thinking" not in m for m in messages)
    current = History("", (Message(Role.USER, "a"), tool_turn()))
    said = ollama.encode(current)[1]
    assert said["thinking"] == "Look it up."
    assert said["tool_calls"][1] == {"id": "c2", "function": {"name": "docs__find", "arguments": {"q": "y"}}}


def test_ollama_results_carry_name_and_id_in_call_order():
    messages = ollama.encode(History("", (Message(Role.USER, "a"), tool_turn())))
    tools = [m for m in messages if m["role"] == "tool"]
    assert [(t["tool_name"], t["tool_call_id"]) for t in tools] == [("docs__find", "c1"), ("docs__find", "c2")]
    assert tools[1]["content"] == "The user denied this tool call."
    assert messages[-1] == {"role": "assistant", "content": "Here.", "thinking": "Both in."}


def test_openai_sends_arguments_as_a_string_and_results_by_id():
    messages = openai.encode(History("", (Message(Role.USER, "a"), tool_turn(), Message(Role.USER, "b"))),
                             model="m", passback=PassBack.NOTHING)
    said = messages[1]
    assert said["content"] is None and "reasoning_content" not in said
    assert said["tool_calls"][0] == {
        "id": "c1", "type": "function", "function": {"name": "docs__find", "arguments": '{"q": "x"}'}}
    assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "found x"}


def test_reasoning_content_goes_back_on_every_tool_turn_and_empty_from_another_model():
    history = History("", (Message(Role.USER, "a"), tool_turn("m"), Message(Role.USER, "b"), tool_turn("other"),
                           Message(Role.USER, "c")))
    said = [m for m in openai.encode(history, model="m", passback=PassBack.REASONING_CONTENT) if m.get("tool_calls")]
    assert [m["reasoning_content"] for m in said] == ["Look it up.", ""]


def test_plain_turns_never_carry_reasoning():
    plain = Message(Role.ASSISTANT, "answer", reasoning="trace", model="m")
    for passback in PassBack:
        messages = openai.encode(History("", (Message(Role.USER, "a"), plain)), model="m", passback=passback)
        assert messages[1] == {"role": "assistant", "content": "answer"}


def test_as_text_flattens_calls_and_results():
    [said] = ollama.encode(History("", (tool_turn(),)), tool_turns_as_text=True)
    assert said["role"] == "assistant" and "tool_calls" not in said
    assert "[called docs.find(q='x')]" in said["content"] and "[result: found x]" in said["content"]
    assert said["content"].endswith("Here.")


def test_ollama_calls_are_read_whole_with_or_without_an_id():
    line = {"tool_calls": [{"id": "call_ab12cd34", "function": {"index": 0, "name": "f", "arguments": {"a": 1}}},
                           {"function": {"index": 1, "name": "g", "arguments": '{"b": 2}'}},
                           {"function": {"index": 2, "name": "h", "arguments": "{broken"}}]}
    calls = ollama._tool_calls(line, 0)
    assert calls[0] == ToolCall("call_ab12cd34", "f", {"a": 1})
    assert calls[1] == ToolCall("call_1", "g", {"b": 2})
    assert calls[2].arguments == {} and calls[2].error


def test_openai_deltas_interleaved_and_cut_mid_token_are_joined_by_index():
    joined = openai._ToolCalls()
    joined.feed([{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": ""}}])
    joined.feed([{"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": '{"x"'}}])
    joined.feed([{"index": 0, "function": {"arguments": '{"lo'}}])
    joined.feed([{"index": 1, "function": {"arguments": ": 1}"}}])
    joined.feed([{"index": 0, "function": {"arguments": 'c": "Paris"}'}}])
    joined.feed([{"index": 2, "id": "c", "function": {"name": "h", "arguments": ""}}])
    assert joined.calls() == [ToolCall("a", "f", {"loc": "Paris"}), ToolCall("b", "g", {"x": 1}), ToolCall("c", "h", {})]


def test_tool_names_fit_every_api_and_stay_apart():
    assert wire_name("git", "log") == "git__log"
    long = wire_name("server", "a.very.long.tool.name." + "x" * 100)
    assert len(long) <= 64 and all(c.isalnum() or c in "_-" for c in long)
    assert wire_name("s", "a.b") != wire_name("s", "a_b")
