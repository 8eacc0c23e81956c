#!/usr/bin/env python
"""Compiled (`jit`) benchmarks: fxad.jit side by side with jax.jit, hand-written Numba and
hand-written NumPy.

    python benchmarks/bench_jit.py            # full run (under 3 minutes)
    python benchmarks/bench_jit.py --quick    # smoke run (under 40 s; no N = 1e7)

What is measured (see benchmarks/README.md for how to read the output):

  (a) big      jit(grad) of sum(sin(x)*exp(-x*x) + tanh(x)*x) at N = 1e3 ... 1e7, next to
               a hand-written fused Numba kernel and NumPy by hand, and as a share of the
               memory-bandwidth bound (16 bytes/element: read x, write the gradient)
  (b) mlp      one SGD training step (relu MLP, softmax cross-entropy, p - 0.1*grad) at
               64->128->10 batch 256 and 784->512->10 batch 512, next to NumPy backprop
  (c) compile  cold compile of the MLP step and a warm start from the disk cache (fresh
               processes) vs jax.jit's first call; per-call overhead of a tiny function

All in-process contenders run in ONE process, single-threaded, interleaved round-robin,
and every contender's result is checked against the hand-written one before timing.
JAX is used only when importable. This file is not part of the test suite.
"""
import functools
import inspect
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _harness as H   # first: pins threads, sets up JAX flags, puts this tree on sys.path

import numpy as np     # noqa: E402  (after _harness)

from bench_eager import big_f, big_grad_hand  # noqa: E402  (the same program as eager (c))

SIZES = (1_000, 100_000, 1_000_000, 10_000_000)
QUICK_SIZES = SIZES[:-1]               # --quick leaves out N = 1e7 (seconds per call)
BYTES_PER_ELEMENT = 16                 # read x, write the gradient (float64)
MLP_SHAPES = ((64, 128, 10, 256), (784, 512, 10, 512))   # n_in, n_hidden, n_out, batch
COMPILE_SHAPE = MLP_SHAPES[0]
TINY_INPUTS = (("0-d float64", np.array(1.5)), ("3-element", np.array([0.5, 1.5, 2.5])))
REFS = (("vs_fxad", "fxad.jit"), ("vs_jax", "jax.jit"), ("vs_numba", "Numba by hand"),
        ("vs_numpy", "NumPy by hand"), ("vs_numpy_eager", "NumPy (no jit)"))

# --------------------------------------------------------------------------- the functions
# Written once against a NumPy-like module `m` (fxad.numpy, jax.numpy) and a `grad`. The
# MLP functions are also pasted into the fresh processes of (c) (inspect.getsource), so
# they use only their arguments, NumPy as `np` and functools.


def mlp_data(n_in, n_hidden, n_out, batch, seed=0):
    """(params, x, one-hot y): He-initialised weights, random biases, random inputs."""
    rng = np.random.default_rng(seed)
    params = {"w1": rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_hidden)),
              "b1": rng.normal(0.0, 0.1, n_hidden),
              "w2": rng.normal(0.0, np.sqrt(2.0 / n_hidden), (n_hidden, n_out)),
              "b2": rng.normal(0.0, 0.1, n_out)}
    x = rng.standard_normal((batch, n_in))
    y = np.eye(n_out)[rng.integers(0, n_out, batch)]
    return params, x, y


def mlp_loss(p, x, y, m):
    h = m.maximum(x @ p["w1"] + p["b1"], 0.0)
    logits = h @ p["w2"] + p["b2"]
    shifted = logits - m.max(logits, axis=1, keepdims=True)
    log_probs = shifted - m.log(m.sum(m.exp(shifted), axis=1, keepdims=True))
    return -m.mean(m.sum(y * log_probs, axis=1))


def mlp_step(p, x, y, m, grad):
    """One SGD step: the new params."""
    g = grad(functools.partial(mlp_loss, m=m))(p, x, y)
    return {k: p[k] - 0.1 * g[k] for k in p}


def mlp_step_hand(p, x, y):
    """The same step with the backward pass written by hand in NumPy: the baseline."""
    z = x @ p["w1"] + p["b1"]
    h = np.maximum(z, 0.0)
    logits = h @ p["w2"] + p["b2"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    d = (e / e.sum(axis=1, keepdims=True) - y) / x.shape[0]   # dloss/dlogits (y one-hot)
    dh = (d @ p["w2"].T) * (z > 0.0)
    return {"w1": p["w1"] - 0.1 * (x.T @ dh), "b1": p["b1"] - 0.1 * dh.sum(axis=0),
            "w2": p["w2"] - 0.1 * (h.T @ d), "b2": p["b2"] - 0.1 * d.sum(axis=0)}


def tiny_f(x):
    return x * 2.0 + 1.0


def make_numba_grad():
    """The analytic gradient of big_f as one fused Numba loop, with the flags fxad's
    kernels use (no fastmath)."""
    import numba

    @numba.njit(error_model="numpy", nogil=True)
    def big_grad_numba(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            xi = x[i]
            e = np.exp(-xi * xi)
            t = np.tanh(xi)
            out[i] = e * (np.cos(xi) - 2.0 * xi * np.sin(xi)) + t + xi * (1.0 - t * t)
        return out
    return big_grad_numba


# --------------------------------------------------------------------------- contenders

def load(skip):
    """(fxad, fnp, jax or None, numba kernel, versions, skipped)."""
    skipped = []
    import fxad
    import fxad.numpy as fnp
    try:
        import numba
    except Exception as e:                         # noqa: BLE001
        raise SystemExit(f"fxad.jit needs Numba, which is not importable ({e})") from None
    jax, why = H.load_jax(skip)
    if jax is None:
        skipped.append(("jax", why))
    versions = {"fxad": fxad.__version__, "numba": numba.__version__,
                "numpy": np.__version__}
    if jax is not None:
        versions["jax"] = jax.__version__
        versions["jaxlib"] = H.version("jaxlib")
    return fxad, fnp, jax, make_numba_grad(), versions, skipped


def jitted(fn):
    """Call a fresh fxad.jit function twice: the first call is interpreted, the second
    compiles; afterwards every call runs compiled (checked)."""
    def warm(*args):
        fn(*args)
        fn(*args)
        entries = list(getattr(fn, "_cache", {}).values())
        assert all(e.compiled is not None for e in entries), "fxad.jit did not compile"
        return fn
    return warm


def big_cases(x, fxad, fnp, jax, numba_grad):
    g = jitted(fxad.jit(fxad.grad(functools.partial(big_f, m=fnp))))(x)
    cases = [("fxad.jit", lambda: g(x))]
    if jax is not None:
        import jax.numpy as jnp
        jg = jax.jit(jax.grad(functools.partial(big_f, m=jnp)))
        xj = jax.device_put(x)                     # JAX users hold JAX arrays
        jg(xj).block_until_ready()
        cases.append(("jax.jit", lambda: jg(xj).block_until_ready()))
    numba_grad(x)
    cases.append(("Numba by hand", lambda: numba_grad(x)))
    cases.append(("NumPy by hand", lambda: big_grad_hand(x)))
    return cases


def mlp_cases(shape, fxad, fnp, jax):
    p, x, y = mlp_data(*shape)
    step = jitted(fxad.jit(functools.partial(mlp_step, m=fnp, grad=fxad.grad)))(p, x, y)
    cases = [("fxad.jit", lambda: step(p, x, y))]
    if jax is not None:
        import jax.numpy as jnp
        jstep = jax.jit(functools.partial(mlp_step, m=jnp, grad=jax.grad))
        pj, xj, yj = jax.device_put((p, x, y))
        jax.block_until_ready(jstep(pj, xj, yj))
        cases.append(("jax.jit", lambda: jax.block_until_ready(jstep(pj, xj, yj))))
    cases.append(("NumPy by hand", lambda: mlp_step_hand(p, x, y)))
    return cases


def tiny_cases(x, fxad, jax):
    f = jitted(fxad.jit(tiny_f))(x)
    cases = [("fxad.jit", lambda: f(x))]
    if jax is not None:
        jf = jax.jit(tiny_f)
        xj = jax.device_put(x)
        jf(xj).block_until_ready()
        cases.append(("jax.jit", lambda: jf(xj).block_until_ready()))
    cases.append(("NumPy (no jit)", lambda: tiny_f(x)))
    return cases


# --------------------------------------------------------------------------- bandwidth

def measure_bandwidth(quick):
    """Memory bandwidth the machine achieves on one thread: np.copyto between two large
    pre-faulted float64 arrays, counted as bytes read + bytes written."""
    n = 2 ** (24 if quick else 25)                 # 128 / 256 MiB per array
    src = np.ones(n)
    dst = np.empty(n)
    np.copyto(dst, src)                            # fault every page in before timing
    times = []
    for _ in range(5 if quick else 11):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    moved = 2 * src.nbytes
    return {"method": "np.copyto", "array_bytes": src.nbytes, "copies": len(times),
            "median_GBps": moved / statistics.median(times) / 1e9,
            "best_GBps": moved / min(times) / 1e9}


# --------------------------------------------------------------------------- fresh processes

_PROBE_HEAD = """\
import time
import functools, json, os, sys
import numpy as np
T_NUMPY = time.time()

{defs}

params, x, y = mlp_data{shape}
"""

FXAD_PROBE = _PROBE_HEAD + """
t0 = time.perf_counter()
import fxad
import fxad.numpy as fnp
t1 = time.perf_counter()
step = fxad.jit(functools.partial(mlp_step, m=fnp, grad=fxad.grad))
step(params, x, y)
t2 = time.perf_counter(); w2 = time.time()
step(params, x, y)
t3 = time.perf_counter(); w3 = time.time()
step(params, x, y)
t4 = time.perf_counter()
compiled = all(e.compiled is not None for e in step._cache.values())
kernels = sum(f.endswith(".py") for f in os.listdir(os.environ["FXAD_CACHE_DIR"]))
print(json.dumps({{"import_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2,
                  "third_s": t4 - t3, "wall_numpy": T_NUMPY, "wall_first": w2,
                  "wall_compiled": w3, "compiled": compiled, "kernels": kernels,
                  "numba": "numba" in sys.modules}}))
"""

JAX_PROBE = _PROBE_HEAD + """
t0 = time.perf_counter()
import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import jax.numpy as jnp
t1 = time.perf_counter()
params, x, y = jax.device_put((params, x, y))
jax.block_until_ready((params, x, y))
step = jax.jit(functools.partial(mlp_step, m=jnp, grad=jax.grad))
t2 = time.perf_counter()
jax.block_until_ready(step(params, x, y))
t3 = time.perf_counter(); w3 = time.time()
jax.block_until_ready(step(params, x, y))
t4 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_s": t3 - t2, "second_s": t4 - t3,
                  "wall_numpy": T_NUMPY, "wall_first": w3}}))
"""

BASELINE_PROBE = """\
import json, time
import numpy
w = time.time()
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
print(json.dumps({"wall_numpy": w, "numba_import_s": t1 - t0}))
"""

WARMUP_PROBE = """\
import json, numpy, numba, fxad, fxad.numpy, fxad.lowering
numba.njit(lambda a: a + 1.0)(1.0)            # imports Numba's compiler modules
try:
    import jax, jax.numpy
    jax.jit(lambda a: a + 1.0)(1.0)
except Exception:
    pass
print(json.dumps({}))
"""


def _probe_defs():
    return "\n\n".join(inspect.getsource(f) for f in (mlp_data, mlp_loss, mlp_step))


def pycache_dir():
    """Bytecode folder for the fresh processes (PYTHONPYCACHEPREFIX): persistent across
    runs (in the temp folder) so that only the first run ever pays for compiling NumPy's,
    Numba's and JAX's sources to bytecode; nothing is written into the repository."""
    path = Path(tempfile.gettempdir()) / f"fxad-bench-pycache-{os.getuid()}"
    path.mkdir(exist_ok=True)
    return path


def measure_compile(repeats, have_jax):
    """Fresh processes, `repeats` rounds of: fxad cold (empty FXAD_CACHE_DIR), fxad warm
    (the same cache again), JAX's first call, and a baseline (Python + NumPy start,
    `import numba`). Returns {name: list of probe results}."""
    defs = _probe_defs()
    shape = repr(tuple(COMPILE_SHAPE))
    pycache = pycache_dir()
    env = H.probe_env(pycache, JAX_COMPILATION_CACHE_DIR=None)
    H.run_probe(WARMUP_PROBE, env, what="the warm-up probe")   # untimed: fills bytecode
    out = {"fxad_cold": [], "fxad_warm": [], "baseline": []}
    if have_jax:
        out["jax_first"] = []
    for _ in range(repeats):
        cache = tempfile.mkdtemp(prefix="fxad-bench-kernels-")
        try:
            fenv = dict(env, FXAD_CACHE_DIR=cache)
            code = FXAD_PROBE.format(defs=defs, shape=shape)
            out["fxad_cold"].append(H.run_probe(code, fenv, what="fxad cold compile"))
            out["fxad_warm"].append(H.run_probe(code, fenv, what="fxad warm start"))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if have_jax:
            out["jax_first"].append(H.run_probe(JAX_PROBE.format(defs=defs, shape=shape),
                                                env, what="jax.jit compile"))
        out["baseline"].append(H.run_probe(BASELINE_PROBE, env, what="baseline"))
    for r in out["fxad_cold"] + out["fxad_warm"]:
        if not r["compiled"]:
            raise AssertionError("fxad.jit did not run compiled by its second call")
    return out


def summarize_compile(runs):
    """Medians over repeats of the numbers the report uses."""
    med = lambda rs, f: statistics.median(f(r) for r in rs)      # noqa: E731
    s = {"repeats": len(runs["baseline"])}
    base = runs["baseline"]
    s["python_numpy_start_s"] = med(base, lambda r: r["wall_numpy"] - r["wall_start"])
    s["numba_import_s"] = med(base, lambda r: r["numba_import_s"])
    for key in ("fxad_cold", "fxad_warm"):
        rs = runs[key]
        s[key] = {"import_fxad_s": med(rs, lambda r: r["import_s"]),
                  "first_call_s": med(rs, lambda r: r["first_s"]),
                  "second_call_s": med(rs, lambda r: r["second_s"]),
                  "first_plus_second_s": med(rs, lambda r: r["first_s"] + r["second_s"]),
                  "import_plus_two_calls_s": med(
                      rs, lambda r: r["import_s"] + r["first_s"] + r["second_s"]),
                  "third_call_s": med(rs, lambda r: r["third_s"]),
                  "start_to_first_result_s": med(rs, lambda r: r["wall_first"] - r["wall_start"]),
                  "start_to_compiled_s": med(rs, lambda r: r["wall_compiled"] - r["wall_start"]),
                  "kernels": rs[0]["kernels"],
                  "all_s": [r["first_s"] + r["second_s"] for r in rs]}
    if "jax_first" in runs:
        rs = runs["jax_first"]
        s["jax_first"] = {"import_jax_s": med(rs, lambda r: r["import_s"]),
                          "first_call_s": med(rs, lambda r: r["first_s"]),
                          "second_call_s": med(rs, lambda r: r["second_s"]),
                          "start_to_first_result_s": med(
                              rs, lambda r: r["wall_first"] - r["wall_start"]),
                          "all_s": [r["first_s"] for r in rs]}
    return s


def print_compile(c):
    n_in, n_hid, n_out, batch = COMPILE_SHAPE
    fmt = H.fmt_time
    cold, warm, jx = c["fxad_cold"], c["fxad_warm"], c.get("jax_first")
    print(f"\n(c) compile: the MLP step {n_in}->{n_hid}->{n_out} batch {batch} in fresh "
          f"processes (median of {c['repeats']})")
    head = (f"  {'':<38}{'import':>10}{'1st call':>10}{'2nd call':>10}{'1st+2nd':>10}"
            f"{'start->result':>15}{'3rd call':>10}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for label, r in ((f"fxad.jit, cold ({cold['kernels']} kernels compiled)", cold),
                     ("fxad.jit, warm (kernels from disk)", warm)):
        print(f"  {label:<38}{fmt(r['import_fxad_s']):>10}{fmt(r['first_call_s']):>10}"
              f"{fmt(r['second_call_s']):>10}{fmt(r['first_plus_second_s']):>10}"
              f"{fmt(r['start_to_compiled_s']):>15}{fmt(r['third_call_s']):>10}")
    if jx:
        print(f"  {'jax.jit (1st call compiles)':<38}{fmt(jx['import_jax_s']):>10}"
              f"{fmt(jx['first_call_s']):>10}{fmt(jx['second_call_s']):>10}{'':>10}"
              f"{fmt(jx['start_to_first_result_s']):>15}{'':>10}")
    print(f"  start->result: from spawning the process to the first compiled result "
          f"(fxad: end of the 2nd call); Python + NumPy alone take "
          f"{fmt(c['python_numpy_start_s']).strip()}, `import numba` "
          f"{fmt(c['numba_import_s']).strip()}. fxad's 1st call is interpreted "
          f"(start->1st result: cold {fmt(cold['start_to_first_result_s']).strip()}, "
          f"warm {fmt(warm['start_to_first_result_s']).strip()})")


# --------------------------------------------------------------------------- report

def pct(x):
    return "-" if x is None else f"{x * 100:.0f}%" if x < 10 else f"{x:,.0f}x"


def main(argv=None):
    p = H.make_parser(__doc__, "few short rounds (smoke run, < 40 s)", 21, 5,
                      peers=["jax"], cases=["big", "mlp", "compile", "tiny"])
    args = p.parse_args(argv)
    rounds, min_batch = H.resolve_common_args(args, 21, 5)
    case_s = 2.5 if args.quick else 12.0           # time budget per table
    compile_repeats = 1 if args.quick else 3
    sizes = QUICK_SIZES if args.quick else SIZES
    todo = set(args.case or ["big", "mlp", "compile", "tiny"])
    t_start = time.perf_counter()

    fxad, fnp, jax, numba_grad, versions, skipped = load(args.skip)
    env = H.environment(versions, skipped)
    env["fxad_cache_dir"] = os.environ.get("FXAD_CACHE_DIR", "~/.cache/fxad (default)")
    H.print_header("fxad jit benchmarks" + (" (--quick)" if args.quick else ""),
                   env, skipped, rounds, min_batch)
    print("  (rounds shrink, to no fewer than 3, where a table would take over "
          f"{case_s:g} s; in-process kernels use FXAD_CACHE_DIR = {env['fxad_cache_dir']})")
    results = {"env": env, "rounds": rounds, "min_batch_s": min_batch, "cases": {}}

    def run_case(key, title, cases, ref, what, ratios, extra=(), faults=False):
        H.check_same(key, cases, ref, what=what)
        samples, numbers, flts = H.measure(cases, rounds, min_batch, max_s=case_s)
        stats = H.summarize(samples, numbers, flts, refs=REFS)
        H.print_table(title, stats, faults=faults, ratios=ratios, extra=extra)
        results["cases"][key] = stats
        return stats

    # (a) the large-array gradient, with the bandwidth bound
    if "big" in todo:
        bw = results["bandwidth"] = measure_bandwidth(args.quick)
        gbps = bw["median_GBps"]
        print(f"\n  memory bandwidth (np.copyto of {bw['array_bytes'] / 2 ** 20:.0f} MiB, "
              f"read + write, one thread): {gbps:.1f} GB/s median, {bw['best_GBps']:.1f} "
              f"GB/s best of {bw['copies']}; the bound below is {BYTES_PER_ELEMENT} "
              "bytes/element at the median")
        rng = np.random.default_rng(0)
        for n in sizes:
            x = rng.standard_normal(n)
            bound_s = BYTES_PER_ELEMENT * n / (gbps * 1e9)
            extra = (("ns/elem", 9, lambda lb, s, n=n: f"{s['median_s'] / n * 1e9:.3g}"),
                     ("of bound", 10, lambda lb, s, b=bound_s: pct(b / s["median_s"])))
            stats = run_case(
                f"big_{n}", f"(a) big: jit(grad) of sum(sin(x)*exp(-x*x) + tanh(x)*x), "
                f"N = {n:.0e}" + ("  (in cache: the DRAM bound does not apply)"
                                  if n * BYTES_PER_ELEMENT < 4e6 else ""),
                big_cases(x, fxad, fnp, jax, numba_grad), "NumPy by hand", "gradient",
                (("vs fxad", "vs_fxad"), ("vs jax", "vs_jax"), ("vs Numba", "vs_numba"),
                 ("vs NumPy", "vs_numpy")), extra=extra, faults=n >= 1_000_000)
            for s in stats.values():
                s["bound_fraction"] = bound_s / s["median_s"]
            del x

    # (b) the MLP training step
    if "mlp" in todo:
        for shape in MLP_SHAPES:
            n_in, n_hid, n_out, batch = shape
            run_case(f"mlp_{n_in}_{n_hid}_{n_out}_b{batch}",
                     f"(b) mlp: SGD step, {n_in}->{n_hid}->{n_out} relu, softmax "
                     f"cross-entropy, batch {batch}", mlp_cases(shape, fxad, fnp, jax),
                     "NumPy by hand", "updated params",
                     (("vs fxad", "vs_fxad"), ("vs jax", "vs_jax"), ("vs NumPy", "vs_numpy")))

    # (c) per-call overhead of a tiny function
    if "tiny" in todo:
        for name, x in TINY_INPUTS:
            run_case(f"tiny_{name.split()[0]}", f"(c) tiny call: f(x) = x*2.0 + 1.0, x "
                     f"{name}", tiny_cases(x, fxad, jax), "NumPy (no jit)", "result",
                     (("vs fxad", "vs_fxad"), ("vs jax", "vs_jax"),
                      ("vs NumPy", "vs_numpy_eager")))

    # (c) compile and start-up, in fresh processes
    if "compile" in todo:
        runs = measure_compile(compile_repeats, jax is not None)
        results["compile"] = comp = summarize_compile(runs)
        results["compile_runs"] = runs
        print_compile(comp)

    print_targets(results, jax is not None)
    return H.finish(results, args.json, t_start)


def print_targets(results, have_jax):
    """The issue's goals, restated with this run's numbers."""
    cases = results["cases"]

    def line(ok, text):
        print(f"  [{' -- ' if ok is None else 'PASS' if ok else 'FAIL'}] {text}")

    print("\nTargets")
    for n in SIZES:
        s = cases.get(f"big_{n}")
        if s is None or n < 100_000:
            continue
        fx = s["fxad.jit"]
        if have_jax:
            r = fx["vs_jax"]
            line(r < 1, f"(a) N = {n:.0e}: fxad.jit takes {r:.2f}x jax.jit's time "
                 f"(paired; target < 1, faster than jax.jit)")
        else:
            line(None, f"(a) N = {n:.0e}: jax.jit not benchmarked")
        frac = s["Numba by hand"]["vs_fxad"]
        line(frac >= 0.7, f"(a) N = {n:.0e}: fxad.jit runs at {frac * 100:.0f}% of the "
             f"hand-written Numba kernel's speed (Numba time / fxad time, paired; target "
             f">= 70%); {fx['bound_fraction'] * 100:.0f}% of the bandwidth bound")
    for shape in MLP_SHAPES:
        s = cases.get("mlp_{}_{}_{}_b{}".format(*shape))
        if s is None:
            continue
        what = "{}->{}->{} batch {}".format(*shape)
        if have_jax:
            r = s["fxad.jit"]["vs_jax"]
            line(r <= 1, f"(b) MLP step {what}: fxad.jit takes {r:.2f}x jax.jit's time "
                 "(paired; target <= 1)")
        else:
            line(None, f"(b) MLP step {what}: jax.jit not benchmarked")
    for name, _ in TINY_INPUTS:
        s = cases.get(f"tiny_{name.split()[0]}")
        if s is None:
            continue
        fx = s["fxad.jit"]["median_s"]
        if have_jax:
            r = s["fxad.jit"]["vs_jax"]
            line(r <= 1, f"(c) tiny call on a {name}: fxad.jit {fx * 1e6:.2f} µs, jax.jit "
                 f"{s['jax.jit']['median_s'] * 1e6:.2f} µs per call; fxad/jax {r:.2f} "
                 "(paired; target <= 1)")
        else:
            line(None, f"(c) tiny call on a {name}: fxad.jit {fx * 1e6:.2f} µs per call")
    comp = results.get("compile")
    if comp is not None:
        cold, warm = comp["fxad_cold"], comp["fxad_warm"]
        jx = comp.get("jax_first")
        extra = (f"; jax.jit's first call {jx['first_call_s']:.2f} s" if jx else "")
        line(cold["first_plus_second_s"] <= 2.0,
             f"(c) cold compile of the MLP step: {cold['first_plus_second_s']:.2f} s from "
             f"the first call to the compiled result (2nd call alone "
             f"{cold['second_call_s']:.2f} s){extra} (target <= 2 s)")
        line(warm["import_plus_two_calls_s"] <= 0.2,
             f"(c) second process (kernels on disk): `import fxad` + first two calls "
             f"{warm['import_plus_two_calls_s']:.3f} s (target <= 0.2 s); from process "
             f"start to the first compiled result {warm['start_to_compiled_s']:.3f} s, of "
             f"which Python + NumPy {comp['python_numpy_start_s']:.3f} s")


if __name__ == "__main__":
    main()
