"""GPU memory in the fits-your-machine verdict: known only from what Ollama's /api/ps says its
loaded models take (size_vram), read over real HTTP from the fake Ollama."""

from __future__ import annotations

import httpx

from r1chat.backends.ollama import OllamaBackend
from r1chat.fit import GIB, Memory, verdict, with_loaded_vram
from tests.servers import FakeOllama

GB = 1_000_000_000
LAPTOP = Memory(total=16 * GIB, available=10 * GIB)


def test_gpu_memory_the_loaded_models_take_counts_towards_the_verdict():
    assert verdict(9 * GB, LAPTOP) == "tight"  # deepseek-r1:14b in RAM alone
    with_gpu = with_loaded_vram(LAPTOP, [5_225_376_047])  # deepseek-r1:8b loaded on the GPU
    assert with_gpu.vram == 5_225_376_047
    assert verdict(9 * GB, with_gpu) == "fits"


def test_models_loaded_together_add_up_and_nothing_on_a_gpu_is_no_gpu_known():
    assert with_loaded_vram(LAPTOP, [2 * GIB, 3 * GIB, None]).vram == 5 * GIB
    assert with_loaded_vram(LAPTOP, [0, None]) == LAPTOP  # a CPU-only machine says size_vram 0
    assert with_loaded_vram(LAPTOP, []) == LAPTOP
    assert with_loaded_vram(Memory(16 * GIB, 10 * GIB, vram=8 * GIB), [GIB]).vram == 8 * GIB


async def loaded_vram(server: FakeOllama) -> list[int | None]:
    # An empty chat loads the model, as `ollama run` does (protocols.md A.1).
    httpx.post(f"{server.url}/api/chat", json={"model": "deepseek-r1:8b", "messages": []}).raise_for_status()
    backend = OllamaBackend(server.url)
    try:
        return [m.vram for m in await backend.list_models() if m.loaded]
    finally:
        await backend.aclose()


async def test_ollama_reports_the_gpu_memory_of_its_loaded_models():
    with FakeOllama() as server:
        assert await loaded_vram(server) == [server.models["deepseek-r1:8b"].size]
    with FakeOllama() as server:
        server.vram = 0  # no GPU
        assert await loaded_vram(server) == [0]
