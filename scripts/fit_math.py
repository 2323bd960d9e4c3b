"""Fits the polynomials of codegen/cpu_math.c and prints them as C arrays.

    $SHEAF_VENV/bin/python scripts/fit_math.py      (needs numpy)

Each is a weighted least-squares fit on Chebyshev-spaced points, reweighted
toward the minimax error (Lawson's iteration), of a smooth function whose
exact values come from double-precision libm (math.tanh, math.erfc):

- tanh: P(u), u = x^2, with tanh(x) = x + x^3 P(x^2) on [0, 0.55];
- erfc: G(t), t = 1 / (1 + a/2), with erfc(a) = e^(-a^2) t G(t) on [0, 10.5]
  (GELU's; t G(t) is 0 at t = 0, as erfc is at a = inf);
- exp:  X(r), with e^r = X(r) on [-ln 2 / 2, ln 2 / 2] and a margin (GELU's e^-(x^2/2));
- log:  L(f), with log(1 + f) = f - f^2/2 + f^3 L(f) on [sqrt(1/2) - 1, sqrt(2) - 1];
- tanhshrink: T(u), u = x^2, with x - tanh(x) = x^3 T(x^2) on [0, 1.5].

Where the target cancels in double near 0 (log1p(f) - f + f^2/2, x - tanh x)
it is its Taylor series there instead.

tests/test_cpu_math.c measures the f32 functions built from them.
"""
import math

import numpy as np


def fit(f, lo, hi, degree, var, n=20000, rounds=30):
    x = (np.cos(np.linspace(0, np.pi, n)) * 0.5 + 0.5) * (hi - lo) + lo
    y = np.array([f(v) for v in x])
    a = np.vander(var(x), degree + 1, increasing=True)
    rel = 1 / np.abs(y)
    lawson = np.ones_like(x)
    for _ in range(rounds):
        w = rel * np.sqrt(lawson)
        c = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)[0]
        err = np.abs(a @ c - y) * rel
        lawson = lawson * err
        lawson /= lawson.sum()
    return c, err.max()


def show(name, c, err):
    print("/* relative error of the fit %.2g */" % err)
    print("static const double %s[%d] = {%s};" % (name, len(c), ", ".join(repr(float(v)) for v in c)))


def main():
    # tanh(x)/x - 1 cancels in double near 0: start the fit at 1e-4, where x^2 P is below f32's reach anyway
    show("P", *fit(lambda x: (math.tanh(x) / x - 1) / (x * x), 1e-4, 0.55, 4, lambda x: x * x))
    show("G", *fit(lambda a: math.erfc(a) * math.exp(a * a) * (1 + 0.5 * a), 0.0, 10.5, 8, lambda a: 1 / (1 + 0.5 * a)))
    half = math.log(2) / 2 + 1e-4  # r also carries -lo/2, under 2^-17
    show("X", *fit(math.exp, -half, half, 6, lambda r: r))
    show("L", *fit(log_tail, math.sqrt(0.5) - 1, math.sqrt(2) - 1, 8, lambda f: f))
    show("T", *fit(tanh_tail, 0.0, 1.5, 10, lambda x: x * x))


def log_tail(f):
    """(log1p(f) - f + f^2/2) / f^3; the series 1/3 - f/4 + f^2/5 - ... near 0"""
    if abs(f) < 1e-2:
        return sum((-1) ** k * f ** k / (k + 3) for k in range(12))
    return (math.log1p(f) - f + f * f / 2) / f ** 3


def tanh_tail(x):
    """(x - tanh x) / x^3; its series near 0 (coefficients of tanh's: 2^2n (2^2n - 1) B_2n / (2n)!)"""
    if x < 0.1:
        u = x * x
        return 1 / 3 + u * (-2 / 15 + u * (17 / 315 + u * (-62 / 2835 + u * (1382 / 155925 - u * 21844 / 6081075))))
    return (x - math.tanh(x)) / x ** 3


if __name__ == "__main__":
    main()
