"""``r1chat compare`` and ``r1chat eval`` as real subprocesses: the fake Ollama and a fake
OpenAI-compatible server (OpenRouter's style) over real HTTP, answers scripted per model and per
prompt, a real database file, and the requests counted at the servers."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest

from tests.servers import FakeOllama, FakeOpenAI

SMALL, LARGE, REMOTE = "deepseek-r1:1.5b", "deepseek-r1:8b", "deepseek/deepseek-r1"

# The problem file of the eval tests and what each model answers to each problem.
PROBLEMS = [
    {"id": "p1", "prompt": "What is 6 * 7?", "answer": "42"},
    {"id": "p2", "prompt": "Half of one, as a fraction?", "answer": "\\frac{1}{2}", "kind": "number"},
    {"id": "p3", "prompt": "Which is prime? (A) 4 (B) 7", "answer": "B", "kind": "choice"},
    {"id": "p4", "prompt": "Solve 2x = 6.", "answer": "3"},
    {"id": "p5", "prompt": "Capital of France?", "answer": "Paris", "kind": "text"},
]
ANSWERS = {
    # Everything right, each in another written form.
    LARGE: {"p1": "\\boxed{42.0}", "p2": "$\\boxed{0.5}$", "p3": "\\boxed{(B)}", "p4": "x = 3", "p5": "\\boxed{\\text{paris}}"},
    # Two right (p1, p4), three wrong.
    SMALL: {"p1": "\\boxed{42}", "p2": "\\boxed{1/3}", "p3": "\\boxed{A}", "p4": "So x = 3", "p5": "\\boxed{Lyon}"},
    # Four right: p4 wrong.
    REMOTE: {"p1": "The answer is $42$", "p2": "\\boxed{\\dfrac{2}{4}}", "p3": "B", "p4": "\\boxed{4}", "p5": "PARIS"},
}
EXPECTED_PASS = {LARGE: 1.0, SMALL: 0.4, REMOTE: 0.8}


def scripted(model: str):
    """The model's answer to whichever problem the prompt is."""

    def answer(prompt: str) -> str:
        for problem in PROBLEMS:
            if prompt.startswith(problem["prompt"]):
                return ANSWERS[model][problem["id"]]
        return "\\boxed{42}"  # compare's question

    return answer


@pytest.fixture
def servers(config_file):
    with FakeOllama(delay=0.001) as ollama, FakeOpenAI(style="openrouter", delay=0.001) as router:
        for name in (SMALL, LARGE):
            ollama.models[name].answer = scripted(name)
            ollama.models[name].reasoning = "Let me think about {prompt}"
        router.answers[REMOTE] = scripted(REMOTE)
        router.reasoning = "Thinking it over."
        config_file.write_text(
            f'[providers.ollama]\nhost = "{ollama.url}"\nprice_in = 0.5\nprice_out = 1.5\n\n'
            f'[providers.openrouter]\nkind = "openai"\nbase_url = "{router.url}/v1"\n'
        )
        yield ollama, router


def chats(server) -> list:
    return [r for r in server.requests if r.method == "POST" and r.json and r.json.get("messages")]


def problem_file(tmp_path, problems=PROBLEMS):
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in problems))
    return path


# --- compare ---------------------------------------------------------------------------------


def test_compare_prints_a_row_per_model_and_whether_they_agree(run_cli, servers):
    ollama, router = servers
    result = run_cli("-m", SMALL, "compare", "-m", LARGE, "-m", f"{REMOTE}@openrouter", "What is 6 * 7?")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["model", "provider", "first", "token", "thinking", "trace", "tok", "answer", "tok",
                                "tok/s", "cost", "final", "answer"]
    rows = [line.split() for line in lines[1:4]]
    assert [(row[0], row[1]) for row in rows] == [(SMALL, "ollama"), (LARGE, "ollama"), (REMOTE, "openrouter")]
    # The prompt is problem p1's: each model writes 42 its own way.
    assert [row[-1] for row in rows] == ["42", "42.0", "$42$"]
    assert all(row[-2].startswith("$") for row in rows)  # Ollama by configured prices, OpenRouter by its own
    assert lines[4] == "agree: yes"
    assert len(chats(ollama)) == 2 and len(chats(router)) == 1
    assert result.stderr == ""  # no terminal: no progress lines


def test_compare_json_is_one_object_with_every_result(run_cli, servers):
    result = run_cli("compare", "--json", "-m", SMALL, "-m", f"{LARGE}@ollama", "-m", f"{REMOTE}@openrouter",
                     "Which is prime? (A) 4 (B) 7")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["prompt"] == "Which is prime? (A) 4 (B) 7"
    results = data["results"]
    assert [(r["model"], r["provider"], r["status"]) for r in results] == [
        (SMALL, "ollama", "done"), (LARGE, "ollama", "done"), (REMOTE, "openrouter", "done")]
    assert [r["final_answer"] for r in results] == ["A", "(B)", "B"]
    assert data["agree"] is False
    for r in results:
        assert set(r) >= {"model", "provider", "status", "thinking_s", "total_s", "trace_tokens", "answer_tokens",
                          "tokens_per_s", "cost", "final_answer", "answer", "reasoning"}
        assert r["trace_tokens"] > 0 and r["reasoning"] and r["total_s"] > 0
        assert r["cost"] > 0
    assert results[2]["answer"] == "B"


def test_compare_show_prints_each_answer_before_the_table(run_cli, servers):
    result = run_cli("compare", "--show", "-m", SMALL, "-m", f"{REMOTE}@openrouter", "What is 6 * 7?")

    assert result.returncode == 0, result.stderr
    assert f"── {SMALL}@ollama ──\n\\boxed{{42}}\n" in result.stdout
    assert f"── {REMOTE}@openrouter ──\nThe answer is $42$\n" in result.stdout
    assert result.stdout.index("──") < result.stdout.index("model ")


def test_compare_is_stored_as_one_exchange_with_an_answer_per_model(run_cli, servers, data_dir):
    result = run_cli("compare", "-m", SMALL, "-m", f"{REMOTE}@openrouter", "What is 6 * 7?")
    assert result.returncode == 0, result.stderr

    db = sqlite3.connect(data_dir / "r1chat.db")
    rows = db.execute("SELECT role, model, provider, compare_column FROM messages ORDER BY id").fetchall()
    assert rows == [("user", SMALL, "ollama", None), ("assistant", SMALL, "ollama", 0),
                    ("assistant", REMOTE, "openrouter", 1)]


def test_compare_with_a_failing_model_shows_it_and_exits_nonzero(run_cli, servers):
    result = run_cli("compare", "-m", SMALL, "-m", "no-such-model:7b", "What is 6 * 7?")

    assert result.returncode == 1
    assert "agree: unknown (no final answer from no-such-model:7b)" in result.stdout
    assert "Traceback" not in result.stderr
    assert re.search(r"^r1chat: no-such-model:7b@ollama: .*not", result.stderr, re.MULTILINE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", SMALL], "two models or more"),
        (["-m", SMALL, "-m", "x", "--provider", "nowhere"], "Unknown provider 'nowhere'"),
    ],
)
def test_compare_with_bad_models_says_so_in_one_line(run_cli, servers, args, message):
    result = run_cli("compare", *args, "hello")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("r1chat: ") and message in line


# --- eval ------------------------------------------------------------------------------------


def eval_json(result) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr
    return {(d := json.loads(line))["model"]: d for line in result.stdout.splitlines()}


def test_eval_gives_each_model_its_exact_pass_at_1(run_cli, servers, tmp_path):
    ollama, router = servers
    path = problem_file(tmp_path)

    reports = eval_json(run_cli("eval", str(path), "-m", SMALL, "-m", LARGE, "-m", f"{REMOTE}@openrouter", "--json"))

    assert {model: r["pass_at_1"] for model, r in reports.items()} == EXPECTED_PASS
    assert reports[SMALL]["wrong"] == ["p2", "p3", "p5"]
    assert reports[REMOTE]["wrong"] == ["p4"]
    assert reports[LARGE]["wrong"] == []
    assert reports[SMALL]["solved"] == 2 and reports[SMALL]["problems"] == 5 and reports[SMALL]["samples"] == 1
    low, high = reports[SMALL]["ci95"]
    assert low < 0.4 < high and 0.0 < low and high < 1.0
    assert reports[REMOTE]["cost"] > 0 and reports[SMALL]["cost"] > 0
    assert reports[SMALL]["mean_trace_tokens"] > 0 and reports[SMALL]["mean_seconds"] >= 0
    assert [(r["problem"], r["correct"]) for r in reports[SMALL]["results"]] == [
        ("p1", True), ("p2", False), ("p3", False), ("p4", True), ("p5", False)]
    # Each prompt went out alone, with the math directive.
    sent = [r.json["messages"] for r in chats(ollama)]
    assert all(len(m) == 1 and m[0]["content"].endswith("within \\boxed{}.") for m in sent)
    assert len(sent) == 10 and len(chats(router)) == 5


def test_eval_samples_are_averaged_per_problem(run_cli, servers, tmp_path):
    ollama, _ = servers
    reports = eval_json(run_cli("eval", str(problem_file(tmp_path)), "-m", SMALL, "--samples", "3", "--limit", "4",
                                "--json"))

    assert reports[SMALL]["problems"] == 4 and reports[SMALL]["samples"] == 3
    assert reports[SMALL]["pass_at_1"] == 0.5
    assert len(chats(ollama)) == 12
    assert {r.json["options"]["temperature"] for r in chats(ollama)} == {0.6}


def test_eval_runs_are_not_conversations(run_cli, servers, tmp_path, data_dir):
    eval_json(run_cli("eval", str(problem_file(tmp_path)), "-m", SMALL, "--json"))

    db = sqlite3.connect(data_dir / "r1chat.db")
    assert db.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM messages").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM eval_samples").fetchone() == (5,)
    history = run_cli("history", "--json")
    assert json.loads(history.stdout or "[]") == []


def test_a_repeated_run_reports_the_stored_results_without_a_request(run_cli, servers, tmp_path):
    ollama, _ = servers
    path = problem_file(tmp_path)
    first = eval_json(run_cli("eval", str(path), "-m", SMALL, "--json"))
    sent = len(chats(ollama))

    again = run_cli("eval", str(path), "-m", SMALL)

    assert again.returncode == 0, again.stderr
    assert len(chats(ollama)) == sent
    assert "the results stored on" in again.stderr and "--fresh" in again.stderr
    row = again.stdout.splitlines()[1].split()
    assert row[:4] == [SMALL, "ollama", "2/5", "40.0%"]
    assert f"{SMALL}@ollama got wrong: p2, p3, p5" in again.stdout
    fresh = eval_json(run_cli("eval", str(path), "-m", SMALL, "--json", "--fresh"))
    assert len(chats(ollama)) == 2 * sent
    assert fresh[SMALL]["pass_at_1"] == first[SMALL]["pass_at_1"]


def test_a_resumed_run_sends_only_the_samples_not_graded(run_cli, servers, tmp_path):
    ollama, _ = servers
    path = problem_file(tmp_path)
    eval_json(run_cli("eval", str(path), "-m", SMALL, "--limit", "2", "--json"))
    assert len(chats(ollama)) == 2
    # The server fails the next request: that sample is stored as failed, not graded.
    from tests.servers import OllamaFault

    ollama.fault = OllamaFault(status=500, error="boom", times=1)
    partial = eval_json(run_cli("eval", str(path), "-m", SMALL, "--json", "--resume", "--limit", "3"))
    assert partial[SMALL]["failed_samples"] == 1 and len(chats(ollama)) == 3  # p3 asked once, and failed

    done = eval_json(run_cli("eval", str(path), "-m", SMALL, "--json", "--resume"))

    asked = [r.json["messages"][0]["content"] for r in chats(ollama)]
    # p1 and p2 were graded in the first run: never sent again. p3 failed, so it is sent again.
    counts = {p["id"]: sum(a.startswith(p["prompt"]) for a in asked) for p in PROBLEMS}
    assert counts == {"p1": 1, "p2": 1, "p3": 2, "p4": 1, "p5": 1}
    assert done[SMALL]["pass_at_1"] == 0.4 and done[SMALL]["failed_samples"] == 0


def test_an_edited_problem_is_run_again(run_cli, servers, tmp_path):
    ollama, _ = servers
    path = problem_file(tmp_path)
    eval_json(run_cli("eval", str(path), "-m", SMALL, "--json"))
    edited = [dict(p) for p in PROBLEMS]
    edited[0]["answer"] = "43"
    problem_file(tmp_path, edited)

    reports = eval_json(run_cli("eval", str(path), "-m", SMALL, "--json", "--resume"))

    assert len(chats(ollama)) == 6
    assert reports[SMALL]["wrong"] == ["p1", "p2", "p3", "p5"]


def test_eval_csv_and_markdown(run_cli, servers, tmp_path):
    path = problem_file(tmp_path)
    result = run_cli("eval", str(path), "-m", SMALL, "-m", f"{REMOTE}@openrouter", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["model"], r["pass_at_1"], r["solved"], r["wrong"]) for r in rows] == [
        (SMALL, "0.4", "2", "p2 p3 p5"), (REMOTE, "0.8", "4", "p4")]

    result = run_cli("eval", str(path), "-m", SMALL, "-m", f"{REMOTE}@openrouter", "--markdown")
    lines = result.stdout.splitlines()
    assert lines[0] == "| model | provider | solved | pass@1 | 95% CI | trace tok | seconds | cost |"
    assert lines[2].startswith(f"| {SMALL} | ollama | 2/5 | 40.0% | ")
    assert f"- {REMOTE}@openrouter got wrong: p4" in lines


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1, "prompt": "x"}\n', "line 1: has no 'answer'"),
        ('{"id": 1, "prompt": "x", "answer": "1"}\nnot json\n', "line 2: not a JSON object"),
        ('{"id": 1, "prompt": "x", "answer": "1", "kind": "vibes"}\n', "line 1: 'kind' should be one of"),
        ('{"id": "a", "prompt": "x", "answer": "1"}\n{"id": "a", "prompt": "y", "answer": "2"}\n', "used twice"),
        ("\n", "holds no problems"),
    ],
)
def test_a_bad_problem_file_is_one_clear_line(run_cli, servers, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = run_cli("eval", str(path), "-m", SMALL)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"r1chat: {path}") and message in line


def test_eval_builtin_limited_runs_the_first_problems(run_cli, servers):
    ollama, _ = servers
    reports = eval_json(run_cli("eval", "--builtin", "--limit", "3", "-m", SMALL, "--json"))
    assert reports[SMALL]["problems"] == 3
    assert [r["problem"] for r in reports[SMALL]["results"]] == ["arith-01", "arith-02", "arith-03"]
    assert len(chats(ollama)) == 3


def test_ask_with_model_at_provider_goes_to_that_provider(run_cli, servers, data_dir):
    ollama, router = servers
    result = run_cli("ask", "-m", f"{REMOTE}@openrouter", "--provider", "ollama", "What is 6 * 7?")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "The answer is $42$\n"
    assert [r.json["model"] for r in chats(router)] == [REMOTE] and chats(ollama) == []
    db = sqlite3.connect(data_dir / "r1chat.db")
    assert db.execute("SELECT model, provider FROM conversations").fetchall() == [(REMOTE, "openrouter")]


def test_a_model_before_eval_counts_as_the_first(run_cli, servers, tmp_path):
    reports = eval_json(run_cli("-m", LARGE, "eval", str(problem_file(tmp_path)), "-m", SMALL, "--json"))
    assert list(reports) == [LARGE, SMALL]


def test_a_model_that_cannot_be_reached_is_said_once_and_the_others_are_graded(run_cli, servers, tmp_path, config_file):
    config_file.write_text(config_file.read_text() + '\n[providers.down]\nkind = "ollama"\nhost = "http://127.0.0.1:9"\n')
    result = run_cli("eval", str(problem_file(tmp_path)), "-m", SMALL, "-m", "x:1b@down")

    assert result.returncode == 1
    assert f"{SMALL}@ollama got wrong: p2, p3, p5" in result.stdout
    assert "x:1b@down was not run (see the error)" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("r1chat: x:1b@down: Cannot reach http://127.0.0.1:9")
