"""Attachments end to end in the core: reading and refusing files, image headers, what the fake
servers receive over HTTP, the context check, the store (a real SQLite file), export."""

from __future__ import annotations

import base64
import json

import pytest

from r1chat import attachments
from r1chat.attachments import AttachmentRefused, Limits, fenced, read_file
from r1chat.config import load_settings
from r1chat.conversation import AttachmentPart, Role
from r1chat.export import save, to_json, to_markdown, write_images
from r1chat.session import ChatSession
from tests.conftest import ANSWER
from tests.images import gif, jpeg, png, webp_extended, webp_lossless
from tests.servers import FakeOpenAI

SOURCES = {
    "app.py": ("python", 'def main() -> None:\n    print("hello")\n'),
    "lib.rs": ("rust", "fn main() {\n    println!(\"hello\");\n}\n"),
    "main.go": ("go", "package main\n\nfunc main() {}\n"),
    "index.ts": ("typescript", "export const x: number = 1;\n"),
    "notes.md": ("markdown", "# Notes\n\n```sh\nls\n```\n"),
    "Makefile": ("make", "all:\n\techo hi\n"),
    "grüße.txt": ("", "Grüße aus Köln, 東京 too\n"),
}


async def open_session(server, store, model, **settings_changes):
    settings = load_settings()
    for key, value in settings_changes.items():
        setattr(settings, key, value)
    provider = settings.provider_config("ollama")
    provider.url = server.url
    return ChatSession(settings, store, provider, model=model)


def chats(server) -> list[dict]:
    return [r.json for r in server.requests if r.path.endswith(("/api/chat", "/chat/completions"))]


# --- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SOURCES))
def test_text_files_become_fenced_blocks_headed_by_their_path(tmp_path, name):
    lang, text = SOURCES[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    part = read_file(tmp_path / name, name=f"src/{name}")
    assert part.text == text and part.media_type == "text/plain" and part.size == len(text.encode())
    block = fenced(part).splitlines()
    assert block[0] == f"src/{name}"
    fence = block[1][: len(block[1]) - len(lang)]
    assert set(fence) == {"`"} and block[1].endswith(lang) and block[-1] == fence
    assert "\n".join(block[2:-1]) == text.rstrip("\n")


def test_a_fence_in_the_file_cannot_close_the_block_early(tmp_path):
    (tmp_path / "notes.md").write_text("````python\nx\n````\n")
    block = fenced(read_file(tmp_path / "notes.md"))
    assert block.splitlines()[1] == "`````markdown" and block.endswith("\n`````")


def test_a_binary_file_is_refused_with_one_line(tmp_path):
    (tmp_path / "tool.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(200))
    with pytest.raises(AttachmentRefused) as refused:
        read_file(tmp_path / "tool.bin", name="tool.bin")
    assert "\n" not in str(refused.value)
    assert str(refused.value) == "tool.bin is a binary file: only text files and PNG, JPEG or WebP images can be attached."


def test_files_over_the_limit_are_refused_before_they_are_read_whole(tmp_path):
    (tmp_path / "big.log").write_text("x" * 2_001)
    (tmp_path / "big.png").write_bytes(png(60, 60))
    with pytest.raises(AttachmentRefused, match=r"^big.log is 2.0 KB; text files are limited to 2.0 KB \(attachment_kb"):
        read_file(tmp_path / "big.log", Limits(text=2_000), name="big.log")
    with pytest.raises(AttachmentRefused, match=r"^big.png is .* images are limited to 100 B \(image_mb in config.toml\)"):
        read_file(tmp_path / "big.png", Limits(image=100), name="big.png")
    assert read_file(tmp_path / "big.log", Limits(text=2_001)).text == "x" * 2_001


def test_a_folder_and_a_missing_file_are_refused(tmp_path):
    with pytest.raises(AttachmentRefused, match="is a folder"):
        read_file(tmp_path, name="here")
    with pytest.raises(AttachmentRefused, match=r"^gone.txt: no such file.$"):
        read_file(tmp_path / "gone.txt", name="gone.txt")


def test_text_that_is_not_utf8_is_read_as_latin1(tmp_path):
    (tmp_path / "old.txt").write_bytes("café crème".encode("latin-1"))
    assert read_file(tmp_path / "old.txt").text == "café crème"


@pytest.mark.parametrize(("data", "media_type", "size"), [
    (png(3, 2), "image/png", (3, 2)),
    (jpeg(640, 480), "image/jpeg", (640, 480)),
    (webp_lossless(100, 50), "image/webp", (100, 50)),
    (webp_extended(1920, 1080), "image/webp", (1920, 1080)),
    (gif(5, 7), "image/gif", (5, 7)),
])
def test_images_are_known_by_their_bytes_and_sized_from_their_header(tmp_path, data, media_type, size):
    (tmp_path / "picture.dat").write_bytes(data)  # the name says nothing: the bytes do
    part = read_file(tmp_path / "picture.dat")
    assert (part.media_type, (part.width, part.height), part.size, part.data) == (media_type, size, len(data), data)
    assert part.digest is not None and len(part.digest) == 64
    assert attachments.describe(part).startswith(f"picture.dat · {size[0]}×{size[1]} · ")


def test_the_chip_says_the_estimated_tokens_of_a_text_file(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n" * 2_000)
    part = read_file(tmp_path / "app.py", name="src/app.py")
    assert attachments.describe(part) == "app.py · 3.0k tokens"


def test_a_pasted_path_is_read_as_a_terminal_drops_it(tmp_path):
    (tmp_path / "my file.txt").write_text("x")
    found = tmp_path / "my file.txt"
    assert attachments.pasted_path(f"'{found}'", tmp_path) == found
    assert attachments.pasted_path(str(found).replace(" ", "\\ "), tmp_path) == found
    assert attachments.pasted_path(f"file://{str(found).replace(' ', '%20')}", tmp_path) == found
    assert attachments.pasted_path("my file.txt", tmp_path) == found
    assert attachments.pasted_path("my file.txt and more words", tmp_path) is None
    assert attachments.pasted_path(f"{found}\n{found}", tmp_path) is None


# --- to the model ------------------------------------------------------------------------------


async def test_text_files_travel_with_the_prompt_as_fenced_blocks(vision_ollama, store, tmp_path):
    session = await open_session(vision_ollama, store, "deepseek-r1:8b")
    parts = []
    for name in ("app.py", "lib.rs"):
        (tmp_path / name).write_text(SOURCES[name][1])
        parts.append(session.read_attachment(str(tmp_path / name), name=name))
    try:
        answer = await session.send("Review these", attached=parts)
    finally:
        await session.aclose()
    assert answer.content == ANSWER
    sent = chats(vision_ollama)[-1]["messages"][-1]
    assert sent["content"] == "Review these\n\n" + fenced(parts[0]) + "\n\n" + fenced(parts[1])
    assert sent["content"].count("```python\n") == 1 and sent["content"].count("```rust\n") == 1
    assert "images" not in sent


async def test_an_image_reaches_a_vision_model_as_raw_base64(vision_ollama, store, tmp_path):
    (tmp_path / "red.png").write_bytes(png(4, 4))
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b")
    try:
        image = session.read_attachment(str(tmp_path / "red.png"), name="red.png")
        await session.check_attachments([image])  # a vision model: nothing to refuse
        answer = await session.send("What colour?", attached=[image])
    finally:
        await session.aclose()
    assert answer.content == ANSWER and answer.error is None
    sent = chats(vision_ollama)[-1]["messages"][-1]
    assert sent["content"] == "What colour?"
    assert sent["images"] == [base64.b64encode(png(4, 4)).decode()]  # no data: prefix (protocols.md F.3)


async def test_an_image_for_a_model_without_vision_is_refused_before_sending(vision_ollama, store, tmp_path):
    (tmp_path / "red.png").write_bytes(png())
    session = await open_session(vision_ollama, store, "deepseek-r1:8b")
    try:
        image = session.read_attachment(str(tmp_path / "red.png"), name="red.png")
        with pytest.raises(AttachmentRefused) as refused:
            await session.check_attachments([image])  # at attach time
        with pytest.raises(AttachmentRefused):
            await session.send("What colour?", attached=[image])  # and at send time
    finally:
        await session.aclose()
    assert str(refused.value).startswith("deepseek-r1:8b does not take images, so red.png cannot be attached")
    assert chats(vision_ollama) == [] and store.latest_conversation_id() is None


async def test_the_fake_ollama_refuses_what_the_real_one_does(vision_ollama):
    import httpx

    async with httpx.AsyncClient(base_url=vision_ollama.url) as client:
        data_url = "data:image/png;base64," + base64.b64encode(png()).decode()
        prefixed = await client.post("/api/chat", json={"model": "qwen2.5vl:7b", "messages": [
            {"role": "user", "content": "hi", "images": [data_url]}]})
        blind = await client.post("/api/chat", json={"model": "deepseek-r1:8b", "messages": [
            {"role": "user", "content": "hi", "images": [base64.b64encode(png()).decode()]}]})
    assert (prefixed.status_code, prefixed.json()["error"]) == (400, "illegal base64 data at input byte 4")
    assert blind.status_code == 500 and "missing data required for image input" in blind.json()["error"]


async def test_a_gif_is_refused_where_ollama_cannot_decode_it(vision_ollama, store, tmp_path):
    (tmp_path / "anim.gif").write_bytes(gif())
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b")
    try:
        with pytest.raises(AttachmentRefused, match="anim.gif is a GIF image, which this server does not decode"):
            await session.check_attachments([session.read_attachment(str(tmp_path / "anim.gif"), name="anim.gif")])
    finally:
        await session.aclose()


async def openai_session(server, store, model, provider="deepseek"):
    settings = load_settings()
    config = settings.provider_config(provider)
    config.url, config.api_key = server.url, "sk-test"
    return ChatSession(settings, store, config, model=model)


async def test_an_image_goes_to_an_openai_compatible_server_as_a_content_part(store, tmp_path):
    (tmp_path / "shot.jpg").write_bytes(jpeg())
    with FakeOpenAI(style="deepseek", api_key="sk-test", model_names=["deepseek-v4-flash", "deepseek-v4-pro"]) as server:
        session = await openai_session(server, store, "deepseek-v4-flash")
        try:
            image = session.read_attachment(str(tmp_path / "shot.jpg"), name="shot.jpg")
            answer = await session.send("Describe it", attached=[image])
            pro = await openai_session(server, store, "deepseek-v4-pro")
            try:
                with pytest.raises(AttachmentRefused, match="^deepseek-v4-pro does not take images"):
                    await pro.send("Describe it", attached=[image])
            finally:
                await pro.aclose()
        finally:
            await session.aclose()
        sent = chats(server)
    assert answer.error is None and len(sent) == 1
    assert sent[0]["messages"][-1]["content"] == [
        {"type": "text", "text": "Describe it"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(jpeg()).decode()}},
    ]


async def test_an_unknown_server_takes_the_image_and_a_refusal_is_a_clear_error(store, tmp_path):
    (tmp_path / "a.png").write_bytes(png())
    with FakeOpenAI(style="vllm") as server:
        server.image_models = set()  # this server's model sees no images: it answers 400
        session = await openai_session(server, store, server.model_names[0], provider="openai")
        try:
            image = session.read_attachment(str(tmp_path / "a.png"), name="a.png")
            assert await session.image_support() is attachments.Support.UNKNOWN
            answer = await session.send("Describe", attached=[image])
        finally:
            await session.aclose()
    assert answer.status == "error" and "does not support image input" in (answer.error or "")


# --- the window, history, the store, export ------------------------------------------------------


async def test_the_context_check_counts_an_attachment(vision_ollama, store, tmp_path):
    (tmp_path / "log.txt").write_text("error: disk full\n" * 1_000)  # about 4,300 tokens
    session = await open_session(vision_ollama, store, "deepseek-r1:8b", num_ctx=4096)
    try:
        log = session.read_attachment(str(tmp_path / "log.txt"), name="log.txt")
        bare = await session.fit("What went wrong?")
        attached = await session.fit("What went wrong?", attached=[log])
    finally:
        await session.aclose()
    assert bare.fits and not attached.fits
    # The block's own estimate, give or take the blank line joining it to the prompt.
    assert abs(attached.tokens - bare.tokens - attachments.tokens(log)) <= 1 and attachments.tokens(log) > 4_000


async def test_old_images_can_be_left_out_of_later_requests_with_a_note(vision_ollama, store, tmp_path):
    (tmp_path / "red.png").write_bytes(png())
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b", send_old_images=False)
    try:
        await session.send("What colour?", attached=[session.read_attachment(str(tmp_path / "red.png"), name="red.png")])
        await session.send("And the shape?")
    finally:
        await session.aclose()
    first, later = chats(vision_ollama)
    assert len(first["messages"][-1]["images"]) == 1
    old = later["messages"][0]
    assert "images" not in old and old["content"] == "What colour?\n\n[image red.png was attached here; left out of this request]"
    assert session.conversation.messages[0].parts[1].data == png()  # the stored prompt keeps its image


async def test_images_go_again_in_later_turns_by_default(vision_ollama, store, tmp_path):
    (tmp_path / "red.png").write_bytes(png())
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b")
    try:
        await session.send("What colour?", attached=[session.read_attachment(str(tmp_path / "red.png"), name="red.png")])
        await session.send("And the shape?")
    finally:
        await session.aclose()
    assert chats(vision_ollama)[-1]["messages"][0]["images"] == [base64.b64encode(png()).decode()]


async def test_a_conversation_reopens_with_its_text_and_image_and_exports_them(vision_ollama, store, tmp_path):
    (tmp_path / "app.py").write_text("def quux():\n    return 'zebrafish'\n")
    (tmp_path / "red.png").write_bytes(png(5, 3))
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b")
    try:
        parts = [session.read_attachment(str(tmp_path / n), name=n) for n in ("app.py", "red.png")]
        await session.send("Look", attached=parts)
        await session.send("Again", attached=[session.read_attachment(str(tmp_path / "red.png"), name="red.png")])
    finally:
        await session.aclose()
    conversation = store.load_conversation(session.conversation.id)
    assert conversation is not None
    prompt = conversation.messages[0]
    assert prompt.content == "Look"
    text, image = prompt.parts[1], prompt.parts[2]
    assert isinstance(text, AttachmentPart) and text.text == "def quux():\n    return 'zebrafish'\n"
    assert isinstance(image, AttachmentPart) and image.data == png(5, 3) and (image.width, image.height) == (5, 3)
    # The image is stored once, though sent with two prompts; the text attachment is searchable.
    assert store._db.execute("SELECT count(*) FROM images").fetchone()[0] == 1
    assert [hit.conversation_id for hit in store.search("zebrafish")] == [conversation.id]

    markdown = to_markdown(conversation)
    assert fenced(text) in markdown
    stem = image.digest[:16]
    assert f"![red.png · 5×3]({stem}.png)" in markdown
    path = save(conversation, "md", tmp_path / "out")
    assert (path.parent / f"{stem}.png").read_bytes() == png(5, 3)
    assert write_images(conversation, tmp_path / "out") == []  # already there, the same bytes

    data = json.loads(to_json(conversation))
    dumped = data["messages"][0]["parts"]
    assert dumped[2]["type"] == "attachment" and base64.b64decode(dumped[2]["data"]) == png(5, 3)
    assert dumped[1]["text"] == text.text


def test_a_message_with_only_an_attachment_is_stored_and_read_back(store):
    from r1chat.conversation import Conversation, Message

    conversation = Conversation()
    prompt = Message(Role.USER, parts=[AttachmentPart("a.txt", text="only this")])
    store.add_message(conversation, prompt)
    loaded = store.load_conversation(conversation.id)
    assert loaded is not None and loaded.messages[0].parts == [AttachmentPart("a.txt", text="only this")]
    assert loaded.messages[0].content == ""


async def test_a_model_without_vision_gets_notes_for_the_images_of_earlier_turns(vision_ollama, store, tmp_path):
    (tmp_path / "red.png").write_bytes(png())
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b")
    try:
        await session.send("What colour?", attached=[session.read_attachment(str(tmp_path / "red.png"), name="red.png")])
        session.use_model("deepseek-r1:8b")  # goes on without vision: the image would earn a 500
        answer = await session.send("Say it in French")
    finally:
        await session.aclose()
    assert answer.error is None and answer.content == ANSWER
    old = chats(vision_ollama)[-1]["messages"][0]
    assert "images" not in old and old["content"].endswith("[image red.png was attached here; left out of this request]")


def test_the_fake_openai_servers_check_image_parts_as_the_real_ones():
    from tests.servers.images import OLLAMA_V1_INVALID, OLLAMA_V1_URL, openai_images

    def parts(url: str) -> list[dict]:
        return [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": url}}]}]

    good = "data:image/png;base64," + base64.b64encode(png()).decode()
    assert openai_images(parts(good)) == (["png"], None)
    assert openai_images(parts("https://example.com/a.png"), web_urls=False) == ([], OLLAMA_V1_URL)
    assert openai_images(parts("https://example.com/a.png")) == (["url"], None)
    assert openai_images(parts("data:image/png;base64,%%%")) == ([], OLLAMA_V1_INVALID)


def test_a_large_binary_file_is_refused_as_binary_and_a_device_as_not_a_file(tmp_path):
    (tmp_path / "backup.zip").write_bytes(b"PK\x03\x04" + bytes(300_000))
    with pytest.raises(AttachmentRefused, match=r"^backup.zip is a binary file"):
        read_file(tmp_path / "backup.zip", name="backup.zip")
    with pytest.raises(AttachmentRefused, match=r"^/dev/zero is not a regular file.$"):
        read_file("/dev/zero")


async def test_a_runner_that_cannot_see_images_is_remembered_and_refused_at_attach_time(vision_ollama, store, tmp_path):
    vision_ollama.models["qwen2.5vl:7b"].sees_images = False  # lists vision, packaged without its projector
    (tmp_path / "red.png").write_bytes(png())
    session = await open_session(vision_ollama, store, "qwen2.5vl:7b")
    try:
        image = session.read_attachment(str(tmp_path / "red.png"), name="red.png")
        await session.check_attachments([image])  # the list says vision: allowed, and tried
        answer = await session.send("What colour?", attached=[image])
        assert answer.status == "error" and "missing data required for image input" in (answer.error or "")
        with pytest.raises(AttachmentRefused, match="^qwen2.5vl:7b does not take images"):
            await session.check_attachments([image])
    finally:
        await session.aclose()


async def test_an_openai_compatible_refusal_of_images_is_remembered(store, tmp_path):
    (tmp_path / "a.png").write_bytes(png())
    with FakeOpenAI(style="vllm") as server:
        server.image_models = set()
        session = await openai_session(server, store, server.model_names[0], provider="openai")
        try:
            image = session.read_attachment(str(tmp_path / "a.png"), name="a.png")
            await session.send("Describe", attached=[image])
            assert await session.image_support() is attachments.Support.NO
            with pytest.raises(AttachmentRefused, match="does not take images"):
                await session.send("Describe again", attached=[image])
        finally:
            await session.aclose()
    assert len(chats(server)) == 1  # the second was refused before sending
