#!/usr/bin/env python
"""fxad.vmath against libm and NumPy: ns per element, single thread.

    python benchmarks/bench_vmath.py            # full run (about a minute, most of it compiling)
    python benchmarks/bench_vmath.py --quick    # smoke run
    python benchmarks/bench_vmath.py --only sin,exp --sizes 100000

For each function and size N, three contenders compute out[:] = f(x) for the same x:

  vmath   a @numba.njit loop calling fxad.vmath.<f>_f64 (how generated kernels will call it)
  libm    the same loop calling np.<f> (scalar libm through Numba: today's kernels)
  numpy   NumPy's own ufunc, np.<f>(x, out=out)

and three sum loops, as generated kernels with a reduction run them:

  vmath-sum   acc += vmath.<f>_f64(x[i])    a strict float sum: LLVM cannot vectorise the
                                            loop, so this is the scalar speed of vmath
  libm-sum    acc += np.<f>(x[i])           today's kernels
  vmath-rsum  acc = vmath.reassoc_add_f64(acc, vmath.<f>_f64(x[i]))   vectorised

The last block times the fused expression sum(sin(x)*exp(-x*x) + tanh(x)*x) (the jit
benchmark's) as a map (store every element) and as the three sums.

Timing: contenders run round-robin in random order within each round (the machine is
shared; timings drift), each sample is one call (repeated to >= ~2 ms for small N), and we
report the median ns/element and, in parentheses, the median of the per-round ratios
contender / vmath (map columns) or contender / vmath-rsum (sum columns): >1 = slower.
Every contender is checked against NumPy (max ulp distance) before timing.
This file is not part of the test suite.
"""
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse     # noqa: E402
import platform     # noqa: E402
import random       # noqa: E402
import statistics   # noqa: E402
import time         # noqa: E402

import numpy as np  # noqa: E402
import numba        # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fxad import vmath  # noqa: E402

FUNCS = ["exp", "expm1", "log", "log1p", "sin", "cos", "tanh"]


def inputs(name, n, rng):
    """Typical arguments (and, for sin/cos, where libm is at its fastest)."""
    if name == "exp":
        return rng.uniform(-20.0, 20.0, n)
    if name == "expm1":
        return rng.uniform(-2.0, 2.0, n)
    if name == "log":
        return np.exp(rng.uniform(np.log(1e-3), np.log(1e3), n))
    if name == "log1p":
        return rng.uniform(-0.9, 10.0, n)
    if name in ("sin", "cos"):
        return rng.uniform(-10.0, 10.0, n)
    if name == "tanh":
        return rng.uniform(-5.0, 5.0, n)
    raise KeyError(name)


def _map_loop(fn):
    @numba.njit(error_model="numpy", nogil=True)
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    return loop


def _sum_loop(fn):
    @numba.njit(error_model="numpy", nogil=True)
    def loop(x, out):
        acc = 0.0
        for i in range(x.shape[0]):
            acc += fn(x[i])
        out[0] = acc
    return loop


def _rsum_loop(fn):
    add = vmath.reassoc_add_f64

    @numba.njit(error_model="numpy", nogil=True)
    def loop(x, out):
        acc = 0.0
        for i in range(x.shape[0]):
            acc = add(acc, fn(x[i]))
        out[0] = acc
    return loop


def _libm(name):
    # np.<name> on a float64 scalar inside njit: a scalar libm call per element
    f = getattr(np, name)
    return numba.njit(inline="always", error_model="numpy")(lambda x: f(x))


def contenders(name):
    vf = getattr(vmath, f"{name}_f64")
    lf = _libm(name)
    uf = getattr(np, name)
    return {"vmath": _map_loop(vf), "libm": _map_loop(lf),
            "numpy": lambda x, out: uf(x, out=out),
            "vmath-sum": _sum_loop(vf), "libm-sum": _sum_loop(lf), "vmath-rsum": _rsum_loop(vf)}


def fused_contenders():
    s, e, t = vmath.sin_f64, vmath.exp_f64, vmath.tanh_f64

    @numba.njit(error_model="numpy", nogil=True)
    def vmath_map(x, out):
        for i in range(x.shape[0]):
            a = x[i]
            out[i] = s(a) * e(-a * a) + t(a) * a

    @numba.njit(error_model="numpy", nogil=True)
    def libm_map(x, out):
        for i in range(x.shape[0]):
            a = x[i]
            out[i] = np.sin(a) * np.exp(-a * a) + np.tanh(a) * a

    @numba.njit(error_model="numpy", nogil=True)
    def vmath_sum(x, out):
        acc = 0.0
        for i in range(x.shape[0]):
            a = x[i]
            acc += s(a) * e(-a * a) + t(a) * a
        out[0] = acc

    add = vmath.reassoc_add_f64

    @numba.njit(error_model="numpy", nogil=True)
    def vmath_rsum(x, out):
        acc = 0.0
        for i in range(x.shape[0]):
            a = x[i]
            acc = add(acc, s(a) * e(-a * a) + t(a) * a)
        out[0] = acc

    @numba.njit(error_model="numpy", nogil=True)
    def libm_sum(x, out):
        acc = 0.0
        for i in range(x.shape[0]):
            a = x[i]
            acc += np.sin(a) * np.exp(-a * a) + np.tanh(a) * a
        out[0] = acc

    def numpy_map(x, out):
        np.add(np.sin(x) * np.exp(-x * x), np.tanh(x) * x, out=out)

    return {"vmath": vmath_map, "libm": libm_map, "numpy": numpy_map,
            "vmath-sum": vmath_sum, "libm-sum": libm_sum, "vmath-rsum": vmath_rsum}


def ulp_distance(a, b):
    """Elementwise distance in units in the last place (0 where both are nan)."""
    def ordered(v):
        i = np.asarray(v, dtype=np.float64).view(np.int64)
        return np.where(i < 0, np.int64(-0x8000000000000000) - i, i)
    with np.errstate(over="ignore"):
        d = np.abs((ordered(a) - ordered(b)).astype(np.float64))
    d[np.isnan(a) & np.isnan(b)] = 0
    return d


def time_round(fns, x, outs, reps):
    order = list(fns)
    random.shuffle(order)
    res = {}
    for k in order:
        t0 = time.perf_counter()
        for _ in range(reps):
            fns[k](x, outs[k])
        res[k] = (time.perf_counter() - t0) / reps
    return res


def bench(label, fns, x, rounds, ref=None):
    n = x.shape[0]
    outs = {k: np.empty(n) for k in fns}
    for k in fns:                       # compile + warm up
        fns[k](x, outs[k])
    if ref is not None:
        for k in ("vmath", "libm"):
            d = ulp_distance(outs[k], ref)
            if d.max() > 4:
                raise SystemExit(f"{label} {k}: {d.max()} ulp from NumPy")
    t1 = min(time_round(fns, x, outs, 1).values())
    reps = max(1, int(2e-3 / max(t1, 1e-7)))
    samples = {k: [] for k in fns}
    ratios = {k: [] for k in fns}
    for _ in range(rounds):
        r = time_round(fns, x, outs, reps)
        for k in fns:
            samples[k].append(r[k])
            base = r["vmath-rsum"] if "sum" in k else r["vmath"]
            ratios[k].append(r[k] / base)
    row = {k: (statistics.median(samples[k]) / n * 1e9, statistics.median(ratios[k]))
           for k in fns}
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(FUNCS))
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rounds = args.rounds or (3 if args.quick else 15)
    rng = np.random.default_rng(0)
    random.seed(0)
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, Numba {numba.__version__}, "
          f"{rounds} interleaved rounds, single thread")
    print("# ns/element (median); (r) = median per-round time ratio contender/vmath "
          "(sum columns: contender/vmath-rsum)")
    cols = ["vmath", "libm", "numpy", "vmath-rsum", "vmath-sum", "libm-sum"]
    print(f"{'function':<10}{'N':>9}  " + "".join(f"{c:>15}" for c in cols))
    names = [n for n in args.only.split(",") if n]
    for name in names + ["fused"]:
        fns = fused_contenders() if name == "fused" else contenders(name)
        for n in sizes:
            x = (rng.uniform(-3.0, 3.0, n) if name == "fused" else inputs(name, n, rng))
            ref = None if name == "fused" else getattr(np, name)(x)
            row = bench(name, fns, x, rounds, ref)
            cells = []
            for c in cols:
                ns, ratio = row[c]
                cells.append(f"{ns:7.2f} ({ratio:.2f})")
            print(f"{name:<10}{n:>9}  " + "".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
