"""Speed and memory of r1chat against the targets of issue 8, run by ``python -m tests.benchmarks``.

Everything runs for real: the fake servers over HTTP on 127.0.0.1, the app in a pseudo-terminal,
a fresh venv for the installed size. Each module measures a few figures; ``__main__`` prints them
as a table. ``test_benchmarks.py`` runs the short mode in the test suite and checks only that every
figure was measured, never a timing.
"""
