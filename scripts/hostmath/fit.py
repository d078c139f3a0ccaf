#!/usr/bin/env python3
"""Fits the polynomials of native/kernels/hostmath.h and prints them as float
literals, with each fit's worst error after the coefficients are rounded to
float. A development tool (needs numpy and mpmath), not part of the build.

Each fit is a weighted least-squares fit on Chebyshev nodes, reweighted
(Lawson's iteration) towards the minimax polynomial, of the error named in
hostmath.h: relative for the log and expm1 kernels, absolute for erf's P
(which crosses zero) and erfc's exponent H.

    python3 scripts/hostmath/fit.py
"""
import math

import mpmath as mp
import numpy as np

mp.mp.dps = 40


def fit(g, lo, hi, deg, rel, iters=60, n=3000):
    k = np.arange(n)
    xs = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)
    ys = np.array([g(x) for x in xs])
    V = np.vander(xs, deg + 1, increasing=True)
    scale = 1 / np.abs(ys) if rel else np.ones(n)
    w = np.ones(n)
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(V * (w * scale)[:, None], ys * w * scale, rcond=None)
        err = np.abs((V @ c - ys) * scale)
        w = w * np.sqrt(err / err.max()) + 1e-12
        w /= w.sum()
    c32 = np.float32(c).astype(np.float64)
    return c32, np.abs((V @ c32 - ys) * scale).max()


def log_p(z):  # (2 atanh s − 2s) / s³ with z = s²
    s = mp.sqrt(z)
    return float((2 * mp.atanh(s) - 2 * s) / s / z) if z > 0 else 2 / 3


def expm1_p(r):  # (e^r − 1 − r) / r²
    r = mp.mpf(r)
    return float((mp.expm1(r) - r) / r**2) if r != 0 else 0.5


def erf_p(z):  # erf(a) / a − 1 with z = a²
    a = mp.sqrt(z)
    return float(mp.erf(a) / a - 1) if z > 0 else float(2 / mp.sqrt(mp.pi) - 1)


def erfc_h(t):  # ln(erfc(a) e^{a²} / t) with t = 2 / (2 + a)
    a = 2 / mp.mpf(t) - 2
    return float(mp.log(mp.erfc(a) * mp.exp(a * a) / t))


smax = (math.sqrt(2) - 1) / (math.sqrt(2) + 1)
FITS = [
    ('logPlus P(s²), s² in [0, 0.0295]', log_p, 0, smax**2, 3, True),
    ('expm1f P(r), |r| <= ln 2 / 2', expm1_p, -math.log(2) / 2, math.log(2) / 2, 5, True),
    ('erfSmallP(a²), a < 0.875', erf_p, 0, 0.875**2, 6, False),
    ('erfcLarge H(t), a in [0.875, 10.1]', erfc_h, 2 / 12.1, 2 / 2.875, 8, False),
]

if __name__ == '__main__':
    for name, g, lo, hi, deg, rel in FITS:
        c, err = fit(g, lo, hi, deg, rel)
        print(f"{name}: worst {'relative' if rel else 'absolute'} error {err:.3g}")
        print('  ' + ', '.join(repr(float(np.float32(v))) + 'f' for v in c))
