"""Fits the polynomials of codegen/cpu_math.c and prints them as C arrays.

    $SHEAF_VENV/bin/python scripts/fit_math.py      (needs numpy)

Each is a weighted least-squares fit on Chebyshev-spaced points, reweighted
toward the minimax error (Lawson's iteration), of a smooth function whose
exact values come from double-precision libm (math.tanh, math.erf,
math.erfc):

- tanh: P(u), u = x^2, with tanh(x) = x + x^3 P(x^2) on [0, 0.55];
- erf:  E(u), u = z^2, with erf(z) = z E(z^2) on [0, 0.84375];
- erfc: S(t), t = 1 / (1 + a/2), with erfc(a) = e^(-a^2) S(t) on [0.5, 10].

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
    show("E", *fit(lambda z: math.erf(z) / z, 1e-4, 0.84375, 5, lambda z: z * z))
    show("S", *fit(lambda a: math.erfc(a) * math.exp(a * a), 0.5, 10.0, 10, lambda a: 1 / (1 + 0.5 * a)))


if __name__ == "__main__":
    main()
