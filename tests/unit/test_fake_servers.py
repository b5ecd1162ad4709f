"""The fake servers speak the wire protocols the real clients expect (real sockets, real clients)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import ollama
import pytest

from tests.servers import FakeOllama, FakeOpenAI, OllamaFault, OpenAIFault
from tests.servers.generation import fill_prompt

REPO = Path(__file__).resolve().parents[2]

HELLO = [{"role": "user", "content": "What is 17 * 23?"}]
METRICS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
           "eval_count", "eval_duration")


@pytest.fixture
def fake_ollama():
    with FakeOllama() as srv:
        yield srv


async def chat_chunks(srv: FakeOllama, model: str = "deepseek-r1:8b", **kwargs) -> list:
    client = ollama.AsyncClient(host=srv.url)
    return [part async for part in await client.chat(model, HELLO, stream=True, **kwargs)]


async def raw_ndjson(srv: FakeOllama, body: dict, path: str = "/api/chat") -> tuple[httpx.Response, str]:
    async with httpx.AsyncClient() as client:
        response = await client.post(srv.url + path, json=body)
    return response, response.text


# -- Ollama: chat -------------------------------------------------------------------------------


async def test_native_stream_sends_thinking_then_content_with_one_chunk_carrying_both(fake_ollama):
    chunks = await chat_chunks(fake_ollama, think=True)
    model = fake_ollama.models["deepseek-r1:8b"]

    assert "".join(c.message.thinking or "" for c in chunks) == fill_prompt(model.reasoning, HELLO)
    assert "".join(c.message.content for c in chunks) == fill_prompt(model.answer, HELLO)
    assert "17 * 23" in "".join(c.message.content for c in chunks)
    assert sum(1 for c in chunks if c.message.thinking and c.message.content) == 1
    assert len(chunks) > 20
    *body, final = chunks
    assert final.done and final.done_reason == "stop" and final.eval_count == len(body)
    assert all(not c.done and c.eval_count is None for c in body)
    assert fake_ollama.requests[-1].json["think"] is True


async def test_wire_is_ndjson_with_message_in_every_line_and_metrics_only_at_the_end(fake_ollama):
    response, text = await raw_ndjson(fake_ollama, {"model": "deepseek-r1:8b", "messages": HELLO})

    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["transfer-encoding"] == "chunked"
    assert text.endswith("\n") and "\n\n" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines[:-1]:
        assert line["message"]["role"] == "assistant" and "content" in line["message"]
        assert line["message"].get("thinking", "x") != ""
        assert not set(METRICS) & line.keys() and "done_reason" not in line
        assert line["created_at"].endswith("Z")
    final = lines[-1]
    assert final["done"] and final["message"] == {"role": "assistant", "content": ""}
    assert set(METRICS) <= final.keys() and final["done_reason"] == "stop"
    assert any("thinking" in line["message"] for line in lines)  # think omitted means on (0.12.4+)


async def test_think_omitted_before_0_12_4_leaves_raw_tags_in_content():
    with FakeOllama(version="0.12.3") as srv:
        chunks = await chat_chunks(srv)
    content = "".join(c.message.content for c in chunks)
    assert content.startswith("<think>\n") and "</think>\n\n" in content
    assert not any(c.message.thinking for c in chunks)


async def test_think_false_leaves_raw_tags_in_content(fake_ollama):
    chunks = await chat_chunks(fake_ollama, think=False)
    assert "<think>" in "".join(c.message.content for c in chunks)


async def test_tags_style_cuts_both_tags_across_chunks(fake_ollama):
    chunks = await chat_chunks(fake_ollama, "r1-legacy:7b")
    pieces = [c.message.content for c in chunks]
    assert pieces[:2] == ["<thi", "nk>\n"]
    assert "</th" in "".join(pieces) and any(p.endswith("</th") for p in pieces)
    assert not any("<think>" in p or "</think>" in p for p in pieces)


async def test_openerless_style_has_only_the_closing_tag(fake_ollama):
    content = "".join(c.message.content for c in await chat_chunks(fake_ollama, "r1-openerless:7b"))
    assert "</think>" in content and "<think>" not in content


async def test_plain_model_answers_without_reasoning(fake_ollama):
    chunks = await chat_chunks(fake_ollama, "llama3.2")
    assert not any(c.message.thinking for c in chunks)
    assert "<think>" not in "".join(c.message.content for c in chunks)


@pytest.mark.parametrize(("version", "message"), [
    ("0.12.6", '"llama3.2" does not support thinking'),
    ("0.12.3", "registry.ollama.ai/library/llama3.2:latest does not support thinking"),
])
async def test_think_on_a_model_without_thinking_is_400(version, message):
    with FakeOllama(version=version) as srv:
        with pytest.raises(ollama.ResponseError) as caught:
            await chat_chunks(srv, "llama3.2", think=True)
    assert caught.value.status_code == 400 and caught.value.error == message


@pytest.mark.parametrize(("version", "message"), [
    ("0.12.6", "model 'nope' not found"),
    ("0.11.10", 'model "nope" not found, try pulling it first'),
])
async def test_unknown_model_is_404(version, message):
    with FakeOllama(version=version) as srv:
        with pytest.raises(ollama.ResponseError) as caught:
            await chat_chunks(srv, "nope")
    assert caught.value.status_code == 404 and caught.value.error == message


async def test_answer_placeholder_echoes_the_last_user_message(fake_ollama):
    fake_ollama.models["deepseek-r1:8b"].answer = "echo:{prompt}"
    chunks = await chat_chunks(fake_ollama, think=True)
    assert "".join(c.message.content for c in chunks) == "echo:What is 17 * 23?"


# -- Ollama: faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "status_seen"), [("0.12.6", 503), ("0.12.5", -1)])
async def test_error_before_the_first_line_depends_on_the_version(version, status_seen):
    busy = "server busy, please try again.  maximum pending requests exceeded"
    with FakeOllama(version=version) as srv:
        srv.fault = OllamaFault(status=503, error=busy)
        with pytest.raises(ollama.ResponseError) as caught:
            await chat_chunks(srv)
    assert caught.value.status_code == status_seen and caught.value.error == busy


async def test_error_mid_stream_arrives_as_an_error_line(fake_ollama):
    fake_ollama.fault = OllamaFault(error_after=3)
    seen = []
    with pytest.raises(ollama.ResponseError) as caught:
        async for part in await ollama.AsyncClient(host=fake_ollama.url).chat(
            "deepseek-r1:8b", HELLO, stream=True
        ):
            seen.append(part)
    assert len(seen) == 3 and caught.value.status_code == -1
    assert caught.value.error == "an error was encountered while running the model"


async def test_blank_and_malformed_lines_are_injected_once(fake_ollama):
    fake_ollama.fault = OllamaFault(blank_line_after=2, malformed_after=4)
    _, text = await raw_ndjson(fake_ollama, {"model": "deepseek-r1:8b", "messages": HELLO})
    lines = text.split("\n")
    assert lines[2] == "" and lines[5] == '{"model":"deepseek-r1'
    assert lines.count("") == 2  # the injected one and the one after the final newline


async def test_fault_with_times_heals_afterwards(fake_ollama):
    fake_ollama.fault = OllamaFault(status=500, times=1)
    with pytest.raises(ollama.ResponseError):
        await chat_chunks(fake_ollama)
    assert (await chat_chunks(fake_ollama))[-1].done
    assert fake_ollama.fault is None


async def test_abrupt_close_breaks_the_chunked_body(fake_ollama):
    fake_ollama.fault = OllamaFault(close_after=4)
    seen = []
    with pytest.raises(httpx.RemoteProtocolError):
        async for part in await ollama.AsyncClient(host=fake_ollama.url).chat(
            "deepseek-r1:8b", HELLO, stream=True
        ):
            seen.append(part)
    assert len(seen) == 4


async def test_client_leaving_mid_stream_is_counted_and_stops_generation():
    with FakeOllama(delay=0.02) as srv:
        stream = await ollama.AsyncClient(host=srv.url).chat("deepseek-r1:8b", HELLO, stream=True)
        async for _ in stream:
            break
        await stream.aclose()
        assert await asyncio.to_thread(srv.wait_for_disconnect, 5)
        assert srv.disconnects == 1


@pytest.mark.serial  # a deadline in real time
async def test_stalled_stream_is_released_when_the_server_stops():
    srv = FakeOllama().start()
    srv.fault = OllamaFault(stall_after=2)
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", srv.url + "/api/chat",
                                 json={"model": "deepseek-r1:8b", "messages": HELLO}) as response:
            lines = response.aiter_lines()
            await anext(lines), await anext(lines)
            started = time.monotonic()
            await asyncio.to_thread(srv.stop)
            assert time.monotonic() - started < 2
            with pytest.raises(httpx.RemoteProtocolError):
                await anext(lines)


async def test_stalled_stream_notices_the_client_leaving(fake_ollama):
    fake_ollama.fault = OllamaFault(stall_after=1)
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", fake_ollama.url + "/api/chat",
                                 json={"model": "deepseek-r1:8b", "messages": HELLO}) as response:
            await anext(response.aiter_lines())
    assert await asyncio.to_thread(fake_ollama.wait_for_disconnect, 5)


# -- Ollama: model store ------------------------------------------------------------------------


async def test_pull_streams_manifest_layers_verification_and_success(fake_ollama):
    client = ollama.AsyncClient(host=fake_ollama.url)
    progress = [p async for p in await client.pull("deepseek-r1:7b", stream=True)]

    statuses = [p.status for p in progress]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [p for p in progress if p.status.startswith("pulling ") and p.digest]
    first = layers[0]
    assert first.completed is None and first.status == "pulling " + first.digest[7:19]
    weights = [p.completed for p in layers if p.digest == first.digest and p.completed]
    assert weights == sorted(weights) and weights[-1] == first.total and len(weights) > 3
    assert "deepseek-r1:7b" in [m.model for m in (await client.list()).models]


async def test_pull_of_an_unknown_model_fails_after_the_manifest_line(fake_ollama):
    _, text = await raw_ndjson(fake_ollama, {"model": "nosuch:1b"}, "/api/pull")
    assert text.splitlines() == [
        '{"status":"pulling manifest"}', '{"error":"pull model manifest: file does not exist"}'
    ]
    with pytest.raises(ollama.ResponseError) as caught:
        [p async for p in await ollama.AsyncClient(host=fake_ollama.url).pull("nosuch:1b", stream=True)]
    assert caught.value.status_code == -1


async def test_pull_of_a_malformed_name_is_400(fake_ollama):
    with pytest.raises(ollama.ResponseError) as caught:
        [p async for p in await ollama.AsyncClient(host=fake_ollama.url).pull("bad name", stream=True)]
    assert caught.value.status_code == 400 and caught.value.error == "invalid model name"


async def test_client_leaving_a_pull_stops_it():
    with FakeOllama(delay=0.02) as srv:
        stream = await ollama.AsyncClient(host=srv.url).pull("deepseek-r1:14b", stream=True)
        async for _ in stream:
            break
        await stream.aclose()
        assert await asyncio.to_thread(srv.wait_for_disconnect, 5)
        assert srv.find("deepseek-r1:14b") is None


async def test_show_list_ps_and_delete(fake_ollama):
    client = ollama.AsyncClient(host=fake_ollama.url)
    shown = await client.show("deepseek-r1:8b")
    assert shown.modelinfo["general.architecture"] == "qwen3"
    assert shown.modelinfo["qwen3.context_length"] == 131072
    assert "thinking" in shown.capabilities and shown.details.parameter_size == "8.2B"
    assert "llama3.2:latest" in [m.model for m in (await client.list()).models]

    assert (await client.ps()).models == []
    await chat_chunks(fake_ollama, options={"num_ctx": 8192})
    (loaded,) = (await client.ps()).models
    assert loaded.model == "deepseek-r1:8b" and loaded.context_length == 8192
    assert loaded.expires_at is not None and loaded.size_vram

    assert (await client.delete("deepseek-r1:8b")).status == "success"
    with pytest.raises(ollama.ResponseError) as caught:
        await client.show("deepseek-r1:8b")
    assert caught.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as caught:
        await client.delete("deepseek-r1:8b")
    assert caught.value.status_code == 404


async def test_liveness_and_version_probes(fake_ollama):
    async with httpx.AsyncClient(base_url=fake_ollama.url) as client:
        assert (await client.get("/")).text == "Ollama is running"
        assert (await client.head("/")).status_code == 200
        assert (await client.head("/api/tags")).status_code == 200
        assert (await client.get("/api/version")).json() == {"version": "0.12.6"}
        delete = await client.request("DELETE", "/api/delete", json={"model": "llama3.2"})
        assert delete.status_code == 200 and delete.content == b""
    assert fake_ollama.requests[-1].headers["content-type"] == "application/json"


# -- OpenAI-compatible --------------------------------------------------------------------------


def sse_events(lines: list[str]) -> list[str]:
    """The events of an SSE body read line by line, checking the framing on the way: every
    event is one line (a `: comment` or a `data: ` line) followed by one blank line."""
    assert len(lines) % 2 == 0, lines
    events, separators = lines[0::2], lines[1::2]
    assert all(separator == "" for separator in separators)
    assert all(event.startswith((": ", "data: ")) for event in events), events
    return events


def reassemble(events: list[str]) -> tuple[str, str]:
    reasoning = content = ""
    for event in events:
        if event.startswith(":") or event == "data: [DONE]":
            continue
        for choice in json.loads(event.removeprefix("data: "))["choices"]:
            delta = choice["delta"]
            reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            content += delta.get("content") or ""
    return reasoning, content


def request_body(srv: FakeOpenAI, stream: bool, extra: dict) -> tuple[dict, dict]:
    body = {"model": srv.model_names[0], "messages": HELLO, "stream": stream} | extra
    headers = {"Authorization": f"Bearer {srv.api_key}"} if srv.api_key else {}
    return body, headers


async def completion(srv: FakeOpenAI, stream: bool = False, **extra) -> httpx.Response:
    body, headers = request_body(srv, stream, extra)
    async with httpx.AsyncClient() as client:
        return await client.post(srv.url + "/v1/chat/completions", json=body, headers=headers)


async def streamed_events(srv: FakeOpenAI, **extra) -> list[str]:
    body, headers = request_body(srv, True, extra)
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", srv.url + "/v1/chat/completions", json=body,
                                 headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            return sse_events([line async for line in response.aiter_lines()])


@pytest.mark.parametrize("style", ["deepseek", "openrouter", "vllm", "llamacpp", "lmstudio"])
async def test_each_style_streams_reasoning_and_answer_in_its_fields(style):
    with FakeOpenAI(style=style) as srv:
        events = await streamed_events(srv)
    assert events[-1] == "data: [DONE]"
    assert [e for e in events if e.startswith(":")] == events[:srv.keepalives]
    reasoning, content = reassemble(events)
    assert reasoning == fill_prompt(srv.reasoning, HELLO)
    assert content == fill_prompt(srv.answer, HELLO)
    assert len(events) > 20


@pytest.mark.parametrize(("style", "opening"), [("inline", "<think>\n"), ("openerless", "")])
async def test_inline_styles_keep_tags_in_content_cut_across_chunks(style, opening):
    with FakeOpenAI(style=style) as srv:
        events = await streamed_events(srv)
    reasoning, content = reassemble(events)
    assert reasoning == ""
    assert content.startswith(opening + "Okay,")
    assert "\n</think>\n\n" in content
    deltas = [json.loads(e[6:])["choices"][0]["delta"] for e in events[:-1]]
    assert {"content": "\n</th"} in deltas and {"content": "ink>"} in deltas


async def test_deepseek_stream_shape():
    with FakeOpenAI(style="deepseek") as srv:
        events = await streamed_events(srv)
    assert events[:2] == [": keep-alive", ": keep-alive"]
    chunks = [json.loads(e[6:]) for e in events[2:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None, "reasoning_content": ""}
    assert chunks[1]["choices"][0]["delta"]["content"] is None
    assert chunks[-2]["choices"][0]["delta"]["reasoning_content"] is None
    assert all(c["usage"] is None for c in chunks[:-1])
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert {"prompt_cache_hit_tokens", "prompt_cache_miss_tokens"} <= final["usage"].keys()


async def test_openrouter_sends_details_and_a_separate_usage_chunk():
    with FakeOpenAI(style="openrouter") as srv:
        events = await streamed_events(srv)
    assert events[0] == ": OPENROUTER PROCESSING"
    first = json.loads(events[1][6:])["choices"][0]["delta"]
    assert first["reasoning_details"][0]["type"] == "reasoning.text"
    assert first["reasoning_details"][0]["text"] == first["reasoning"]
    usage = json.loads(events[-2][6:])
    assert usage["choices"] == [] and usage["usage"]["cost"] > 0
    assert json.loads(events[-3][6:])["choices"][0]["finish_reason"] == "stop"


async def test_llamacpp_final_chunk_has_usage_and_timings():
    with FakeOpenAI(style="llamacpp") as srv:
        events = await streamed_events(srv, model="anything")
    assert json.loads(events[0][6:])["choices"][0]["delta"] == {"role": "assistant", "content": None}
    final = json.loads(events[-2][6:])
    assert final["usage"]["completion_tokens"] == final["timings"]["predicted_n"]


@pytest.mark.parametrize(("style", "field"), [
    ("deepseek", "reasoning_content"), ("openrouter", "reasoning"), ("vllm", "reasoning"),
    ("llamacpp", "reasoning_content"), ("lmstudio", "reasoning"),
])
async def test_non_streaming_answer_carries_reasoning_in_the_style_field(style, field):
    with FakeOpenAI(style=style) as srv:
        response = await completion(srv)
    body = response.json()  # DeepSeek's leading keep-alive blank lines are plain whitespace
    message = body["choices"][0]["message"]
    assert body["object"] == "chat.completion" and body["usage"]["total_tokens"] > 0
    assert message[field] == fill_prompt(srv.reasoning, HELLO)
    assert message["content"] == fill_prompt(srv.answer, HELLO)


async def test_deepseek_thinking_disabled_sends_no_reasoning():
    with FakeOpenAI() as srv:
        events = await streamed_events(srv, thinking={"type": "disabled"})
    assert "reasoning_content" not in "".join(events)
    assert srv.requests[-1].json["thinking"] == {"type": "disabled"}


async def test_bad_key_is_401_with_the_tail_of_the_key():
    with FakeOpenAI(api_key="sk-right") as srv:
        async with httpx.AsyncClient() as client:
            wrong = await client.get(srv.url + "/models", headers={"Authorization": "Bearer sk-wrongabcd"})
            missing = await client.get(srv.url + "/models")
            fine = await client.get(srv.url + "/models", headers={"Authorization": "Bearer sk-right"})
    assert wrong.status_code == 401 and wrong.json() == {"error": {
        "message": "Authentication Fails, Your api key: ****abcd is invalid",
        "type": "authentication_error", "param": None, "code": "invalid_request_error"}}
    assert missing.status_code == 401
    assert [m["id"] for m in fine.json()["data"]] == ["deepseek-v4-flash", "deepseek-v4-pro"]


@pytest.mark.parametrize(("style", "status", "message"), [
    ("deepseek", 400, "Model Not Exist"),
    ("vllm", 404, "The model `nope` does not exist."),
])
async def test_unknown_model(style, status, message):
    with FakeOpenAI(style=style) as srv:
        response = await completion(srv, stream=True, model="nope")
    assert response.status_code == status and response.json()["error"]["message"] == message


async def test_legacy_deepseek_rejects_reasoning_content_in_input():
    with FakeOpenAI() as srv:
        srv.reject_reasoning_content = True
        history = [*HELLO, {"role": "assistant", "content": "391", "reasoning_content": "hm"}, *HELLO]
        response = await completion(srv, stream=True, messages=history)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("The reasoning_content is an intermediate")


async def test_rate_limit_fault_sends_retry_after():
    with FakeOpenAI() as srv:
        srv.fault = OpenAIFault(status=429, retry_after=7)
        response = await completion(srv, stream=True)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"]["message"] == "Rate Limit Reached"


@pytest.mark.parametrize("style", ["deepseek", "openrouter"])
async def test_error_mid_stream_is_an_error_event_without_done(style):
    with FakeOpenAI(style=style) as srv:
        srv.fault = OpenAIFault(error_after=3)
        events = await streamed_events(srv)
    error = json.loads(events[-1][6:])
    assert "data: [DONE]" not in events and error["error"]["message"]
    if style == "openrouter":
        assert error["choices"][0]["finish_reason"] == "error"


async def test_context_overflow_in_llamacpp_words():
    with FakeOpenAI(style="llamacpp") as srv:
        srv.fault = OpenAIFault(context_overflow=True)
        response = await completion(srv, stream=True)
    error = response.json()["error"]
    assert response.status_code == 400 and error["type"] == "exceed_context_size_error"
    assert error["n_ctx"] == 8192 and error["n_prompt_tokens"] > 8192


async def test_finish_reason_override():
    with FakeOpenAI() as srv:
        srv.fault = OpenAIFault(finish_reason="insufficient_system_resource")
        events = await streamed_events(srv)
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] == "insufficient_system_resource"


async def test_openai_abrupt_close_and_disconnect():
    with FakeOpenAI(delay=0.02) as srv:
        srv.fault = OpenAIFault(close_after=2, times=1)
        async with httpx.AsyncClient() as client:
            body = {"model": "deepseek-v4-flash", "messages": HELLO, "stream": True}
            with pytest.raises(httpx.RemoteProtocolError):
                async with client.stream("POST", srv.url + "/chat/completions", json=body) as r:
                    [line async for line in r.aiter_lines()]
            async with client.stream("POST", srv.url + "/chat/completions", json=body) as r:
                await anext(r.aiter_lines())
        assert await asyncio.to_thread(srv.wait_for_disconnect, 5)
        assert srv.disconnects == 1


async def test_models_and_balance_endpoints():
    with FakeOpenAI() as srv:
        async with httpx.AsyncClient(base_url=srv.url) as client:
            models = (await client.get("/models")).json()
            balance = (await client.get("/user/balance")).json()
    assert models["object"] == "list" and models["data"][0]["owned_by"] == "deepseek"
    assert balance["balance_infos"][0]["total_balance"] == "110.00"


@pytest.mark.process
@pytest.mark.parametrize("module", ["tests.servers.ollama", "tests.servers.openai"])
def test_servers_run_standalone(module):
    process = subprocess.Popen([sys.executable, "-m", module, "--port", "0"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = process.stdout.readline().split()[-1]
        assert httpx.get(url + ("/api/version" if "ollama" in module else "/models")).status_code == 200
    finally:
        process.terminate()
        process.wait(5)
