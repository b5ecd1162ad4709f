"""The built-in problem set of ``r1chat eval --builtin``: short problems written for r1chat, each
answer checked by a test that computes it (tests/unit/test_builtin_problems.py).

Small enough to run on a laptop distill in minutes, varied enough to tell a 1.5B from an 8B:
arithmetic, algebra, number theory, counting and probability, logic. Rows: id, prompt, answer, kind.
"""

from __future__ import annotations

PROBLEMS: tuple[tuple[str, str, str, str], ...] = (
    # arithmetic
    ("arith-01", "What is 17 × 23?", "391", "number"),
    ("arith-02", "Compute 1234 + 5678 − 999.", "5913", "number"),
    ("arith-03", "What is 2^10 − 10^2?", "924", "number"),
    ("arith-04", "Compute 3/4 + 5/6. Give the answer as a fraction in lowest terms.", "19/12", "number"),
    ("arith-05", "What is 15% of 240?", "36", "number"),
    ("arith-06", "Compute 7! / (4! · 3!).", "35", "number"),
    ("arith-07", "What is the sum of the whole numbers from 1 to 100?", "5050", "number"),
    ("arith-08", "Write 0.125 as a fraction in lowest terms.", "1/8", "number"),
    # algebra
    ("alg-01", "Solve for x: 3x + 7 = 22.", "5", "number"),
    ("alg-02", "Solve for x: 2(x − 3) = x + 4.", "10", "number"),
    ("alg-03", "The roots of x^2 − 5x + 6 = 0 are a and b. What is a^2 + b^2?", "13", "number"),
    ("alg-04", "If f(x) = 2x^2 − 3x + 1, what is f(4)?", "21", "number"),
    ("alg-05", "What is the sum of the solutions of x^2 − 9x + 14 = 0?", "9", "number"),
    ("alg-06", "A line passes through (1, 2) and (4, 11). What is its slope?", "3", "number"),
    ("alg-07", "If x + y = 10 and x − y = 4, what is x · y?", "21", "number"),
    ("alg-08", "What is the 20th term of the arithmetic sequence 3, 7, 11, 15, …?", "79", "number"),
    ("alg-09", "What is the sum of the infinite geometric series 1 + 1/2 + 1/4 + 1/8 + …?", "2", "number"),
    ("alg-10", "Expand (x + 2)(x − 3) as a polynomial in x, highest power first.", "x^2 - x - 6", "expression"),
    ("alg-11", "What is the positive solution of x^2 = 2x + 15?", "5", "number"),
    # number theory
    ("nt-01", "What is the greatest common divisor of 84 and 126?", "42", "number"),
    ("nt-02", "What is the least common multiple of 12, 18 and 30?", "180", "number"),
    ("nt-03", "What is the remainder when 2^100 is divided by 7?", "2", "number"),
    ("nt-04", "How many positive divisors does 360 have?", "24", "number"),
    ("nt-05", "What is the sum of all prime numbers less than 30?", "129", "number"),
    ("nt-06", "What is the last digit of 7^2023?", "3", "number"),
    ("nt-07", "How many whole numbers from 1 to 1000 are divisible by 3 or by 5?", "467", "number"),
    ("nt-08", "What is the smallest prime number greater than 100?", "101", "number"),
    ("nt-09", "What is the sum of the digits of 2^15?", "26", "number"),
    # counting and probability
    ("prob-01", "Two fair six-sided dice are rolled. What is the probability that the sum is 7?", "1/6", "number"),
    ("prob-02", "A fair coin is flipped 4 times. What is the probability of exactly 2 heads?", "3/8", "number"),
    ("prob-03", "A bag holds 3 red and 5 blue marbles. Two are drawn without replacement. "
                "What is the probability that both are red?", "3/28", "number"),
    ("prob-04", "In how many orders can 5 different books stand on a shelf?", "120", "number"),
    ("prob-05", "How many 3-person committees can be chosen from 10 people?", "120", "number"),
    ("prob-06", "What is the expected value of one roll of a fair six-sided die?", "7/2", "number"),
    ("prob-07", "A fair die is rolled twice. What is the probability that at least one roll is a 6?", "11/36", "number"),
    # logic and reading
    ("logic-01", "Which of these is a prime number? (A) 21 (B) 27 (C) 29 (D) 33. Answer with the letter.", "C", "choice"),
    ("logic-02", "All bloops are razzies and all razzies are lazzies. Which must be true? "
                 "(A) All lazzies are bloops (B) All bloops are lazzies (C) No bloop is a lazzie "
                 "(D) Some razzies are not bloops. Answer with the letter.", "B", "choice"),
    ("logic-03", "Which number comes next: 2, 6, 12, 20, 30, …? (A) 40 (B) 42 (C) 44 (D) 36. "
                 "Answer with the letter.", "B", "choice"),
    ("logic-04", "Carol is 10. Bob is 3 years older than Carol, and Alice is 3 years older than Bob. "
                 "How old is Alice?", "16", "number"),
    ("logic-05", "A farmer has 17 sheep. All but 9 run away. How many sheep does the farmer have left?", "9", "number"),
    ("logic-06", "Is 1001 divisible by 7? Answer yes or no.", "yes", "text"),
    # geometry
    ("geo-01", "A right triangle has legs of length 6 and 8. How long is its hypotenuse?", "10", "number"),
    ("geo-02", "What is the area of a circle of radius 3? Give the exact answer in terms of π.", "9\\pi", "expression"),
)
