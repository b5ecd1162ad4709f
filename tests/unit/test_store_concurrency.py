"""Two r1chat processes streaming answers into one database at once lose nothing and never lock."""

import json
import subprocess
import sys
import time

import pytest

from r1chat.conversation import MessageStatus, Role
from r1chat.store import Store

SECONDS = 3.0

# Streams answers the way a turn does: a prompt, a streaming answer saved over and over as its
# trace grows, then the answer finished. Reports every conversation it wrote as JSON in a file
# (not on stdout: a full pipe nobody reads while the test polls would stall it).
_WRITER = """
import json, sys, time
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.store import Store

path, name, start_at, seconds, report = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
while time.time() < start_at:
    time.sleep(0.001)
store = Store(path)  # both open (and create, and migrate) the file at the same moment
written, n = [], 0
while time.time() < start_at + seconds:
    conversation = Conversation(title=f"{name} conversation {n}")
    prompt = Message(Role.USER, f"{name} asks question {n}")
    store.add_message(conversation, prompt)
    answer = Message(Role.ASSISTANT, status=MessageStatus.STREAMING, model=name)
    store.add_message(conversation, answer)
    for step in range(40):
        answer.reasoning += f"{name}trace{n} step {step} " + "thinking " * 25
        store.save_message(answer)
    answer.content, answer.status = f"{name} answers {n}", MessageStatus.DONE
    store.save_message(answer)
    written.append({"id": conversation.id, "title": conversation.title, "prompt": prompt.content,
                    "reasoning": answer.reasoning, "content": answer.content})
    n += 1
store.close()
with open(report, "w") as file:
    json.dump(written, file)
"""


@pytest.mark.process
def test_two_processes_streaming_into_one_database_lose_nothing(tmp_path):
    path = tmp_path / "r1chat.db"
    start_at = time.time() + 1.0
    writers = {
        name: subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name, str(start_at), str(SECONDS), str(tmp_path / name)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("left", "right")
    }
    # Meanwhile a third connection reads, as the history screen does.
    while time.time() < start_at:
        time.sleep(0.01)
    reads = 0
    reader = None
    while any(w.poll() is None for w in writers.values()):
        if reader is None and path.exists():
            reader = Store(path)
        if reader is not None:
            reader.list_conversations()
            reader.search("thinking")
            reads += 1
        time.sleep(0.02)

    written = {}
    for name, writer in writers.items():
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        assert "locked" not in err
        written[name] = json.loads((tmp_path / name).read_text())
        assert len(written[name]) >= 2, f"{name} wrote too little to test anything"

    store = reader or Store(path)
    # Only that the reader really ran alongside the writers: how many reads fit in the writers'
    # three seconds depends on the machine's load (8 on a busy 2-core CI worker, 60 when idle).
    assert reads >= 3
    summaries = {s.id: s for s in store.list_conversations(limit=10_000)}
    assert len(summaries) == sum(len(w) for w in written.values())
    for name, conversations in written.items():
        for expected in conversations:
            loaded = store.load_conversation(expected["id"])
            assert loaded.title == expected["title"]
            prompt, answer = loaded.messages
            assert (prompt.role, prompt.content) == (Role.USER, expected["prompt"])
            assert (answer.reasoning, answer.content) == (expected["reasoning"], expected["content"])
            assert answer.status is MessageStatus.DONE and answer.model == name
        last = conversations[-1]
        [hit] = store.search(f"{name}trace{len(conversations) - 1}")
        assert (hit.conversation_id, hit.where) == (last["id"], "trace")
    store.close()


_OPENER = """
import sys, time
from r1chat.store import Store

start_at = float(sys.argv[2])
while time.time() < start_at:
    pass  # no sleep: all start within a few microseconds
store = Store(sys.argv[1])
store.list_conversations()
store.close()
"""


@pytest.mark.process
def test_windows_opening_a_new_database_at_the_same_moment_all_open_it(tmp_path):
    # Switching a new file to write-ahead logging needs it alone for a moment; SQLite said
    # "locked" at once to whoever came second (about one opener in ten, before the retry).
    for round_ in range(8):
        path = tmp_path / f"round{round_}.db"
        start_at = time.time() + 0.5
        openers = [
            subprocess.Popen([sys.executable, "-c", _OPENER, str(path), str(start_at)], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        for opener in openers:
            _, err = opener.communicate(timeout=60)
            assert opener.returncode == 0, err
