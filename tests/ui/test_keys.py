"""[keys] remaps bindings by id; a wrong id, an unknown key or a key claimed twice is said clearly
(file, line, id) and only that entry is left out."""

from __future__ import annotations

import pytest
from textual import events

from r1chat.config import load_settings
from r1chat.ui.keys import all_binding_ids, check_keymap, known_key
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.widgets.trace import Trace
from tests.ui.conftest import wait_until


@pytest.fixture
def keys(settings, config_file):
    """Write a [keys] table and give the settings what loading it gives."""

    def write(table: str) -> list[str]:
        config_file.write_text("# my keys\n[keys]\n" + table)
        loaded = load_settings()
        settings.keys, settings.path = loaded.keys, config_file
        return loaded.problems

    return write


def problems_shown(pilot) -> list[str]:
    return [line for n in pilot.app._notifications for line in str(n.message).splitlines() if "keys." in line]


async def test_a_remapped_key_does_the_action_and_the_old_one_no_longer_does(run_app, keys):
    keys('new_chat = "ctrl+b"\n')
    async with run_app() as pilot:
        screen: ChatScreen = pilot.app.screen
        assert problems_shown(pilot) == []
        await pilot.press("ctrl+n")  # now nothing
        await pilot.pause()
        conversation = screen.session.conversation
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: screen.session.conversation is not conversation, "a new conversation")


async def test_two_actions_may_swap_keys(run_app, keys):
    keys('new_chat = "ctrl+t"\ntoggle_trace = "ctrl+n"\n')
    async with run_app() as pilot:
        assert problems_shown(pilot) == []
        screen = pilot.app.screen
        conversation = screen.session.conversation
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: screen.session.conversation is not conversation, "a new conversation")


async def test_each_bad_entry_is_named_with_file_line_and_id_and_the_good_ones_apply(run_app, keys, config_file):
    keys(
        '"history.opne" = "ctrl+o"\n'  # line 3: a typo (ids with dots quoted: history is an id too)
        'new_chat = "ctrl+t"\n'        # line 4: toggle_trace keeps ctrl+t
        'stop = "ctrl+k"\n'            # line 5: the prompt's TextArea deletes to the end of the line
        'copy_answer = "c"\n'          # line 6: would be typed into the prompt
        'pick_model = "ctrl+shft+m"\n' # line 7: no such key
        'history = "ctrl+y,"\n'        # line 8: an empty key
        'retry = "ctrl+e"\n'           # line 9: the TextArea's end of line
        'edit_last = "f11"\n'           # line 10: fine
    )
    async with run_app() as pilot:
        shown = problems_shown(pilot)
        path = str(config_file)
        expected = [
            (3, "'keys.history.opne' is not a binding id (did you mean 'history.open'?"),
            (4, "'keys.new_chat' claims ctrl+t, which 'toggle_trace' already has on the chat screen; not applied"),
            (5, "'keys.stop' claims ctrl+k, which 'Delete to line end' of the prompt already has"),
            (6, "'keys.copy_answer' claims 'c', which would be typed into the prompt on the chat screen"),
            (7, "'keys.pick_model' names a key Textual does not know: 'ctrl+shft+m'"),
            (8, "'keys.history' has an empty key in 'ctrl+y,'"),
            (9, "'keys.retry' claims ctrl+e, which 'Cursor line end' of the prompt already has"),
        ]
        assert len(shown) == len(expected), shown
        for line, text in expected:
            assert any(s.startswith(f"{path}, line {line}: {text}") for s in shown), (line, text, shown)
        # The one good entry applied; the refused ones left their actions on their default keys.
        screen: ChatScreen = pilot.app.screen
        assert pilot.app._keymap == {"edit_last": "f11"}
        conversation = screen.session.conversation
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: screen.session.conversation is not conversation, "a new conversation")


def test_clashes_are_found_on_every_screen_not_only_the_chat():
    good, [problem] = check_keymap({"model_picker.pull": "ctrl+d"}, None)
    assert good == {}
    assert problem == (
        "'keys.model_picker.pull' claims ctrl+d, which 'model_picker.delete' already has on the model picker; not applied"
    )
    good, problems = check_keymap({"history.open": "ctrl+o", "model_picker.info": "f11"}, None)
    assert (good, problems) == ({"history.open": "ctrl+o", "model_picker.info": "f11"}, [])


def test_every_binding_has_an_id_that_can_be_remapped():
    ids = all_binding_ids()
    for binding_id in ("send", "newline", "stop", "toggle_trace", "new_chat", "pick_model", "history", "settings",
                       "quit", "help", "settings.save", "settings.cancel", "history.open", "model_picker.pull"):
        assert binding_id in ids


@pytest.mark.parametrize(
    "key", ["ctrl+k", "f6", "alt+up", "escape", "ctrl+comma", "shift+tab", "x", "question_mark", "ctrl+shift+left"]
)
def test_known_keys(key):
    assert known_key(key)


@pytest.mark.parametrize("key", ["ctrl+shft+k", "contrl+k", "f99", "", "ctrl+", "hyperspace"])
def test_unknown_keys(key):
    assert not known_key(key)


# --- alt keys ----------------------------------------------------------------------------------
# A terminal sends alt+t as ESC t; Textual reads it as the key "alt+t" with the character "t", and
# a text field would type the t. Pilot's press() gives no character, so the keys are posted as the
# terminal's driver posts them.


async def press_like_a_terminal(pilot, key: str) -> None:
    pilot.app.post_message(events.Key(key, key.removeprefix("alt+")))
    await pilot.pause()


async def test_a_trace_key_remapped_to_alt_works_over_the_prompt_and_types_nothing(run_app, keys):
    assert keys('toggle_trace = "alt+t"\n') == []
    async with run_app() as pilot:
        assert problems_shown(pilot) == []
        screen: ChatScreen = pilot.app.screen
        screen.prompt.load_text("What is 17 * 23?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not screen.session.streaming and screen.query(Trace), "the answer")
        trace = screen.query_one(Trace)
        await wait_until(pilot, lambda: trace.collapsed, "the trace to fold")
        assert screen.prompt.has_focus
        await press_like_a_terminal(pilot, "alt+t")
        await wait_until(pilot, lambda: not trace.collapsed, "alt+t to unfold the trace")
        assert screen.prompt.text == ""
        await press_like_a_terminal(pilot, "alt+t")
        await wait_until(pilot, lambda: trace.collapsed, "alt+t to fold it again")
        # An alt key bound to nothing types as it always did: nothing typed is lost.
        await press_like_a_terminal(pilot, "alt+x")
        assert screen.prompt.text == "x"


def test_an_alt_key_over_a_text_field_other_than_the_prompt_is_refused_clearly():
    good, [problem] = check_keymap({"history.open": "alt+o"}, None)
    assert good == {}
    assert problem == "'keys.history.open' claims 'alt+o', which would be typed into a text field on the history screen; " \
                      "not applied"
    good, problems = check_keymap({"history.open": "alt+enter", "toggle_trace": "alt+t", "new_chat": "alt+shift+n"}, None)
    assert (good, problems) == ({"history.open": "alt+enter", "toggle_trace": "alt+t", "new_chat": "alt+shift+n"}, [])
