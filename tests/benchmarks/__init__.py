"""Speed and memory of r1chat against the targets of issues 8 and 24, run by ``python -m tests.benchmarks``.

Everything runs for real: the fake servers over HTTP on 127.0.0.1, the app in a pseudo-terminal,
a fresh venv for the installed size. Each module measures a few figures; ``__main__`` prints them
as a table. ``test_benchmarks.py`` runs the short mode in the test suite and checks only that every
figure was measured, never a timing. The sizes users reach over time (a year's database, a session
of 300 turns, a 100,000-token trace) run in full mode only; the short mode builds a small database.
"""
