"""Every test runs with its own config and data directories and no provider variables.

The test tiers are decided here, and only here (see TIERS below and README's "Tests").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ("pytester",)  # tests/unit/test_tiers.py runs the tier rules on tests of its own

# The tiers. A test's tier comes from where it lives or from what it uses, never from a list of names:
#   integration  tests/integration: a real llama.cpp server and model (on when R1CHAT_INTEGRATION=1)
#   terminal     tests/e2e: the real program in a real terminal under tmux
#   benchmark    tests/benchmarks: the benchmarks' short mode
#   process      starts a program: the CLI as a subprocess (the ``run_cli`` fixture or
#                ``@pytest.mark.process``), a signal sent to it, a script standing in for a tool
#   serial       times something (deadlines, signals to a process): runs alone, after the others.
#                integration, terminal and benchmark tests are serial too.
#   slow         starts no process but costs seconds of CPU under Pilot (a sweep through sizes, a
#                long form opened several times): runs with the parallel round, not the fast tier.
# The fast tier is every test with none of these marks: core and UI-under-Pilot tests that start
# no process (`bash tests/run.sh --fast`). A fast-tier test that starts a process fails (see
# _started below), so none can sit there unnoticed.
DIRECTORY_TIERS = {"integration": "integration", "e2e": "terminal", "benchmarks": "benchmark"}
PROCESS_MARKS = ("integration", "terminal", "benchmark", "process", "serial")  # may start a process
SLOW_MARKS = (*PROCESS_MARKS, "slow")
SERIAL_MARKS = ("integration", "terminal", "benchmark", "serial")
PROCESS_FIXTURES = ("run_cli",)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tier",
        choices=("all", "fast", "parallel", "serial"),
        default="all",
        help="run only the fast tier, only the tests that may run in parallel, or only the serial ones",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        try:
            folder = item.path.resolve().relative_to(tests).parts[0]
        except (ValueError, IndexError):
            folder = ""
        if folder in DIRECTORY_TIERS:
            item.add_marker(DIRECTORY_TIERS[folder])
        if any(name in getattr(item, "fixturenames", ()) for name in PROCESS_FIXTURES):
            item.add_marker("process")
    tier = config.getoption("--tier")
    if tier == "all":
        return
    keep = {
        "fast": lambda item: not in_any(item, SLOW_MARKS),
        "parallel": lambda item: not in_any(item, SERIAL_MARKS),
        "serial": lambda item: in_any(item, SERIAL_MARKS),
    }[tier]
    deselected = [item for item in items if not keep(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if keep(item)]


def in_any(item: pytest.Item, marks: tuple[str, ...]) -> bool:
    return any(item.get_closest_marker(mark) is not None for mark in marks)


# Every process this interpreter starts, seen through the audit events Python raises for them
# (subprocess, asyncio's subprocesses, os.fork, os.system, os.exec*, os.posix_spawn).
_SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.exec"})
_started: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event in _SPAWN_EVENTS:
        _started.append(f"{event} {str(args[:2])[:200]}")


sys.addaudithook(_audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    _started.clear()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    result = yield
    if _started and not in_any(item, PROCESS_MARKS):
        started, _started[:] = list(_started), []
        pytest.fail(
            "this test starts a process, so it cannot sit in the fast tier: mark it @pytest.mark.process "
            f"(or @pytest.mark.serial if it times something); it started: {started[0]}",
            pytrace=False,
        )
    return result


# Tests press Ctrl+C (SIGINT) on the processes they start, as a terminal would. A run started in
# the background (`cmd &` in a script) has SIGINT ignored, and every child would inherit that.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _share_the_default_ssl_context() -> None:
    """Every backend opens an httpx client, and each client loads the whole CA bundle into an SSL
    context of its own: about 20 ms of CPU, hundreds of times a run. The tests' servers speak plain
    HTTP (a test that points https:// at one fails its handshake with any context), so the clients
    of one test process share a single default context, as httpx allows; any other ``verify`` or
    ``cert`` still builds its own."""
    from httpx._transports import default

    build = default.create_ssl_context
    shared: list = []

    def create_ssl_context(verify=True, cert=None, trust_env=True):
        if verify is not True or cert is not None or not trust_env:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        if not shared:
            shared.append(build(verify=verify, cert=cert, trust_env=trust_env))
        return shared[0]

    default.create_ssl_context = create_ssl_context


_share_the_default_ssl_context()


def _share_parsed_css() -> None:
    """Each app parses every widget's CSS and the app's own anew: about 30 ms of CPU at each of
    the hundreds of app starts in a run. Textual keeps what it parsed in the stylesheet, for that
    app only; here the apps of one test process share it. The parse of a text depends only on the
    text, where it was read from, its defaults flag, tie-breaker and scope (Textual's own key) and
    on the theme's variables, which are added to the key. The rules are read, never changed, after
    the parse; a text with errors is kept with its errors and fails again as it did."""
    from textual.css.stylesheet import Stylesheet

    parse_rules = Stylesheet._parse_rules
    shared: dict[tuple, list] = {}

    def _parse_rules(self, css, read_from, is_default_rules=False, tie_breaker=0, scope=""):
        key = (css, read_from, is_default_rules, tie_breaker, scope, tuple(sorted(self._variables.items())))
        rules = shared.get(key)
        if rules is None:
            rules = shared[key] = parse_rules(self, css, read_from, is_default_rules, tie_breaker, scope)
        return rules

    Stylesheet._parse_rules = _parse_rules  # type: ignore[method-assign]


_share_parsed_css()

_VARIABLES = (
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "R1CHAT_CONFIG",
    "R1CHAT_PROVIDER",
    "R1CHAT_MODEL",
    "R1CHAT_NUM_CTX",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))  # crash logs, recovery files
    return home


@pytest.fixture
def data_dir(isolated_dirs: Path) -> Path:
    return isolated_dirs / "data" / "r1chat"


@pytest.fixture
def config_file(isolated_dirs: Path) -> Path:
    path = isolated_dirs / "config" / "r1chat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "r1chat", *args]


@pytest.fixture
def run_cli():
    """Run ``r1chat`` as a real subprocess with the test's environment."""

    def run(*args: str, input: str | None = None, timeout: float = 60, env: dict | None = None):
        stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run(
            cli_command(*args),
            **stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )

    return run


# A short, recognisable trace and answer for the fake Ollama's models.
REASONING = "Okay, 17 * 23. 17 * 20 = 340, 17 * 3 = 51, so 391."
ANSWER = "17 * 23 = **391**."


@pytest.fixture
def ollama():
    """The fake Ollama on a free port, every model answering REASONING then ANSWER."""
    from tests.servers import FakeOllama

    with FakeOllama() as server:
        for model in server.models.values():
            model.reasoning, model.answer = REASONING, ANSWER
        yield server


@pytest.fixture
def vision_ollama():
    """The fake Ollama with a vision model (qwen2.5vl:7b) beside the text-only deepseek-r1:8b."""
    from tests.servers import FakeOllama
    from tests.servers.ollama_models import FakeModel

    models = {
        "deepseek-r1:8b": FakeModel("deepseek-r1:8b", reasoning=REASONING, answer=ANSWER),
        "qwen2.5vl:7b": FakeModel("qwen2.5vl:7b", capabilities=["completion", "vision"], style="plain", answer=ANSWER),
    }
    with FakeOllama(models=models) as server:
        yield server


@pytest.fixture
async def ollama_backend(ollama):
    from r1chat.backends.ollama import OllamaBackend

    backend = OllamaBackend(ollama.url)
    yield backend
    await backend.aclose()
