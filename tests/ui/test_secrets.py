"""An API key never shows up anywhere but the request: not in the database, exports, error
messages, notifications or on screen, even when the server quotes it back."""

from __future__ import annotations

from r1chat.export import render
from r1chat.session import ChatSession
from tests.servers import FakeOpenAI
from tests.servers.openai import OpenAIFault
from tests.ui.conftest import paste, screen_text, wait_until

KEY = "sk-secret-0123456789abcdef-KEY"


def leaks(text: str) -> bool:
    return KEY in text or KEY[-12:] in text


async def test_the_key_never_leaves_the_request(run_app, settings, store, tmp_path, run_cli, config_file):
    with FakeOpenAI(style="deepseek", api_key=KEY) as server:
        provider = settings.provider_config("deepseek")
        provider.url, provider.api_key = server.url, KEY
        session = ChatSession(settings, store, provider)
        async with run_app(session) as pilot:
            await paste(pilot, "first")
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda: session.conversation.id is not None and not pilot.app.screen.session.streaming
                and len(store.load_conversation(session.conversation.id).messages) == 2,
                "the first turn",
            )
            # A server that quotes the key in its error (some proxies do).
            server.fault = OpenAIFault(status=401, message=f"Incorrect API key provided: {KEY}", times=1)
            await paste(pilot, "second")
            await pilot.press("enter")
            await wait_until(pilot, lambda: pilot.app.screen.banner.display, "the error banner")
            assert "Incorrect API key provided: ****" in screen_text(pilot)
            assert not leaks(screen_text(pilot))
            assert not any(leaks(str(n.message)) for n in pilot.app._notifications)
            conversation = store.load_conversation(session.conversation.id)
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent, there

        for fmt in ("md", "json"):
            assert not leaks(render(conversation, fmt))
        store.close()
        for path in tmp_path.rglob("r1chat.db*"):
            assert not leaks(path.read_bytes().decode("latin-1")), path

        # The same through `r1chat ask`: stdout, stderr, and its database.
        config_file.write_text(f'[providers.deepseek]\nbase_url = "{server.url}"\napi_key = "{KEY}"\n')
        config_file.chmod(0o600)
        server.fault = OpenAIFault(status=401, message=f"Incorrect API key provided: {KEY}", times=1)
        failed = run_cli("ask", "hi", "--provider", "deepseek")
        assert failed.returncode == 1 and "****" in failed.stderr
        worked = run_cli("ask", "hi", "--provider", "deepseek")
        assert worked.returncode == 0, worked.stderr
        for output in (failed.stdout, failed.stderr, worked.stdout, worked.stderr):
            assert not leaks(output)
        exported = run_cli("export", "--format", "json")
        assert exported.returncode == 0 and not leaks(exported.stdout)
        data_dir = config_file.parent.parent.parent / "data"
        for path in data_dir.rglob("*"):
            if path.is_file():
                assert not leaks(path.read_bytes().decode("latin-1")), path
