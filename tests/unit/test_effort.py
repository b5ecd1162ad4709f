"""Thinking effort per backend, over real HTTP to the fake servers: which levels each server takes
for a model (protocols.md 0, B.1, C), that a level goes out only there, and how the fakes reject
the rest as the real servers do."""

from __future__ import annotations

import httpx
import pytest

from r1chat.backends.base import ChatOptions, EffortLevels, version_number
from r1chat.backends.ollama import OllamaBackend
from r1chat.backends.openai import OpenAIBackend
from tests.histories import history
from tests.servers import FakeOllama, FakeOpenAI

HELLO = [{"role": "user", "content": "What is 17 * 23?"}]
ASK = history(*HELLO)
THINKER, PLAIN = "deepseek-r1:8b", "llama3.2:latest"


async def levels_on_ollama(version: str, model: str = THINKER) -> EffortLevels:
    with FakeOllama(version=version) as server:
        backend = OllamaBackend(server.url)
        try:
            return (await backend.capabilities(model)).effort
        finally:
            await backend.aclose()


async def ollama_chat_body(version: str, think, model: str = THINKER) -> dict:
    """The /api/chat body the backend sent for a turn asking for ``think``; the turn must succeed."""
    with FakeOllama(version=version) as server:
        backend = OllamaBackend(server.url)
        try:
            events = [event async for event in backend.chat(model, ASK, ChatOptions(think=think))]
        finally:
            await backend.aclose()
        assert events, "the turn produced nothing"
        return [r for r in server.requests if r.path == "/api/chat"][-1].json


async def openai_turn(srv: FakeOpenAI, think, *, url: str | None = None, provider: str | None = None,
                      extra_body: dict | None = None) -> dict:
    backend = OpenAIBackend(url or srv.url, srv.api_key, provider=provider or srv.style, extra_body=extra_body)
    try:
        async for _ in backend.chat(srv.model_names[0], ASK, ChatOptions(think=think)):
            pass
    finally:
        await backend.aclose()
    return [r for r in srv.requests if r.path.endswith("/chat/completions")][-1].json


# --- Ollama ------------------------------------------------------------------------------------


def test_versions_are_read_as_numbers():
    assert version_number("0.18.0") == (0, 18, 0)
    assert version_number("0.22.1-rc2") == (0, 22, 1)
    assert version_number("v0.9") == (0, 9, 0)
    assert version_number("unknown") is None


@pytest.mark.parametrize(
    ("version", "levels"),
    [("0.17.7", ()), ("0.18.0", ("low", "medium", "high")), ("0.21.9", ("low", "medium", "high")),
     ("0.22.0", ("low", "medium", "high", "max")), ("0.33.0", ("low", "medium", "high", "max"))],
)
async def test_ollama_takes_levels_for_thinking_models_from_0_18_and_max_from_0_22(version, levels):
    assert (await levels_on_ollama(version)).levels == levels


async def test_an_old_ollama_says_which_version_it_is_and_which_would_do():
    support = await levels_on_ollama("0.12.3")
    assert support.levels == ()
    assert support.why_not == "Ollama 0.12.3 takes no thinking levels; 0.18 or later does."


async def test_a_model_that_does_not_think_takes_no_levels_even_on_a_new_ollama():
    support = await levels_on_ollama("0.22.0", PLAIN)
    assert support.levels == () and "llama3.2:latest does not think" in support.why_not


async def test_a_level_the_ollama_takes_is_sent_as_think():
    assert (await ollama_chat_body("0.18.0", "high"))["think"] == "high"
    assert (await ollama_chat_body("0.22.0", "max"))["think"] == "max"


@pytest.mark.parametrize(("version", "level"), [("0.12.6", "high"), ("0.17.0", "low"), ("0.18.0", "max")])
async def test_a_level_an_ollama_would_reject_is_not_sent_and_the_model_thinks_as_by_default(version, level):
    assert (await ollama_chat_body(version, level))["think"] is True


async def test_a_level_is_never_sent_for_a_model_that_does_not_think():
    assert "think" not in await ollama_chat_body("0.22.0", "high", PLAIN)


@pytest.mark.parametrize(
    ("version", "think", "error"),
    [
        ("0.12.6", "high", 'think value "high" is not supported for this model'),
        ("0.18.0", "max", 'invalid think value: "max" (must be "high", "medium", "low", true, or false)'),
        ("0.22.0", "extreme", 'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)'),
        ("0.10.1", "high", "json: cannot unmarshal string into Go struct field ChatRequest.think of type bool"),
    ],
)
def test_the_fake_ollama_rejects_levels_as_that_version_does(version, think, error):
    with FakeOllama(version=version) as server:
        response = httpx.post(f"{server.url}/api/chat", json={"model": THINKER, "messages": HELLO, "think": think})
    assert (response.status_code, response.json()) == (400, {"error": error})


# --- OpenAI-compatible servers -----------------------------------------------------------------


async def test_deepseek_takes_low_high_and_max_as_reasoning_effort():
    with FakeOpenAI(style="deepseek", api_key="sk-test-0000") as srv:
        backend = OpenAIBackend(srv.url, srv.api_key, provider="deepseek")
        assert (await backend.capabilities("deepseek-v4-flash")).effort.levels == ("low", "high", "max")
        await backend.aclose()
        assert (await openai_turn(srv, "max"))["reasoning_effort"] == "max"
        assert "reasoning_effort" not in await openai_turn(srv, "medium")  # not one of its levels


def test_deepseek_is_known_by_its_host_whatever_the_provider_is_called():
    backend = OpenAIBackend("https://api.deepseek.com", "sk-x", provider="work")
    assert backend.family == "deepseek"
    assert OpenAIBackend("https://openrouter.ai/api/v1", "sk-x", provider="or").family == "openrouter"


def test_the_fake_deepseek_rejects_an_unknown_reasoning_effort_in_its_error_shape():
    with FakeOpenAI(style="deepseek") as srv:
        response = httpx.post(f"{srv.url}/chat/completions",
                              json={"model": "deepseek-v4-flash", "messages": HELLO, "reasoning_effort": "extreme"})
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["message"].startswith("Failed to deserialize the JSON body into the target type: reasoning_effort: "
                                       "unknown variant `extreme`")
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_request_error")


async def test_openrouter_gets_the_level_as_reasoning_effort_in_its_own_field():
    with FakeOpenAI(style="openrouter") as srv:
        body = await openai_turn(srv, "medium", url=srv.url + "/v1")
    assert body["reasoning"] == {"effort": "medium"} and "reasoning_effort" not in body


async def test_the_users_extra_body_field_wins_and_no_level_is_offered():
    with FakeOpenAI(style="deepseek") as srv:
        extra = {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}
        body = await openai_turn(srv, "max", extra_body=extra)
        backend = OpenAIBackend(srv.url, provider="deepseek", extra_body=extra)
        support = (await backend.capabilities("deepseek-v4-flash")).effort
        await backend.aclose()
    assert body["reasoning_effort"] == "low"
    assert support.levels == () and "extra_body sets reasoning_effort" in support.why_not


@pytest.mark.parametrize("style", ["vllm", "llamacpp", "lmstudio"])
async def test_other_openai_compatible_servers_are_never_sent_a_level(style):
    with FakeOpenAI(style=style) as srv:
        backend = OpenAIBackend(srv.url + "/v1", provider="local")
        support = (await backend.capabilities(srv.model_names[0])).effort
        await backend.aclose()
        body = await openai_turn(srv, "high", url=srv.url + "/v1", provider="local")
    assert support.levels == () and "only DeepSeek, OpenRouter and Ollama" in support.why_not
    assert "reasoning_effort" not in body and "reasoning" not in body


@pytest.mark.parametrize(("version", "levels"), [("0.12.6", ()), ("0.18.0", ("low", "medium", "high"))])
async def test_ollamas_v1_endpoint_takes_levels_from_0_18(version, levels):
    with FakeOllama(version=version) as server:
        backend = OpenAIBackend(server.url + "/v1", provider="ollama-openai")
        support = (await backend.capabilities(THINKER)).effort
        plain = (await backend.capabilities(PLAIN)).effort
        await backend.aclose()
    assert support.levels == levels and plain.levels == ()
    if not levels:
        assert support.why_not == f"Ollama {version} takes no thinking levels; 0.18 or later does."
