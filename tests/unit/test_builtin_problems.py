"""Every answer of the built-in problem set, computed here from the problem itself."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import permutations, product

import pytest

from r1chat.evals import builtin_problems
from r1chat.grade import same


def primes_below(n: int) -> list[int]:
    return [k for k in range(2, n) if all(k % d for d in range(2, math.isqrt(k) + 1))]


def is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


def roots(a: int, b: int, c: int) -> list[Fraction]:
    """The rational roots of ax^2 + bx + c (the problems are built with whole roots)."""
    found = [Fraction(x) for x in range(-100, 101) if a * x * x + b * x + c == 0]
    assert len(found) == 2
    return found


def polynomial_text(coefficients: list[int]) -> str:
    """[1, -1, -6] -> 'x^2 - x - 6'."""
    degree = len(coefficients) - 1
    terms = []
    for power, c in zip(range(degree, -1, -1), coefficients, strict=True):
        if c == 0:
            continue
        size = abs(c)
        body = ("" if size == 1 and power else str(size)) + ("x" if power else "") + (f"^{power}" if power > 1 else "")
        terms.append(("-" if c < 0 else "+", body))
    text = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    return text + "".join(f" {sign} {body}" for sign, body in terms[1:])


def multiply(p: list[int], q: list[int]) -> list[int]:
    out = [0] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def choice_of(options: dict[str, object], right: object) -> str:
    [letter] = [k for k, v in options.items() if v == right]
    return letter


DIE = range(1, 7)


def bloops_must() -> str:
    """Check each statement in every world of four things that are or are not bloops, razzies,
    lazzies, with every bloop a razzie and every razzie a lazzie (B must hold; the others need not)."""
    worlds = []
    for kinds in product([(b, r, z) for b in (0, 1) for r in (0, 1) for z in (0, 1)], repeat=3):
        if all((not b or r) and (not r or z) for b, r, z in kinds):
            worlds.append(kinds)
    statements = {
        "A": lambda w: all(b for b, r, z in w if z),
        "B": lambda w: all(z for b, r, z in w if b),
        "C": lambda w: not any(b and z for b, r, z in w),
        "D": lambda w: any(r and not b for b, r, z in w),
    }
    [letter] = [k for k, holds in statements.items() if all(holds(w) for w in worlds)]
    return letter


COMPUTED = {
    "arith-01": lambda: 17 * 23,
    "arith-02": lambda: 1234 + 5678 - 999,
    "arith-03": lambda: 2**10 - 10**2,
    "arith-04": lambda: Fraction(3, 4) + Fraction(5, 6),
    "arith-05": lambda: Fraction(15, 100) * 240,
    "arith-06": lambda: math.factorial(7) // (math.factorial(4) * math.factorial(3)),
    "arith-07": lambda: sum(range(1, 101)),
    "arith-08": lambda: Fraction("0.125"),
    "alg-01": lambda: Fraction(22 - 7, 3),
    "alg-02": lambda: next(x for x in range(-100, 101) if 2 * (x - 3) == x + 4),
    "alg-03": lambda: sum(r * r for r in roots(1, -5, 6)),
    "alg-04": lambda: 2 * 4**2 - 3 * 4 + 1,
    "alg-05": lambda: sum(roots(1, -9, 14)),
    "alg-06": lambda: Fraction(11 - 2, 4 - 1),
    "alg-07": lambda: next(x * y for x in range(-20, 21) for y in range(-20, 21) if x + y == 10 and x - y == 4),
    "alg-08": lambda: 3 + (20 - 1) * 4,
    "alg-09": lambda: sum(Fraction(1, 2**k) for k in range(200)).limit_denominator(1000),
    "alg-10": lambda: polynomial_text(multiply([1, 2], [1, -3])),
    "alg-11": lambda: max(roots(1, -2, -15)),
    "nt-01": lambda: math.gcd(84, 126),
    "nt-02": lambda: math.lcm(12, 18, 30),
    "nt-03": lambda: pow(2, 100, 7),
    "nt-04": lambda: sum(1 for d in range(1, 361) if 360 % d == 0),
    "nt-05": lambda: sum(primes_below(30)),
    "nt-06": lambda: pow(7, 2023, 10),
    "nt-07": lambda: sum(1 for n in range(1, 1001) if n % 3 == 0 or n % 5 == 0),
    "nt-08": lambda: next(n for n in range(101, 200) if is_prime(n)),
    "nt-09": lambda: sum(int(d) for d in str(2**15)),
    "prob-01": lambda: Fraction(sum(1 for a, b in product(DIE, DIE) if a + b == 7), 36),
    "prob-02": lambda: Fraction(sum(1 for flips in product("HT", repeat=4) if flips.count("H") == 2), 16),
    "prob-03": lambda: Fraction(
        sum(1 for a, b in permutations("RRRBBBBB", 2) if a == b == "R"), len(list(permutations("RRRBBBBB", 2)))
    ),
    "prob-04": lambda: len(list(permutations(range(5)))),
    "prob-05": lambda: math.comb(10, 3),
    "prob-06": lambda: Fraction(sum(DIE), 6),
    "prob-07": lambda: Fraction(sum(1 for a, b in product(DIE, DIE) if 6 in (a, b)), 36),
    "logic-01": lambda: choice_of({k: is_prime(v) for k, v in {"A": 21, "B": 27, "C": 29, "D": 33}.items()}, True),
    "logic-02": bloops_must,
    "logic-03": lambda: choice_of({"A": 40, "B": 42, "C": 44, "D": 36}, 6 * 7),  # n(n+1): 1·2, 2·3, ... 5·6, 6·7
    "logic-04": lambda: 10 + 3 + 3,
    "logic-05": lambda: 17 - (17 - 9),
    "logic-06": lambda: "yes" if 1001 % 7 == 0 else "no",
    "geo-01": lambda: math.isqrt(6**2 + 8**2),
    "geo-02": lambda: f"{3**2}\\pi",
}


def test_the_set_has_about_forty_problems_each_with_a_computed_answer():
    problems = builtin_problems()
    assert 38 <= len(problems) <= 45
    assert {p.id for p in problems} == set(COMPUTED)
    assert len({p.id for p in problems}) == len(problems)


@pytest.mark.parametrize("problem", builtin_problems(), ids=lambda p: p.id)
def test_each_answer_is_the_computed_one(problem):
    computed = COMPUTED[problem.id]()
    text = str(computed)
    assert same(text, problem.answer, problem.kind), (problem.prompt, text, problem.answer)
    # And the grader would take it in the forms a model writes it.
    assert same(f"\\boxed{{{text}}}", problem.answer, problem.kind)


def test_the_sequence_rule_behind_logic_03_holds():
    assert [n * (n + 1) for n in range(1, 6)] == [2, 6, 12, 20, 30]
