"""``[tools]`` and ``[mcp.servers.NAME]`` in config.toml: read, checked, one line per problem."""

from __future__ import annotations

from r1chat.config import load_settings


def test_servers_and_limits_are_read(config_file):
    config_file.write_text(
        '[tools]\nstep_limit = 3\ncall_timeout = 20\n\n'
        '[mcp.servers.git]\ncommand = "uvx"\nargs = ["mcp-server-git"]\nenv = { TOKEN = "t0ken-value" }\n'
        'trust = "always"\ndeny = ["git_push"]\n\n'
        '[mcp.servers.remote]\nurl = "https://example.invalid/mcp"\nheaders = { Authorization = "Bearer b" }\nenabled = false\n'
    )
    config_file.chmod(0o600)
    settings = load_settings(path=config_file)
    assert settings.problems == []
    assert (settings.tools.step_limit, settings.tools.call_timeout, settings.tools.result_limit) == (3, 20.0, 16_000)
    git, remote = settings.mcp_servers["git"], settings.mcp_servers["remote"]
    assert (git.command, git.args, git.trust, git.offers("git_push"), git.offers("git_log")) == (
        "uvx", ["mcp-server-git"], "always", False, True)
    assert remote.url == "https://example.invalid/mcp" and not remote.enabled
    assert "t0ken-value" not in repr(git) and "Bearer" not in repr(remote)


def test_bad_values_are_one_line_each_and_the_rest_applies(config_file):
    config_file.write_text(
        '[tools]\nstep_limit = 0\ncall_timeout = "soon"\n\n'
        '[mcp.servers.a]\ncommand = "x"\ntrust = "sometimes"\ncolour = "red"\n\n'
        '[mcp.servers.b]\nargs = ["no command"]\n\n'
        '[mcp.servers.c]\ncommand = "y"\nenv = { TOKEN = 5 }\n'
    )
    settings = load_settings(path=config_file)
    problems = "\n".join(settings.problems)
    assert "'tools.step_limit' should be from 1 to 100, not 0; using 8" in problems
    assert "'tools.call_timeout' should be a whole number or a number, not a string" in problems
    assert "'mcp.servers.a.trust' should be one of ask, always, not 'sometimes'; using ask" in problems
    assert "'mcp.servers.a.colour' is not a known setting" in problems
    assert "'mcp.servers.b.command' a server needs either command (stdio) or url" in problems
    assert "'mcp.servers.c.env' should be a table of strings" in problems
    assert len(settings.problems) == 6
    assert list(settings.mcp_servers) == ["a"] and settings.mcp_servers["a"].trust == "ask"
    assert settings.tools.step_limit == 8


def test_a_file_with_server_secrets_readable_by_others_is_named(config_file):
    config_file.write_text('[mcp.servers.git]\ncommand = "uvx"\nenv = { TOKEN = "secret-token" }\n')
    config_file.chmod(0o644)
    problems = load_settings(path=config_file).problems
    assert len(problems) == 1 and "holds MCP server secrets (git)" in problems[0] and "secret-token" not in problems[0]
