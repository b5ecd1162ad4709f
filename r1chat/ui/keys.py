"""The ``[keys]`` table checked against r1chat's bindings, before Textual applies it.

Textual applies a keymap quietly: a misspelt binding id, a key name it does not know, or two
actions on one key just make a key do nothing (or the other thing). Here each of those becomes
one line naming the file, the line and the binding id, and only the good entries are applied.

A key is "claimed twice" when, after remapping, two bindings that are active together answer to
it: the app's, the screen's, and those of the widget that has focus (the prompt's TextArea keys
come first while it has focus). Clashes among r1chat's own defaults are by design (one Escape
that stops a pull, or closes its screen) and not reported; only those a remapping makes are.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.keys import Keys, _character_to_key, key_to_character
from textual.widgets import Input, TextArea

from r1chat.config import describe_setting

MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
_NAMED_KEYS = {key.value.split("+")[-1] for key in Keys if not key.value.startswith("<")} | {
    _character_to_key(chr(code)) for code in range(33, 127)
}


def known_key(key: str) -> bool:
    *modifiers, base = key.split("+") if key not in ("+",) else ("+",)
    if any(modifier not in MODIFIERS for modifier in modifiers) or not base:
        return False
    return len(base) == 1 or base in _NAMED_KEYS or key_to_character(base) is not None


def _normal(key: str) -> str:
    key = key.strip()
    return _character_to_key(key) if len(key) == 1 else key


@dataclass(frozen=True, slots=True)
class Scope:
    """Bindings active together: ``always`` (app, screen), plus one of ``focus`` at a time."""

    name: str
    always: tuple[type[DOMNode], ...]
    focus: tuple[tuple[type[DOMNode], str], ...]  # (widget class, what to call it in a message)


def scopes() -> list[Scope]:
    from textual.widgets import Button, Checkbox, OptionList, Select

    from r1chat.ui.app import R1ChatApp
    from r1chat.ui.file_picker import AttachQuestion, FilePicker
    from r1chat.ui.screens.approval import ApprovalScreen
    from r1chat.ui.screens.compare_picker import ComparePicker
    from r1chat.ui.screens.connect import ConnectScreen
    from r1chat.ui.screens.conversation_settings import ConversationSettingsScreen
    from r1chat.ui.screens.help import HelpScreen
    from r1chat.ui.screens.history import ConfirmDeleteConversation, ExportScreen, HistoryScreen, RenameScreen
    from r1chat.ui.screens.links import LinkPicker
    from r1chat.ui.screens.model_picker import ConfirmDelete, ModelInfoScreen, ModelPicker
    from r1chat.ui.screens.pull import PullScreen
    from r1chat.ui.screens.settings import ConfirmReplace, SettingsScreen
    from r1chat.ui.screens.tools import ToolsScreen
    from r1chat.ui.widgets.conversation import HiddenMessages
    from r1chat.ui.widgets.prompt import Prompt
    from r1chat.ui.widgets.tool_call import ToolCallTitle
    from r1chat.ui.widgets.trace import TraceTitle
    from r1chat.ui.window_offer import WindowOffer

    field = ((Input, "a text field"),)
    ChatScreen = R1ChatApp.chat_screen_class()
    return [
        Scope("the chat screen", (R1ChatApp, ChatScreen),
              ((Prompt, "the prompt"), (TraceTitle, "a trace's title"), (ToolCallTitle, "a tool call's line"),
               (HiddenMessages, "the hidden-messages line"))),
        Scope("the model picker", (R1ChatApp, ModelPicker), (*field, (OptionList, "the list"))),
        Scope("the compare picker", (R1ChatApp, ComparePicker), (*field, (OptionList, "the list"))),
        Scope("the history screen", (R1ChatApp, HistoryScreen), (*field, (OptionList, "the list"))),
        Scope("the pull screen", (R1ChatApp, PullScreen), (*field, (OptionList, "the list"), (Button, "a button"))),
        Scope("the settings screen", (R1ChatApp, SettingsScreen),
              (*field, (TextArea, "the system prompt"), (Select, "a choice"), (Button, "a button"))),
        Scope("the conversation settings", (R1ChatApp, ConversationSettingsScreen), (*field, (TextArea, "the system prompt"))),
        Scope("the help screen", (R1ChatApp, HelpScreen), ()),
        Scope("the tools screen", (R1ChatApp, ToolsScreen), ((Checkbox, "a tool's switch"),)),
        Scope("the tool call question", (R1ChatApp, ApprovalScreen), ((Button, "a button"),)),
        *(Scope(name, (R1ChatApp, screen), (*field, (OptionList, "the list"), (Button, "a button")))
          for name, screen in (("the connect dialog", ConnectScreen), ("the rename dialog", RenameScreen),
                               ("the export dialog", ExportScreen), ("the link picker", LinkPicker),
                               ("the delete question", ConfirmDelete), ("the delete question", ConfirmDeleteConversation),
                               ("the model info", ModelInfoScreen), ("the replace question", ConfirmReplace),
                               ("the context window question", WindowOffer), ("the file picker", FilePicker),
                               ("the attach question", AttachQuestion))),
    ]


def _bindings(cls: type[DOMNode]) -> dict[str, list[Binding]]:
    """Key -> bindings of ``cls`` with its bases', merged as Textual merges them."""
    keys: dict[str, list[Binding]] = {}
    for base in reversed(cls.__mro__):
        if issubclass(base, DOMNode):
            if not getattr(base, "_inherit_bindings", True):
                keys.clear()
            keys.update(BindingsMap(base.__dict__.get("BINDINGS", [])).key_to_bindings)
    return keys


def bindings_of(cls: type[DOMNode]) -> dict[str, list[Binding]]:
    """Key -> bindings of ``cls`` as Textual merges them with its bases' (the help screen lists them)."""
    return _bindings(cls)


@dataclass(frozen=True, slots=True)
class _Claim:
    binding: Binding
    owner: str
    remapped: bool

    def says(self) -> str:
        what = self.binding.id or self.binding.description or self.binding.action
        return f"'{what}'" + (f" of {self.owner}" if self.owner else "")


def _claims(cls: type[DOMNode], keymap: dict[str, str], owner: str) -> dict[str, list[_Claim]]:
    claims: dict[str, list[_Claim]] = {}
    seen: set[int] = set()
    for key, bindings in _bindings(cls).items():
        for binding in bindings:
            if binding.id in keymap:
                if id(binding) in seen:
                    continue
                seen.add(id(binding))
                for new in keymap[binding.id].split(","):
                    claims.setdefault(_normal(new), []).append(_Claim(binding, owner, True))
            else:
                claims.setdefault(_normal(key), []).append(_Claim(binding, owner, False))
    return claims


def all_binding_ids() -> dict[str, str]:
    """Every remappable binding id, with what it does."""
    ids: dict[str, str] = {}
    for scope in scopes():
        for cls in (*scope.always, *(widget for widget, _ in scope.focus)):
            if cls.__module__.startswith("r1chat."):
                for bindings in _bindings(cls).values():
                    for binding in bindings:
                        if binding.id:
                            ids.setdefault(binding.id, binding.description or binding.action)
    return ids


def check_keymap(keymap: dict[str, str], path: Path | None) -> tuple[dict[str, str], list[str]]:
    """The entries of ``keymap`` that can be applied, and one line per problem with the rest."""
    ids = all_binding_ids()
    problems: list[str] = []
    good: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        listed = [key.strip() for key in keys.split(",")]
        if binding_id not in ids:
            close = difflib.get_close_matches(binding_id, ids, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(describe_setting(
                path, "keys", binding_id, f"is not a binding id ({hint}the README lists them all); ignored"
            ))
        elif not all(listed):
            problems.append(describe_setting(path, "keys", binding_id, f"has an empty key in '{keys}'; ignored"))
        elif unknown := [key for key in listed if not known_key(key)]:
            problems.append(describe_setting(
                path, "keys", binding_id,
                f"names a key Textual does not know: '{unknown[0]}' (like ctrl+k, f6, alt+up, escape); ignored",
            ))
        else:
            good[binding_id] = ",".join(listed)
    normal = {binding_id: ",".join(_normal(key) for key in keys.split(",")) for binding_id, keys in good.items()}
    bad: dict[str, str] = {}
    for scope in scopes():
        always: dict[str, list[_Claim]] = {}
        for cls in scope.always:
            for key, claims in _claims(cls, normal, "").items():
                always.setdefault(key, []).extend(claims)
        for widget, name in scope.focus:
            together = {key: list(claims) for key, claims in always.items()}
            for key, claims in _claims(widget, normal, name).items():
                together.setdefault(key, []).extend(claims)
            for key, claims in together.items():
                _check_key(key, claims, scope, widget, name, bad)
    for binding_id, problem in bad.items():
        good.pop(binding_id, None)
        problems.append(describe_setting(path, "keys", binding_id, problem))
    return good, problems


def _check_key(key: str, claims: list[_Claim], scope: Scope, widget: type[DOMNode], name: str, bad: dict[str, str]) -> None:
    remapped = [claim for claim in claims if claim.remapped]
    if not remapped:
        return
    binding_id = remapped[0].binding.id  # a remapped binding has an id: the keymap names it so
    if binding_id is None or binding_id in bad:
        return
    others = [claim for claim in claims if claim.binding.id != binding_id]
    if others:
        bad[binding_id] = f"claims {key}, which {others[0].says()} already has on {scope.name}; not applied"
    elif issubclass(widget, (Input, TextArea)) and (character := _typed(key, widget)) and character.isprintable():
        bad[binding_id] = f"claims '{key}', which would be typed into {name} on {scope.name}; not applied"


def _typed(key: str, widget: type[DOMNode]) -> str | None:
    """The character ``key`` types into the text field ``widget``, if any. A terminal sends alt+t
    as ESC t, which a text field types as t; the prompt lets an alt key that is bound through."""
    from r1chat.ui.widgets.prompt import Prompt

    if key.startswith("alt+"):
        if issubclass(widget, Prompt):
            return None
        key = key.removeprefix("alt+").removeprefix("shift+")
    return key_to_character(key)
