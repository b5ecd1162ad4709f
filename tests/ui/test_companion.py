"""The R1 companion under Pilot: the loop guard, the final answer, LaTeX as text, trace statistics,
answers only. The fake Ollama over real HTTP sends traces that loop and traces that do not."""

from __future__ import annotations

import re

from r1chat.fit import GIB, Memory
from r1chat.presets import MATH
from r1chat.ui.widgets.message import FinalAnswer
from r1chat.ui.widgets.trace import Trace
from tests.servers import OllamaFault
from tests.servers.generation import pieces
from tests.ui.conftest import text_of, wait_until
from tests.ui.test_chat_screen import (
    answer_text,
    answers,
    ask,
    banner_text,
    chat,
    chats,
    run_command,
    send,
    wait_for_turns,
)
from tests.unit.test_loops import NORMAL_TRACE, PASSAGE

LOOPING_TRACE = "Okay, 17 * 23. " + PASSAGE * 8 + "\n\nRight, it is 391."
MATH_ANSWER = (
    r"We need \( \frac{1}{2} \cdot \sqrt{x} \) with $\alpha^2$, and `\frac{a}{b}` in code stays."
    "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{391}{2}}\n\\]"
)


def repeats(pilot) -> int:
    found = re.search(r"the same passage (\d+) times in a row", banner_text(pilot))
    return int(found.group(1)) if found else 0


def answer_with(ollama, *, reasoning: str, answer: str = "It is 391.") -> None:
    for model in ollama.models.values():
        model.reasoning, model.answer = reasoning, answer


async def test_a_looping_trace_raises_a_banner_that_leaves_the_turn_running(run_app, ollama):
    answer_with(ollama, reasoning=LOOPING_TRACE)
    ollama.fault = OllamaFault(stall_after=len(pieces(LOOPING_TRACE)) - 3)  # still "thinking"
    async with run_app() as pilot:
        await send(pilot, "What is 17 * 23?")
        await wait_until(pilot, lambda: "The trace is going round in circles" in banner_text(pilot), "the loop banner")
        assert repeats(pilot) >= 3
        assert "Esc stops it · F8 lets it go on" in banner_text(pilot)
        await pilot.pause(0.2)
        assert chat(pilot).session.streaming  # a warning, not a stop
        await pilot.press("escape")
        await wait_for_turns(pilot)
        assert answers(pilot)[-1].message.status.value == "interrupted"
        assert banner_text(pilot) == ""


async def test_f8_lets_a_looping_turn_go_on_without_asking_again(run_app, ollama):
    answer_with(ollama, reasoning=LOOPING_TRACE)
    ollama.fault = OllamaFault(stall_after=len(pieces(LOOPING_TRACE)) - 3)
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: "going round in circles" in banner_text(pilot), "the loop banner")
        await pilot.press("f8")
        assert banner_text(pilot) == ""
        assert chat(pilot).session.turn.keep_going
        assert chat(pilot).session.streaming
        await pilot.press("escape")
        await wait_for_turns(pilot)


async def test_a_looping_turn_that_ends_takes_its_warning_with_it(run_app, ollama):
    answer_with(ollama, reasoning=LOOPING_TRACE)
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert answer.message.status.value == "done"
        assert chat(pilot).session.turn.trace_loops.worst.repeats == 8
        assert banner_text(pilot) == ""


async def test_the_stop_setting_stops_a_looping_turn_by_itself(run_app, ollama, settings, store):
    settings.ui.loop_guard = "stop"
    answer_with(ollama, reasoning=LOOPING_TRACE)
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert answer.message.status.value == "interrupted"
        assert "Stopped: the trace repeated the same passage" in banner_text(pilot)
        assert repeats(pilot) >= 3
        assert "stopped: the trace repeated" in text_of(answer.query_one(".footnote"))
        assert PASSAGE.strip() in store.load_conversation(answer.message.conversation_id).messages[-1].reasoning


async def test_long_normal_reasoning_raises_no_alarm(run_app, ollama, settings):
    settings.ui.loop_guard = "stop"
    answer_with(ollama, reasoning="\n\n".join(NORMAL_TRACE.split("\n\n")[:60]))
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert answer.message.status.value == "done"
        assert banner_text(pilot) == ""


async def test_an_answer_that_loops_is_caught_too(run_app, ollama):
    looping = "The result is this. " + PASSAGE * 6
    answer_with(ollama, reasoning="Short thought.", answer=looping)
    ollama.fault = OllamaFault(stall_after=len(pieces("Short thought.")) + len(pieces(looping)) - 3)
    async with run_app() as pilot:
        await send(pilot)
        await wait_until(pilot, lambda: "The answer is going round" in banner_text(pilot), "the loop banner")
        await pilot.press("escape")
        await wait_for_turns(pilot)


async def test_the_boxed_value_is_a_final_answer_line_and_copies_as_written(run_app, ollama):
    answer_with(ollama, reasoning="Half of 391.", answer=MATH_ANSWER)
    async with run_app() as pilot:
        answer = await ask(pilot)
        line = answer.query_one(FinalAnswer)
        assert text_of(line).endswith("∎ Final answer: 391/2")
        await run_command(pilot, "Copy final answer")
        assert pilot.app.clipboard == r"\frac{391}{2}"
        pilot.app.copy_to_clipboard("")
        await pilot.click(FinalAnswer)
        assert pilot.app.clipboard == r"\frac{391}{2}"


async def test_latex_reads_as_text_while_stored_text_stays_as_written(run_app, ollama):
    answer_with(ollama, reasoning=r"So $x^2 = \frac{1}{4}$, then \( x = \pm \frac{1}{2} \).", answer=MATH_ANSWER)
    async with run_app() as pilot:
        answer = await ask(pilot)
        shown = answer_text(answer)
        assert "We need 1/2 · √x with α², and" in shown
        assert r"\frac{a}{b}" in shown  # inline code is left alone
        assert r"\frac{1}{2}" not in shown.replace(r"`\frac{a}{b}`", "")
        assert answer.message.content == MATH_ANSWER
        trace = answer.query_one(Trace)
        trace.collapsed = False
        await pilot.pause()
        assert "x² = 1/4, then x = ± 1/2" in text_of(trace.query_one(".trace-body"))


async def test_no_final_answer_line_without_a_box(run_app, ollama):
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert not answer.query(FinalAnswer)


async def test_the_footnote_counts_trace_and_answer_tokens_and_when_the_answer_began(run_app, ollama):
    async with run_app() as pilot:
        answer = await ask(pilot)
        footnote = text_of(answer.query_one(".footnote"))
        stats = answer.message.stats
        trace = stats.reasoning_tokens
        assert trace and trace == answer.trace.tokens
        assert f"trace {trace} tok · answer {stats.completion_tokens - trace} tok · answer after " in footnote


async def test_hide_all_traces_shows_answers_only_and_back(run_app, ollama):
    async with run_app() as pilot:
        answer = await ask(pilot)
        assert answer.trace.display
        await run_command(pilot, "Hide all traces")
        assert not answer.trace.styles.display == "block"
        assert "Thought for" not in text_of(answer)
        second = await ask(pilot, "Again?")
        assert second.trace.styles.display == "none"  # new answers too
        await run_command(pilot, "Show all traces")
        assert answer.trace.styles.display == "block"


async def test_palette_copies_the_final_answer_and_hides_traces(run_app, ollama):
    answer_with(ollama, reasoning="Half of 391.", answer=MATH_ANSWER)
    async with run_app() as pilot:
        answer = await ask(pilot)
        await run_command(pilot, "Copy final answer")
        assert pilot.app.clipboard == r"\frac{391}{2}"
        await run_command(pilot, "Hide all traces")
        await pilot.pause()
        assert answer.trace.styles.display == "none"
        await run_command(pilot, "Show all traces")
        await pilot.pause()
        assert answer.trace.styles.display == "block"


async def test_the_math_preset_ends_each_prompt_with_the_model_cards_directive(run_app, ollama):
    async with run_app() as pilot:
        await run_command(pilot, "Prompt preset: math")
        screen = chat(pilot)
        await wait_until(pilot, lambda: "preset math" in text_of(screen.status), "the status bar to show the preset")
        await ask(pilot, "What is 17 * 23?")
        sent = chats(ollama)[-1].json["messages"][-1]["content"]
        assert sent == f"What is 17 * 23?\n\n{MATH}"
        await pilot.press("ctrl+r")  # sent again: the directive is not added twice
        await wait_until(pilot, lambda: len(chats(ollama)) == 2, "the retry")
        await wait_for_turns(pilot)
        assert chats(ollama)[-1].json["messages"][-1]["content"] == sent
        await run_command(pilot, "Prompt preset: none")
        await wait_until(pilot, lambda: "preset" not in text_of(screen.status), "the preset to go")
        await ask(pilot, "Plain?")
        assert chats(ollama)[-1].json["messages"][-1]["content"] == "Plain?"


async def test_a_preset_from_the_config_is_offered_too(run_app, ollama, settings):
    settings.presets["terse"] = "Answer in one sentence."
    async with run_app() as pilot:
        await run_command(pilot, "Prompt preset: terse")
        await ask(pilot, "Why is the sky blue?")
        assert chats(ollama)[-1].json["messages"][-1]["content"].endswith("\n\nAnswer in one sentence.")


async def test_pull_suggestions_say_whether_each_size_fits_this_machine(run_app, monkeypatch):
    from tests.ui.test_pull_screen import open_pulls, shown

    monkeypatch.setattr("r1chat.ui.screens.pull.machine_memory", lambda: Memory(16 * GIB, 10 * GIB))
    async with run_app() as pilot:
        screen = await open_pulls(pilot, pilot.app.pulls)
        listed = shown(screen, "#suggestions")
        verdicts = {"1.5b": "fits", "8b": "fits", "14b": "tight", "32b": "too big", "671b": "too big"}
        for tag, word in verdicts.items():
            line = next(line for line in listed.splitlines() if f"deepseek-r1:{tag} " in line)
            assert f"  {word}  " in line, line
