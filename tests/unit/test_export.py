import json

from r1chat.backends.base import TurnStats
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.export import to_json, to_markdown


def sample() -> Conversation:
    return Conversation(
        id=7,
        title="Multiplying",
        messages=[
            Message(Role.USER, "What is 17*23?"),
            Message(
                Role.ASSISTANT,
                "**391**",
                reasoning="17*20 = 340\n17*3 = 51\n</details> sneaky",
                model="deepseek-r1:8b",
                provider="ollama",
                reasoning_started_at=100.0,
                reasoning_ended_at=103.25,
                stats=TurnStats(completion_tokens=90),
            ),
            Message(Role.USER, "And 18*23?"),
            Message(Role.ASSISTANT, "", reasoning="18*23 is", status=MessageStatus.INTERRUPTED, model="deepseek-r1:8b"),
        ],
    )


def test_markdown_puts_each_trace_in_a_details_block_before_its_answer():
    text = to_markdown(sample())
    assert text.startswith("# Multiplying\n")
    first_details = text.index("<details>")
    assert text.index("What is 17*23?") < first_details < text.index("**391**")
    assert "<summary>Thought for 3.2s</summary>" in text or "<summary>Thought for 3.3s</summary>" in text
    assert "17*20 = 340" in text
    assert text.count("<details>") == text.count("</details>") == 2
    assert "&lt;/details&gt; sneaky" in text
    assert "(cut off)" in text and "Interrupted" in text


def test_json_holds_every_message_with_role_content_reasoning_model_status_times_and_stats():
    data = json.loads(to_json(sample()))
    assert data["format"] == "r1chat-conversation" and data["id"] == 7
    second = data["messages"][1]
    assert second["role"] == "assistant"
    assert second["content"] == "**391**"
    assert second["reasoning"].startswith("17*20")
    assert second["model"] == "deepseek-r1:8b" and second["status"] == "done"
    assert second["reasoning_started_at"] == 100.0 and second["stats"]["completion_tokens"] == 90
    assert data["messages"][3]["status"] == "interrupted"
