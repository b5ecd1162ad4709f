"""What a terminal can do to r1chat: send bytes that are not UTF-8, close mid-answer, start tiny;
and what a crash leaves behind in it."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from r1chat.conversation import MessageStatus
from r1chat.store import Store, default_path
from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

LONG_TRACE = " ".join(f"thought{n}" for n in range(400))


@pytest.fixture
def terms():
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def start(ollama, terms: list[Terminal], size: tuple[int, int] = (80, 24), wait: str | None = "connected") -> Terminal:
    term = Terminal([sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b"], terminal_env({}), size)
    terms.append(term)
    if wait:
        term.wait_for(wait, timeout=20)
    return term


def app_pid(term: Terminal) -> int:
    """The r1chat process: the one child of the pane's shell."""
    shell = term._tmux("display-message", "-p", "-t", term.name, "#{pane_pid}").strip()
    children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children
    command = Path(f"/proc/{children[0]}/cmdline").read_bytes().split(b"\0")
    assert b"r1chat" in command, f"r1chat is not running: {command}"  # not the shell's `sleep`
    return int(children[0])


def running(pid: int) -> bool:
    """Still running: a process that exited but whose parent has not reaped it yet is not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def send_bytes(term: Terminal, data: bytes) -> None:
    """Bytes exactly as a terminal would deliver them, whatever they are."""
    term._tmux("send-keys", "-t", term.name, "-H", *(f"{b:02x}" for b in data))


def latest_messages():
    store = Store(default_path())
    try:
        return store.load_conversation(store.latest_conversation_id()).messages
    finally:
        store.close()


# --- 8: bytes that are not UTF-8 ---------------------------------------------------------------


@pytest.mark.hostile(8, "tui")
def test_a_latin1_byte_typed_or_pasted_becomes_a_replacement_character(ollama, terms):
    term = start(ollama, terms)
    term.type("caf")
    send_bytes(term, b"\xe9")  # é in Latin-1: never valid UTF-8 on its own
    term.type(" typed,")
    term.wait_for("caf\N{REPLACEMENT CHARACTER} typed,")
    send_bytes(term, b"\x1b[200~na\xefve paste\x1b[201~")  # a bracketed paste with one bad byte
    term.wait_for("na\N{REPLACEMENT CHARACTER}ve paste")
    term.keys("Enter")
    term.wait_for("✓ ", timeout=20)  # the app lived through it and answered
    prompt = latest_messages()[0]
    assert prompt.content == "caf\N{REPLACEMENT CHARACTER} typed,na\N{REPLACEMENT CHARACTER}ve paste"


# --- 10: the terminal closes mid-answer --------------------------------------------------------


@pytest.mark.hostile(10, "tui")
@pytest.mark.parametrize("attempt", range(3))
def test_closing_the_terminal_mid_answer_ends_r1chat_and_keeps_the_turn(ollama, terms, attempt):
    ollama.delay = 0.05
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    term = start(ollama, terms)
    term.type("Think about this for a long time")
    term.keys("Enter")
    term.wait_for("thought20 ", timeout=20)
    pid = app_pid(term)
    closed = time.monotonic()
    term.close()  # tmux goes away with its pty: the app gets SIGHUP and a dead terminal
    while running(pid) and time.monotonic() - closed < 10:
        time.sleep(0.02)
    took = time.monotonic() - closed
    assert not running(pid), "r1chat outlived its terminal by 10 s"
    print(f"r1chat ended {took:.2f} s after its terminal closed")
    assert ollama.wait_for_disconnect(5)
    answer = latest_messages()[-1]
    assert answer.status is MessageStatus.INTERRUPTED
    assert answer.reasoning.startswith("thought0 thought1 ") and "thought20" in answer.reasoning
    assert LONG_TRACE.startswith(answer.reasoning)


# --- 11: tiny terminals ------------------------------------------------------------------------


@pytest.mark.hostile(11, "tui")
def test_r1chat_starts_in_an_8_by_2_terminal_and_grows_with_it(ollama, terms):
    term = start(ollama, terms, size=(8, 2), wait=None)
    time.sleep(3)  # long enough to start, lay out and crash if it were going to
    pid = app_pid(term)
    assert running(pid), term.screen()
    term._tmux("resize-window", "-t", term.name, "-x", "80", "-y", "24")
    term.wait_for("connected", timeout=20)
    term.type("hello")
    term.keys("Enter")
    term.wait_for("✓ ", timeout=20)
    assert running(pid)


# --- 12: a crash -------------------------------------------------------------------------------

# r1chat run as `r1chat` is, with one action that fails: F1 raises, as a bug in a handler would.
CRASHING = """\
import sys
from r1chat.cli import main
from r1chat.ui.app import R1ChatApp

def action_help(self):
    raise RuntimeError("a bug in a key handler")

R1ChatApp.action_help = action_help
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.hostile(12, "tui")
def test_a_crash_exits_nonzero_names_its_log_and_leaves_the_terminal_usable(ollama, terms, isolated_dirs):
    program = [sys.executable, "-c", CRASHING, "--host", ollama.url, "-m", "deepseek-r1:8b"]
    # After r1chat, the shell reports its status and reads a line, echoing it: a terminal left in
    # raw mode would neither show what is typed nor end the line on Enter.
    script = f'{shlex.join(program)}; echo "status=$?"; read -r line; echo "read:$line"'
    term = Terminal(["sh", "-c", script], terminal_env({}), size=(100, 30))
    terms.append(term)
    term.wait_for("connected", timeout=20)
    term.keys("F1")
    term.wait_for("status=", timeout=20)
    screen = term._tmux("capture-pane", "-p", "-J", "-t", term.name)  # wrapped lines joined
    assert "status=1" in screen
    [line] = [line for line in screen.splitlines() if "crashed" in line]
    assert "RuntimeError: a bug in a key handler" in line
    log = Path(line.split("The details are in ")[1].strip())
    assert log.is_relative_to(isolated_dirs) and log.parent.name == "log"
    details = log.read_text()
    assert "Traceback" in details and "a bug in a key handler" in details and "action_help" in details
    assert "Traceback" not in screen, "the traceback goes to the log, the terminal gets one line"

    modes = term._tmux(
        "display-message", "-p", "-t", term.name,
        "#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{wrap_flag}",
    ).split()
    assert modes == ["0", "1", "0", "1"], "alternate screen off, cursor shown, mouse off, lines wrap"
    term.type("still works")
    term.wait_for("still works")  # echoed as typed
    term.keys("Enter")
    term.wait_for("read:still works")


@pytest.mark.hostile(12, "tui")
def test_a_crash_with_no_room_for_its_log_still_exits_nonzero_and_says_why(ollama, terms, isolated_dirs):
    isolated_dirs.mkdir(parents=True, exist_ok=True)
    (isolated_dirs / "state").write_text("a file where the folder for logs should be")
    program = [sys.executable, "-c", CRASHING, "--host", ollama.url, "-m", "deepseek-r1:8b"]
    term = Terminal(["sh", "-c", f'{shlex.join(program)}; echo "status=$?"'], terminal_env({}), size=(100, 30))
    terms.append(term)
    term.wait_for("connected", timeout=20)
    term.keys("F1")
    screen = term.wait_for("status=", timeout=20)
    assert "status=1" in screen
    assert "The log could not be written" in screen and "a bug in a key handler" in screen


@pytest.mark.hostile(12, "tui")
def test_a_crash_mid_answer_keeps_what_arrived(ollama, terms):
    ollama.delay = 0.05
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    program = [sys.executable, "-c", CRASHING, "--host", ollama.url, "-m", "deepseek-r1:8b"]
    term = Terminal(["sh", "-c", f'{shlex.join(program)}; echo "status=$?"'], terminal_env({}), size=(100, 30))
    terms.append(term)
    term.wait_for("connected", timeout=20)
    term.type("Think about this for a long time")
    term.keys("Enter")
    term.wait_for("thought20 ", timeout=20)
    term.keys("F1")
    assert "status=1" in term.wait_for("status=", timeout=20)
    answer = latest_messages()[-1]
    assert answer.status is MessageStatus.INTERRUPTED
    assert "thought20" in answer.reasoning and LONG_TRACE.startswith(answer.reasoning)
