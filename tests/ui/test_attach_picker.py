"""The `@` file picker, chips and attaching in the real app under Pilot, with the fake Ollama over
HTTP and a real folder to pick from."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from textual import events
from textual.widgets import Input, OptionList

from r1chat.session import ChatSession
from r1chat.ui.file_picker import AttachQuestion, FilePicker
from r1chat.ui.widgets.message import UserMessage
from tests.conftest import ANSWER
from tests.images import png
from tests.servers import FakeOpenAI
from tests.ui.conftest import screen_text, type_text, wait_until

APP_PY = "def main():\n    return 42\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder to start r1chat in: source files, a README, a hidden file, an image."""
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(APP_PY)
    (root / "src" / "apple.txt").write_text("an apple\n")
    (root / "README.md").write_text("# Project\n")
    (root / ".env.example").write_text("KEY=1\n")
    (root / "red.png").write_bytes(png(4, 3))
    monkeypatch.chdir(root)
    return root


def answered(chat) -> int:
    return sum(m.role == "assistant" and m.status == "done" for m in chat.session.conversation.messages)


def options(pilot) -> list[str]:
    listed = pilot.app.screen.query_one(OptionList)
    return [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]


async def attach(pilot, query: str) -> None:
    """Open the picker with @, filter by ``query``, choose the first match; wait for its chip."""
    chat = pilot.app.screen
    count = len(chat.prompt.attached)
    await open_picker(pilot)
    await type_text(pilot, query)
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(chat.prompt.attached) > count, "the chip")


async def explain_app_py(pilot) -> None:
    """Send "Explain" with src/app.py attached, and wait for the answer."""
    await type_text(pilot, "Explain ")
    await attach(pilot, "app.py")
    await pilot.press("enter")
    await wait_until(pilot, lambda: answered(pilot.app.screen) == 1, "the answer")


async def open_picker(pilot, typed: str = "@") -> FilePicker:
    await type_text(pilot, typed)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, FilePicker), "the file picker")
    picker = pilot.app.screen
    await wait_until(pilot, lambda: picker.entries is not None, "the folder's walk")
    return picker


async def test_typing_at_opens_the_picker_and_a_chosen_file_becomes_a_chip(run_app, project):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await type_text(pilot, "Look at ")
        await open_picker(pilot)
        assert options(pilot)[:3] == ["src/", "README.md", "red.png"]  # the root's own; hidden last
        assert options(pilot)[-1] == ".env.example"
        await type_text(pilot, "app")
        assert options(pilot)[:2] == ["src/app.py", "src/apple.txt"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: chat.prompt.attached, "the chip")
        assert chat.prompt.text == "Look at [app.py · 13 tokens] "
        assert [part.name for part in chat.prompt.attached] == ["src/app.py"]
        assert chat.prompt.prompt_text == "Look at"


async def test_escape_leaves_a_plain_at_and_mid_word_at_opens_nothing(run_app, project):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await open_picker(pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is chat, "the chat screen again")
        await type_text(pilot, "me@host")
        await pilot.pause(0.2)
        assert pilot.app.screen is chat and chat.prompt.text == "@me@host"


async def test_backspace_after_a_chip_removes_it_whole(run_app, project):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await type_text(pilot, "See ")
        await attach(pilot, "readme")
        await pilot.press("backspace")
        assert chat.prompt.text == "See " and chat.prompt.attached == []


async def test_folders_open_in_the_picker(run_app, project):
    async with run_app() as pilot:
        picker = await open_picker(pilot)
        await type_text(pilot, "src")
        assert options(pilot)[0] == "src/"
        await pilot.press("enter")
        assert picker.query_one(Input).value == "src/"
        assert options(pilot) == ["src/app.py", "src/apple.txt"]
        await type_text(pilot, "le")
        assert options(pilot) == ["src/apple.txt"]


@pytest.mark.process  # runs git
@pytest.mark.skipif(shutil.which("git") is None, reason="no git here")
async def test_files_git_ignores_come_last(run_app, project):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    (project / ".gitignore").write_text("*.log\nbuild/\n")
    (project / "app.log").write_text("x")
    (project / "build").mkdir()
    (project / "build" / "app.js").write_text("x")
    async with run_app() as pilot:
        await open_picker(pilot)
        await type_text(pilot, "app")
        # The best match by name is ignored, so it comes last; an ignored folder is not walked into.
        assert options(pilot) == ["src/app.py", "src/apple.txt", "app.log · ignored by git"]
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "buil")
        assert options(pilot) == ["build/ · ignored by git"]


async def test_a_prompt_with_a_chip_sends_the_file_and_shows_the_chip(run_app, project, ollama):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await explain_app_py(pilot)
        await wait_until(pilot, lambda: ANSWER.split()[0] in screen_text(pilot), "the answer shown")
        sent = [r.json for r in ollama.requests if r.path == "/api/chat"][-1]["messages"][-1]["content"]
        assert sent == f"Explain\n\nsrc/app.py\n```python\n{APP_PY.rstrip()}\n```"
        shown = str(chat.query_one(UserMessage).shown)
        assert shown == "Explain\n[app.py · 13 tokens]"
        assert chat.prompt.text == ""


async def test_an_image_for_a_model_without_vision_is_refused_at_once(run_app, project, ollama):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await open_picker(pilot)
        await type_text(pilot, "red")
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app._notifications, "the refusal")
        said = [n.message for n in pilot.app._notifications]
        assert any(m.startswith("deepseek-r1:1.5b does not take images, so red.png cannot be attached") for m in said)
        assert chat.prompt.attached == [] and chat.prompt.text == "@"


async def test_a_pasted_path_offers_to_attach_the_file(run_app, project, settings, store, ollama_provider):
    async with run_app(ChatSession(settings, store, ollama_provider)) as pilot:
        chat = pilot.app.screen
        chat.prompt.post_message(events.Paste(f"'{project / 'README.md'}'"))
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, AttachQuestion), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: chat.prompt.attached, "the chip")
        assert chat.prompt.text == "[README.md · 9 tokens] "
        assert chat.prompt.attached[0].text == "# Project\n"


async def test_the_palette_and_its_key_open_the_picker(run_app, project):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, FilePicker), "the file picker")
        await wait_until(pilot, lambda: pilot.app.screen.entries is not None, "the walk")
        await type_text(pilot, "app.py")
        await pilot.press("enter")
        await wait_until(pilot, lambda: chat.prompt.attached, "the chip")
        assert chat.prompt.text == "[app.py · 13 tokens] "


async def test_an_image_for_a_server_that_does_not_say_is_asked_about_once(run_app, project, settings, store):
    with FakeOpenAI(style="vllm") as server:
        provider = settings.provider_config("openai")
        provider.url = server.url
        model = server.model_names[0]
        async with run_app(ChatSession(settings, store, provider, model=model)) as pilot:
            chat = pilot.app.screen
            for turn in (1, 2):
                await attach(pilot, "red")
                await pilot.press("enter")
                if turn == 1:  # asked the first time only
                    await wait_until(pilot, lambda: isinstance(pilot.app.screen, AttachQuestion), "the question")
                    await pilot.press("y")
                await wait_until(pilot, lambda turns=turn: answered(chat) == turns, f"answer {turn}")
            assert not isinstance(pilot.app.screen, AttachQuestion)
        sent = [r.json for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 2
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(png(4, 3)).decode()}}
    assert sent[0]["messages"][-1]["content"] == [image]  # no text typed: the image alone


async def test_editing_the_last_prompt_keeps_its_files_as_chips(run_app, project, ollama):
    async with run_app() as pilot:
        chat = pilot.app.screen
        await explain_app_py(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: chat.prompt.attached, "the chip back")
        assert chat.prompt.text == "Explain [app.py · 13 tokens] "
        await pilot.press("end", *"briefly", "enter")
        await wait_until(pilot, lambda: answered(chat) == 2, "the second version")
    sent = [r.json for r in ollama.requests if r.path == "/api/chat"][-1]["messages"][-1]["content"]
    assert sent == f"Explain briefly\n\nsrc/app.py\n```python\n{APP_PY.rstrip()}\n```"


async def test_a_large_folder_is_ranked_off_the_ui_thread(run_app, project, monkeypatch):
    monkeypatch.setattr("r1chat.ui.file_picker.RANK_IN_THREAD", 2)  # this folder's 8 entries count as many
    async with run_app() as pilot:
        chat = pilot.app.screen
        picker = await open_picker(pilot)
        await type_text(pilot, "apple")
        await wait_until(pilot, lambda: options(pilot) == ["src/apple.txt"], "the ranking from its thread")
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace", *"readme", "enter")
        await wait_until(pilot, lambda: chat.prompt.attached, "the chip")  # Enter ranks at once if it must
        assert chat.prompt.attached[0].name == "README.md" and picker.entries is not None


async def test_file_names_are_text_not_markup_nor_terminal_sequences(run_app, project):
    (project / "[b]notes\x1b]0;pwned\x07.txt").write_text("x\n")
    (project / "[red]tool.bin").write_bytes(bytes(64))
    async with run_app() as pilot:
        chat = pilot.app.screen
        await open_picker(pilot)
        await type_text(pilot, "notes")
        assert "pwned" not in screen_text(pilot) and "[b]notes" in screen_text(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: chat.prompt.attached, "the chip")
        assert chat.prompt.text == "[[b]notes.txt · 8 tokens] "
        await open_picker(pilot)
        await type_text(pilot, "tool")
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app._notifications, "the refusal")
        [said] = list(pilot.app._notifications)
        assert said.message.startswith("[red]tool.bin is a binary file") and not said.markup


async def test_a_reopened_conversation_shows_its_files(run_app, settings, store, ollama_provider):
    from r1chat.attachments import from_bytes
    from r1chat.conversation import Conversation, Message, MessageStatus, Role, TextPart

    conversation = Conversation(title="Files")
    image, text = from_bytes(png(4, 3), "red.png"), from_bytes(APP_PY.encode(), "src/app.py")
    prompt = Message(Role.USER, parts=[TextPart("Look"), text, image])
    store.add_message(conversation, prompt, answer=Message(Role.ASSISTANT, ANSWER, status=MessageStatus.DONE))
    session = ChatSession(settings, store, ollama_provider)
    assert session.open_stored(conversation.id) is not None
    async with run_app(session) as pilot:
        await wait_until(pilot, lambda: pilot.app.screen.query(UserMessage), "the prompt")
        shown = str(pilot.app.screen.query_one(UserMessage).shown)
    assert shown == f"Look\n[app.py · 13 tokens]\n[red.png · 4×3 · {len(png(4, 3))} B]"
