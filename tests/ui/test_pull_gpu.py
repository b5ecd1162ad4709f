"""The pull screen's verdicts count the GPU memory Ollama reports for its loaded models."""

from __future__ import annotations

import httpx

from r1chat.fit import GIB, Memory
from tests.ui.conftest import wait_until
from tests.ui.test_pull_screen import open_pulls, shown


def verdict_of(screen, tag: str) -> str:
    line = next(line for line in shown(screen, "#suggestions").splitlines() if f"deepseek-r1:{tag} " in line)
    return next(word for word in ("fits", "tight", "too big") if f"  {word}  " in line)


async def test_a_model_loaded_on_the_gpu_makes_room_for_a_bigger_verdict(run_app, ollama, monkeypatch):
    monkeypatch.setattr("r1chat.ui.screens.pull.machine_memory", lambda: Memory(16 * GIB, 10 * GIB))
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pilot.app.pulls)
        assert verdict_of(screen, "14b") == "tight"  # nothing loaded: RAM only
        await pilot.press("escape")
        httpx.post(f"{ollama.url}/api/chat", json={"model": "deepseek-r1:8b", "messages": []}).raise_for_status()
        screen = await open_pulls(pilot, pilot.app.pulls)
        await wait_until(pilot, lambda: verdict_of(screen, "14b") == "fits", "the GPU memory in the verdict")
        assert verdict_of(screen, "32b") == "too big"
