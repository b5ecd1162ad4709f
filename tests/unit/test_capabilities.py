"""What each backend says it can do for a model, over real HTTP to the fake servers: from Ollama's
/api/show, from what is known of each OpenAI-compatible family, and from refusals remembered."""

from __future__ import annotations

import pytest

from r1chat.backends.base import ChatOptions, ModelNotFound, Support
from r1chat.backends.ollama import OllamaBackend
from r1chat.backends.openai import OpenAIBackend
from tests.histories import ask
from tests.servers import FakeModel, FakeOllama, FakeOpenAI

YES, NO, UNKNOWN = Support.YES, Support.NO, Support.UNKNOWN


async def turn(backend, model: str) -> list:
    return [event async for event in backend.chat(model, ask("What is 17 * 23?"), ChatOptions())]


def chats(server) -> list[dict]:
    return [r.json for r in server.requests if r.path == "/api/chat"]


# --- Ollama ------------------------------------------------------------------------------------


async def test_an_ollama_thinking_model_thinks_can_stop_and_takes_no_tools_or_images(ollama, ollama_backend):
    caps = await ollama_backend.capabilities("deepseek-r1:8b")
    assert (caps.thinking, caps.thinking_off, caps.tools, caps.images) == (YES, YES, NO, NO)
    assert (caps.list_models, caps.manage_models, caps.usage_in_stream) == (YES, YES, YES)
    assert caps.context_length == ollama.find("deepseek-r1:8b")[1].context_length
    # 0.12.6 takes no thinking levels yet: the reason is the one the effort palette shows.
    assert caps.effort.levels == () and caps.effort.why_not == "Ollama 0.12.6 takes no thinking levels; 0.18 or later does."


async def test_an_ollama_tool_model_takes_tools_and_does_not_think(ollama_backend):
    caps = await ollama_backend.capabilities("llama3.2")
    assert (caps.thinking, caps.thinking_off, caps.tools, caps.images) == (NO, NO, YES, NO)
    assert "llama3.2 does not think (Ollama lists no thinking capability for it)" in caps.effort.why_not


async def test_an_ollama_vision_model_takes_images(ollama, ollama_backend):
    ollama.models["llava:7b"] = FakeModel("llava:7b", capabilities=["completion", "vision"], style="plain")
    assert (await ollama_backend.capabilities("llava:7b")).images is YES


async def test_an_ollama_too_old_to_list_capabilities_leaves_them_unknown():
    with FakeOllama(version="0.6.2") as server:
        backend = OllamaBackend(server.url)
        try:
            caps = await backend.capabilities("deepseek-r1:8b")
        finally:
            await backend.aclose()
    assert (caps.thinking, caps.thinking_off, caps.tools, caps.images) == (UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    assert caps.manage_models is YES


async def test_the_capabilities_of_an_unknown_ollama_model_are_model_not_found(ollama_backend):
    with pytest.raises(ModelNotFound):
        await ollama_backend.capabilities("nope:1b")


async def test_a_model_that_refused_to_think_is_never_asked_to_again(ollama, ollama_backend):
    assert (await ollama_backend.capabilities("deepseek-r1:1.5b")).thinking is YES
    # The model was re-created without the capability after /api/show was asked.
    model = ollama.find("deepseek-r1:1.5b")[1]
    model.capabilities, model.style = ["completion"], "plain"
    await turn(ollama_backend, "deepseek-r1:1.5b")
    assert [body.get("think") for body in chats(ollama)] == [True, None]

    # The server now lists thinking again: the refusal is what counts, for this backend's life.
    model.capabilities = ["completion", "thinking"]
    caps = await ollama_backend.capabilities("deepseek-r1:1.5b")
    assert (caps.thinking, caps.thinking_off, caps.effort.levels) == (NO, NO, ())
    assert "refused" in caps.effort.why_not
    await turn(ollama_backend, "deepseek-r1:1.5b")
    assert "think" not in chats(ollama)[-1] and len(chats(ollama)) == 3
    # Other models are still asked as before.
    await turn(ollama_backend, "deepseek-r1:8b")
    assert chats(ollama)[-1]["think"] is True


# --- OpenAI-compatible servers -----------------------------------------------------------------


async def capabilities_of(srv: FakeOpenAI, model: str, url: str | None = None, **kwargs):
    backend = OpenAIBackend(url or srv.url, srv.api_key, **kwargs)
    try:
        return await backend.capabilities(model)
    finally:
        await backend.aclose()


async def test_deepseek_thinking_models_think_can_stop_and_count_tokens():
    with FakeOpenAI(style="deepseek") as srv:
        caps = await capabilities_of(srv, "deepseek-v4-flash", provider="deepseek")
    assert (caps.thinking, caps.thinking_off, caps.usage_in_stream) == (YES, YES, YES)
    assert caps.effort.levels == ("low", "high", "max")
    assert caps.tools is UNKNOWN  # try, and remember a refusal
    assert caps.images is YES and "image/gif" in caps.image_formats  # flash sees images (protocols.md F.4)
    assert (caps.list_models, caps.manage_models) == (YES, NO)
    assert caps.context_length is None  # DeepSeek's /models gives none


async def test_deepseek_without_thinking_mode_does_not_think():
    with FakeOpenAI(style="deepseek") as srv:
        chat_alias = await capabilities_of(srv, "deepseek-chat", provider="deepseek")
        disabled = await capabilities_of(srv, "deepseek-v4-flash", provider="deepseek",
                                         extra_body={"thinking": {"type": "disabled"}})
        enabled = await capabilities_of(srv, "deepseek-v4-flash", provider="deepseek",
                                        extra_body={"thinking": {"type": "enabled"}})
    assert (chat_alias.thinking, disabled.thinking, enabled.thinking) == (NO, NO, YES)
    assert disabled.thinking_off is YES


async def test_capabilities_send_nothing_new_to_deepseek():
    with FakeOpenAI(style="deepseek") as srv:
        await capabilities_of(srv, "deepseek-v4-flash", provider="deepseek")
    assert [(r.method, r.path) for r in srv.requests] == [("GET", "/models")]


async def test_openrouter_r1_thinks_and_gives_its_window():
    with FakeOpenAI(style="openrouter") as srv:
        caps = await capabilities_of(srv, "deepseek/deepseek-r1", url=srv.url + "/v1", provider="openrouter")
    assert (caps.thinking, caps.thinking_off, caps.usage_in_stream) == (YES, UNKNOWN, YES)
    assert caps.effort.levels == ("low", "medium", "high")
    assert caps.context_length == 163_840
    assert caps.manage_models is NO


async def test_a_generic_server_is_unknown_but_for_what_it_lists():
    with FakeOpenAI(style="vllm", model_names=["Qwen/Qwen3-8B"]) as srv:
        caps = await capabilities_of(srv, "Qwen/Qwen3-8B", url=srv.url + "/v1", provider="local")
    assert (caps.thinking, caps.thinking_off, caps.tools, caps.images, caps.usage_in_stream) == (
        UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    assert caps.context_length == 32_768  # vLLM's max_model_len
    assert caps.effort.levels == () and "only DeepSeek, OpenRouter and Ollama" in caps.effort.why_not
    assert (caps.list_models, caps.manage_models) == (YES, NO)


async def test_an_r1_model_thinks_on_any_server():
    with FakeOpenAI(style="llamacpp") as srv:
        caps = await capabilities_of(srv, srv.model_names[0], url=srv.url + "/v1", provider="local")
    assert caps.thinking is YES
