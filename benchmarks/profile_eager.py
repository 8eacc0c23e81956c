#!/usr/bin/env python
"""Where fxad's eager per-op time goes: cProfile of the chain gradient from bench_eager.

    python benchmarks/profile_eager.py [--calls 200] [--top 30] [--sort tottime|cumtime]
    python benchmarks/profile_eager.py --case big --n 1000000

Prints the profile with call counts normalised per primitive op of the chain (100 ops
per gradient call), so a line reading "3.00 calls/op" is a function run three times for
every `sin`, `mul` or `add` in the user's program (forward, tangent and transpose work
together). cProfile inflates the cost of small Python functions, so read the shares,
not the absolute times; bench_eager.py gives the real ones.
"""
import argparse
import cProfile
import functools
import os
import pstats
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fxad  # noqa: E402
import fxad.numpy as fnp  # noqa: E402
from bench_eager import CHAIN_OPS, CHAIN_X0, chain_f, big_f  # noqa: E402


def _time(fn, calls, repeat=7):
    """Median over `repeat` batches of `calls` calls, seconds per call."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t0) / calls)
    out.sort()
    return out[len(out) // 2]


def phases(calls):
    """The chain gradient split into phases, each timed alone (µs per op)."""
    f = functools.partial(chain_f, m=fnp)
    x0 = np.float64(CHAIN_X0)
    _, vjp_fn = fxad.vjp(f, CHAIN_X0)
    one = np.float64(1.0)
    g = fxad.grad(f)
    jaxpr = fxad.make_jaxpr(f)(CHAIN_X0)

    def fresh_backward():                 # vjp_fn may be single-use (residuals released)
        return fxad.vjp(f, CHAIN_X0)[1]

    rows = [
        ("NumPy: the chain on np.float64 (no AD)", lambda: chain_f(x0, np)),
        ("fxad.numpy: the chain outside any transform", lambda: f(x0)),
        ("fxad.jvp (forward mode, tangent computed)", lambda: fxad.jvp(f, (CHAIN_X0,), (1.0,))),
        ("fxad.vjp forward (linearize: primal + staged tangents)", lambda: fxad.vjp(f, CHAIN_X0)),
        ("fxad.make_jaxpr (staging only)", lambda: fxad.make_jaxpr(f)(CHAIN_X0)),
        ("fxad.eval_jaxpr of the staged chain", lambda: fxad.eval_jaxpr(jaxpr, x0)),
        ("fxad.grad (forward + backward)", lambda: g(CHAIN_X0)),
    ]
    print(f"Phases of the chain gradient ({CHAIN_OPS} ops), each timed alone:")
    res = {}
    for label, fn in rows:
        fn()
        res[label] = _time(fn, max(calls // 4, 10))
        print(f"  {res[label] / CHAIN_OPS * 1e6:8.2f} µs/op  {label}")
    try:
        t_both = _time(lambda: fresh_backward()(one), max(calls // 4, 10))
        t_fwd = res["fxad.vjp forward (linearize: primal + staged tangents)"]
        print(f"  {(t_both - t_fwd) / CHAIN_OPS * 1e6:8.2f} µs/op  backward pass alone "
              "(vjp + vjp_fn(1.0), minus vjp)")
    except Exception as e:                       # noqa: BLE001
        print(f"  (backward pass not timed: {e})")
    print()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--case", choices=["chain", "big"], default="chain")
    p.add_argument("--n", type=int, default=1000, help="array size for --case big")
    p.add_argument("--calls", type=int, default=200, help="gradient calls profiled")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sort", default="tottime", choices=["tottime", "cumtime", "ncalls"])
    p.add_argument("--no-phases", action="store_true",
                   help="skip the per-phase timing of the chain")
    args = p.parse_args(argv)
    if args.case == "chain" and not args.no_phases:
        phases(args.calls)

    if args.case == "chain":
        g = fxad.grad(functools.partial(chain_f, m=fnp))
        call, ops = (lambda: g(CHAIN_X0)), CHAIN_OPS
    else:
        g = fxad.grad(functools.partial(big_f, m=fnp))
        x = np.random.default_rng(0).standard_normal(args.n)
        call = lambda: g(x)                                          # noqa: E731
        ops = len(fxad.make_jaxpr(functools.partial(big_f, m=fnp))(x).eqns)
    for _ in range(20):                          # warm up
        call()
    t0 = time.perf_counter()
    for _ in range(args.calls):
        call()
    plain = (time.perf_counter() - t0) / args.calls

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.calls):
        call()
    prof.disable()
    st = pstats.Stats(prof)
    total_calls = sum(v[1] for v in st.stats.values())  # primitive + recursive calls
    total_t = sum(v[2] for v in st.stats.values())

    print(f"fxad.grad({args.case}): {plain * 1e6:.1f} µs/call unprofiled "
          f"({plain / ops * 1e6:.2f} µs per op, {ops} ops/call)")
    print(f"profiled {args.calls} calls: {total_calls / args.calls / ops:.1f} Python-level "
          f"function calls per op, {total_t / args.calls * 1e6:.0f} µs/call under cProfile\n")
    rows = sorted(st.stats.items(), key=lambda kv: {
        "tottime": kv[1][2], "cumtime": kv[1][3], "ncalls": kv[1][1]}[args.sort],
        reverse=True)
    print(f"{'calls/op':>9} {'tot %':>6} {'cum %':>6}  function")
    for (file, line, name), (cc, nc, tt, ct, _) in rows[:args.top]:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
        print(f"{nc / args.calls / ops:9.2f} {tt / total_t * 100:6.1f} "
              f"{ct / total_t * 100:6.1f}  {name}  ({where})")


if __name__ == "__main__":
    main()
