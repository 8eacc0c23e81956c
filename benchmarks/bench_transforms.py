#!/usr/bin/env python
"""Transform benchmarks: vmap, hessian and Hessian-vector products, fxad next to JAX,
autograd and NumPy by hand.

    python benchmarks/bench_transforms.py            # full run (under 3 minutes)
    python benchmarks/bench_transforms.py --quick    # smoke run (under 40 s)
    python benchmarks/bench_transforms.py --case pex --plan   # one case, full fxad plan

What is measured (see benchmarks/README.md for how to read the output):

  (a) pex      per-example gradients of an MLP loss (64->128->10, relu, softmax
               cross-entropy, params dict) over 256 examples: jit(vmap(grad)) next to
               jax.jit(jax.vmap(jax.grad)), NumPy by hand, eager fxad.vmap, and Python
               loops over the examples (fxad.grad, fxad.jit(grad), jax.jit(jax.grad))
  (b) hessian  the Hessian of the 50-d Rosenbrock function: fxad.hessian (eager and jit),
               jax.jit(jax.hessian), autograd.hessian, NumPy by hand (tridiagonal)
  (c) hvp      Hessian-vector products jvp(grad(f), (x,), (v,)) at N = 1e5, f the smooth
               elementwise sum(sin(x)*exp(-x*x) + tanh(x)*x) and the N-d Rosenbrock
               function: fxad.jit, jax.jit, eager fxad, autograd.hessian_vector_product

All contenders run in ONE process, single-threaded, interleaved round-robin, and every
contender's result is checked against the hand-written NumPy one before timing. Under each
table, a summary of fxad's compiled program (`fxad.jit(...).lower(...)`): fused loop nests,
NumPy calls by primitive and einsum shapes.
Peers (JAX, autograd) are used only when importable. This file is not part of the tests.
"""
import collections
import functools
import time

import _harness as H   # first: pins threads, sets up JAX flags, puts this tree on sys.path

import numpy as np     # noqa: E402  (after _harness)

from bench_eager import big_f             # noqa: E402  (the same function as eager/jit)
from bench_jit import jitted, mlp_data    # noqa: E402

PEX_SHAPE = (64, 128, 10, 256)            # n_in, n_hidden, n_out, batch
ROSEN_N = 50
HVP_N = 100_000
REFS = (("vs_fxad", "fxad.jit"), ("vs_jax", "jax.jit"), ("vs_numpy", "NumPy by hand"))
COLUMNS = (("vs fxad", "vs_fxad"), ("vs jax", "vs_jax"), ("vs NumPy", "vs_numpy"))
CASES = ("pex", "hessian", "hvp")
# Batch sizes come from the shortest of 3 timings: on a busy machine a single preempted
# call (or jax.jit's slow second call) would otherwise fix a batch at one call.
CALIBRATE_TRIES = 3

# --------------------------------------------------------------------------- the functions
# Written once against a NumPy-like module `m` (fxad.numpy, jax.numpy, autograd.numpy).


def example_loss(p, x, y, m):
    """Softmax cross-entropy of ONE example: x (n_in,), y one-hot (n_out,)."""
    h = m.maximum(x @ p["w1"] + p["b1"], 0.0)
    logits = h @ p["w2"] + p["b2"]
    shifted = logits - m.max(logits)
    return -m.sum(y * (shifted - m.log(m.sum(m.exp(shifted)))))


def rosen(x, m):
    """The N-d Rosenbrock function."""
    return m.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# The same derivatives written by hand in NumPy: the reference and the baseline.

def pex_grads_hand(p, x, y):
    """Per-example gradients of `example_loss`, batched backprop (one example per row)."""
    z = x @ p["w1"] + p["b1"]
    h = np.maximum(z, 0.0)
    logits = h @ p["w2"] + p["b2"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    d = e / e.sum(axis=1, keepdims=True) * y.sum(axis=1, keepdims=True) - y
    dh = (d @ p["w2"].T) * (z > 0.0)
    return {"w1": x[:, :, None] * dh[:, None, :], "b1": dh,
            "w2": h[:, :, None] * d[:, None, :], "b2": d}


def rosen_hessian_hand(x):
    """The tridiagonal Hessian of `rosen`."""
    n = x.shape[0]
    diag = np.zeros(n)
    diag[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    off = -400.0 * x[:-1]
    return np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)


def rosen_hvp_hand(x, v):
    """Hessian of `rosen` times v, without forming the Hessian."""
    out = np.zeros_like(x)
    out[:-1] = (1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0) * v[:-1] - 400.0 * x[:-1] * v[1:]
    out[1:] += 200.0 * v[1:] - 400.0 * x[:-1] * v[:-1]
    return out


def big_hvp_hand(x, v):
    """Hessian of `big_f` (diagonal: f is a sum of one function per element) times v."""
    s, c, e, t = np.sin(x), np.cos(x), np.exp(-x * x), np.tanh(x)
    return (e * ((4.0 * x * x - 3.0) * s - 4.0 * x * c) + 2.0 * (1.0 - t * t) * (1.0 - x * t)) * v


# --------------------------------------------------------------------------- peers

def load(skip):
    """(fxad, fnp, jax or None, autograd or None, versions, skipped)."""
    skipped = []
    import fxad
    import fxad.numpy as fnp
    try:
        import numba
    except Exception as e:                         # noqa: BLE001
        raise SystemExit(f"fxad.jit needs Numba, which is not importable ({e})") from None
    versions = {"fxad": fxad.__version__, "numba": numba.__version__, "numpy": np.__version__}
    jax, why = H.load_jax(skip)
    if jax is None:
        skipped.append(("jax", why))
    else:
        versions["jax"] = jax.__version__
        versions["jaxlib"] = H.version("jaxlib")
    try:
        if "autograd" in skip:
            raise ImportError("--skip autograd")
        import autograd
        import autograd.numpy   # noqa: F401
    except Exception as e:                         # noqa: BLE001 (any failure means skip)
        autograd = None
        skipped.append(("autograd", f"not importable ({type(e).__name__}: {e})"))
    else:
        versions["autograd"] = H.version("autograd")
    return fxad, fnp, jax, autograd, versions, skipped


def warm_fxad_jit(fn, *args):
    """A fresh fxad.jit function called until it runs compiled; returns (fn, seconds of
    the first (interpreted) call, seconds until it ran compiled: compile or disk load)."""
    t0 = time.perf_counter()
    fn(*args)
    t1 = time.perf_counter()
    jitted(fn)(*args)                              # compiles, runs compiled, checks it
    return fn, t1 - t0, time.perf_counter() - t1


def jax_case(jax, fn, *args):
    """jax.jit's compiled call on device-resident inputs, and its first-call seconds."""
    dev = jax.device_put(args)                     # JAX users hold JAX arrays
    jax.block_until_ready(dev)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*dev))
    return (lambda: jax.block_until_ready(fn(*dev))), time.perf_counter() - t0


# --------------------------------------------------------------------------- the cases
# Each returns (contenders, fxad.jit function, its args, an un-jitted function to trace
# for the vmap-fallback check, first-call seconds by contender).


def pex_cases(fxad, fnp, jax, autograd):
    p, x, y = mlp_data(*PEX_SHAPE)
    loss = functools.partial(example_loss, m=fnp)
    pex = fxad.vmap(fxad.grad(loss), in_axes=(None, 0, 0))
    f, t1, t2 = warm_fxad_jit(fxad.jit(pex), p, x, y)
    first = {"fxad.jit": (t1, t2)}
    cases = [("fxad.jit", lambda: f(p, x, y))]
    if jax is not None:
        import jax.numpy as jnp
        jloss = functools.partial(example_loss, m=jnp)
        jf, first["jax.jit"] = jax_case(
            jax, jax.jit(jax.vmap(jax.grad(jloss), in_axes=(None, 0, 0))), p, x, y)
        cases.append(("jax.jit", jf))
    cases.append(("NumPy by hand", lambda: pex_grads_hand(p, x, y)))
    cases.append(("fxad.vmap (eager)", lambda: pex(p, x, y)))

    xs, ys = list(x), list(y)                      # the loops get one example at a time
    keys = sorted(p)

    def stacked(gs, stack=np.stack):
        return {k: stack([g[k] for g in gs]) for k in keys}

    g1 = fxad.grad(loss)
    cases.append(("loop: fxad.grad",
                  lambda: stacked([g1(p, a, b) for a, b in zip(xs, ys)])))
    gj1, _, _ = warm_fxad_jit(fxad.jit(fxad.grad(loss)), p, xs[0], ys[0])
    cases.append(("loop: fxad.jit(grad)",
                  lambda: stacked([gj1(p, a, b) for a, b in zip(xs, ys)])))
    if jax is not None:
        jg1 = jax.jit(jax.grad(jloss))
        pj = jax.device_put(p)
        xj, yj = [jax.device_put(a) for a in xs], [jax.device_put(b) for b in ys]
        jax.block_until_ready(jg1(pj, xj[0], yj[0]))
        cases.append(("loop: jax.jit(grad)", lambda: jax.block_until_ready(
            stacked([jg1(pj, a, b) for a, b in zip(xj, yj)], jnp.stack))))
    return cases, fxad.jit(pex), (p, x, y), first


def hessian_cases(fxad, fnp, jax, autograd):
    x = np.random.default_rng(1).uniform(-1.5, 1.5, ROSEN_N)
    hess = fxad.hessian(functools.partial(rosen, m=fnp))
    f, t1, t2 = warm_fxad_jit(fxad.jit(hess), x)
    first = {"fxad.jit": (t1, t2)}
    cases = [("fxad.jit", lambda: f(x))]
    if jax is not None:
        import jax.numpy as jnp
        jf, first["jax.jit"] = jax_case(
            jax, jax.jit(jax.hessian(functools.partial(rosen, m=jnp))), x)
        cases.append(("jax.jit", jf))
    cases.append(("NumPy by hand", lambda: rosen_hessian_hand(x)))
    cases.append(("fxad.hessian (eager)", lambda: hess(x)))
    if autograd is not None:
        ah = autograd.hessian(functools.partial(rosen, m=autograd.numpy))
        cases.append(("autograd.hessian", lambda: ah(x)))
    return cases, fxad.jit(hess), (x,), first


def hvp_cases(name, fxad, fnp, jax, autograd):
    fn = {"smooth": big_f, "rosen": rosen}[name]
    rng = np.random.default_rng(2)
    x, v = rng.standard_normal(HVP_N), rng.standard_normal(HVP_N)
    if name == "rosen":
        x = rng.uniform(-1.5, 1.5, HVP_N)

    def make_hvp(jvp, grad, m):
        g = grad(functools.partial(fn, m=m))
        return lambda x, v: jvp(g, (x,), (v,))[1]

    hvp = make_hvp(fxad.jvp, fxad.grad, fnp)
    f, t1, t2 = warm_fxad_jit(fxad.jit(hvp), x, v)
    first = {"fxad.jit": (t1, t2)}
    cases = [("fxad.jit", lambda: f(x, v))]
    if jax is not None:
        import jax.numpy as jnp
        jf, first["jax.jit"] = jax_case(jax, jax.jit(make_hvp(jax.jvp, jax.grad, jnp)), x, v)
        cases.append(("jax.jit", jf))
    hand = {"smooth": big_hvp_hand, "rosen": rosen_hvp_hand}[name]
    cases.append(("NumPy by hand", lambda: hand(x, v)))
    cases.append(("fxad.jvp(grad) (eager)", lambda: hvp(x, v)))
    if autograd is not None:
        ah = autograd.hessian_vector_product(functools.partial(fn, m=autograd.numpy))
        cases.append(("autograd hvp", lambda: ah(x, v)))
    return cases, fxad.jit(hvp), (x, v), first


def settle_allocator():
    """Put glibc's malloc in the state of a process that has already freed a large array,
    so that every case meets the same allocator whatever ran before it (or --case left
    out). glibc serves blocks above its mmap threshold (128 KiB at start) with fresh
    mappings, and returns a heap top above its trim threshold to the system; freeing one
    mmapped block raises both thresholds (to its size, and twice that; at most 32 MiB).
    Freeing a 24 MiB block here means the arrays below (up to 16 MiB) are recycled from
    the heap instead of being mapped and zero-filled again on every call. Elsewhere a
    harmless allocation. Returns the block's size in bytes."""
    block = np.empty(3 * 2 ** 20)                  # 24 MiB, untouched: mapped, then freed
    size = block.nbytes
    del block
    return size


# --------------------------------------------------------------------------- plans

def plan_summary(fxad, fresh_jit, args):
    """What fxad.jit makes of a program, lowered as fxad.jit does. Returns a JSON-able
    dict and the `Lowered` object."""
    from fxad.jaxpr import Lit
    lowered = fresh_jit.lower(*args)
    prog = lowered.program
    known = set(prog.jaxpr.constvars)              # as Program folds constants
    nests, numpy_calls, folded, einsums = [], collections.Counter(), 0, []
    for step in prog.steps:
        if isinstance(step, list):
            nests += [(k.shape, len(k.eqns)) for k in step]
            continue
        if all(type(v) is Lit or v in known for v in step.invars):
            known.update(step.outvars)
            folded += 1
            continue
        numpy_calls[step.prim.name] += 1
        if step.prim.name == "einsum":
            shapes = " x ".join(str(tuple(v.aval.shape)) for v in step.invars)
            einsums.append(f"{step.params.get('spec', '?')} on {shapes}")
    return {"equations": len(prog.jaxpr.eqns),
            "fused_nests": [{"shape": list(s), "equations": n} for s, n in nests],
            "numpy_calls": dict(numpy_calls.most_common()), "folded_at_lowering": folded,
            "einsums": einsums,
            "consts": [list(c.shape) for c in prog.jaxpr.consts]}, lowered


def print_plan(s, first):
    nests = s["fused_nests"]
    fused = sum(n["equations"] for n in nests)
    calls = s["numpy_calls"]
    print(f"  fxad.jit program: {s['equations']} equations after DCE -> "
          f"{len(nests)} fused loop nest(s) ({fused} eqns"
          + (": " + ", ".join(f"{n['equations']} over {tuple(n['shape'])}" for n in nests)
             if nests else "") + f"), {sum(calls.values())} NumPy calls, "
          f"{s['folded_at_lowering']} folded at lowering")
    if calls:
        print("    NumPy calls: " + ", ".join(f"{k} {v}" for k, v in calls.items()))
    for e in s["einsums"]:
        print(f"    einsum {e}")
    if s["consts"]:
        print(f"    baked-in constants: {len(s['consts'])} arrays of shapes "
              + ", ".join(str(tuple(c)) for c in s["consts"][:4])
              + (" ..." if len(s["consts"]) > 4 else ""))
    fx = first.get("fxad.jit")
    if fx:
        text = (f"    first calls: fxad.jit {fx[0] * 1e3:.0f} ms interpreted, then "
                f"{fx[1]:.2f} s to compiled (Numba compile, or load from FXAD_CACHE_DIR)")
        if "jax.jit" in first:
            text += f"; jax.jit first call {first['jax.jit']:.2f} s"
        print(text)


# --------------------------------------------------------------------------- report

def main(argv=None):
    p = H.make_parser(__doc__, "few short rounds (smoke run, < 40 s)", 31, 5,
                      peers=["jax", "autograd"], cases=CASES)
    p.add_argument("--plan", action="store_true",
                   help="also print fxad.jit's full plan (and program) for each case")
    p.add_argument("--no-settle", action="store_true",
                   help="leave malloc as a fresh process has it (results then depend on "
                   "which cases ran before; see settle_allocator)")
    args = p.parse_args(argv)
    rounds, min_batch = H.resolve_common_args(args, 31, 5)
    case_s = 2.5 if args.quick else 20.0           # time budget per table
    todo = set(args.case or CASES)
    t_start = time.perf_counter()

    fxad, fnp, jax, autograd, versions, skipped = load(args.skip)
    env = H.environment(versions, skipped)
    env["allocator_settled_bytes"] = None if args.no_settle else settle_allocator()
    H.print_header("fxad transform benchmarks" + (" (--quick)" if args.quick else ""),
                   env, skipped, rounds, min_batch)
    print(f"  (rounds shrink, to no fewer than 3, where a table would take over {case_s:g} "
          "s; fxad.jit contenders run compiled, jax.jit on device_put inputs)")
    print("  malloc: " + ("left as a fresh process has it (--no-settle): 128 KiB mmap "
                          "threshold until a large block is freed" if args.no_settle else
                          "settled (a 24 MiB block freed first: arrays up to that size are "
                          "recycled, not re-mapped; --no-settle to compare)"))
    results = {"env": env, "rounds": rounds, "min_batch_s": min_batch, "cases": {},
               "plans": {}}

    def run_case(key, title, built, what, faults=False):
        cases, fresh_jit, jit_args, first = built
        H.check_same(key, cases, "NumPy by hand", what=what)
        samples, numbers, flts = H.measure(cases, rounds, min_batch, max_s=case_s,
                                           calibrate_tries=CALIBRATE_TRIES)
        stats = H.summarize(samples, numbers, flts, refs=REFS)
        H.print_table(title, stats, ratios=COLUMNS, faults=faults)
        summary, lowered = plan_summary(fxad, fresh_jit, jit_args)
        summary["first_calls_s"] = first
        print_plan(summary, first)
        if args.plan:
            print("\n" + "\n".join("    " + line for line in str(lowered.jaxpr).splitlines()))
            print("\n" + "\n".join("    " + line for line in lowered.plan.splitlines()))
        results["cases"][key] = stats
        results["plans"][key] = summary
        return stats

    if "pex" in todo:
        n_in, n_hid, n_out, batch = PEX_SHAPE
        run_case("pex", f"(a) per-example gradients: vmap(grad(loss), in_axes=(None, 0, 0)),"
                 f" MLP {n_in}->{n_hid}->{n_out} relu, softmax cross-entropy, {batch} "
                 "examples", pex_cases(fxad, fnp, jax, autograd), "per-example gradients",
                 faults=True)
    if "hessian" in todo:
        run_case("hessian", f"(b) hessian of the {ROSEN_N}-d Rosenbrock function",
                 hessian_cases(fxad, fnp, jax, autograd), "Hessian")
    if "hvp" in todo:
        run_case("hvp_smooth", f"(c) HVP jvp(grad(f), (x,), (v,)), f = sum(sin(x)*exp(-x*x)"
                 f" + tanh(x)*x), N = {HVP_N:.0e}",
                 hvp_cases("smooth", fxad, fnp, jax, autograd), "Hessian-vector product",
                 faults=True)
        run_case("hvp_rosen", f"(c) HVP jvp(grad(f), (x,), (v,)), f = Rosenbrock, "
                 f"N = {HVP_N:.0e}", hvp_cases("rosen", fxad, fnp, jax, autograd),
                 "Hessian-vector product", faults=True)

    print_targets(results["cases"], jax is not None, args.quick)
    return H.finish(results, args.json, t_start)


def print_targets(cases, have_jax, quick=False):
    """The issue's goals, restated with this run's numbers."""
    def line(ok, text):
        print(f"  [{' -- ' if ok is None else 'PASS' if ok else 'FAIL'}] {text}")

    print("\nTargets" + (" (--quick: 5 short rounds, indicative only; judge a full run)"
                         if quick else ""))
    s = cases.get("pex")
    if s is not None:
        fx = s["fxad.jit"]
        if have_jax:
            r = fx["vs_jax"]
            line(r <= 1.5, f"(a) per-example gradients: fxad.jit takes {r:.2f}x jax.jit's "
                 f"time ({H.fmt_time(fx['median_s']).strip()} vs "
                 f"{H.fmt_time(s['jax.jit']['median_s']).strip()}; paired; target <= 1.5x)")
        else:
            line(None, "(a) per-example gradients: jax.jit not benchmarked")
        loop = s["loop: fxad.grad"]["vs_fxad"]
        line(loop >= 20, f"(a) fxad.jit(vmap(grad)) is {loop:.0f}x faster than a Python "
             "loop of fxad.grad over the examples (paired; target >= 20x)")
    s = cases.get("hessian")
    if s is not None:
        parts = [f"{lb} {v['vs_fxad']:.2f}x" for lb, v in s.items() if lb != "fxad.jit"]
        line(None, f"(b) Rosenbrock-{ROSEN_N} Hessian, time / fxad.jit's (paired): "
             + ", ".join(parts) + " (no target)")
    for key, what in (("hvp_smooth", "smooth f"), ("hvp_rosen", "Rosenbrock")):
        s = cases.get(key)
        if s is None:
            continue
        if have_jax:
            r = s["fxad.jit"]["vs_jax"]
            line(r <= 1, f"(c) HVP, {what}, N = {HVP_N:.0e}: fxad.jit takes {r:.2f}x "
                 f"jax.jit's time ({H.fmt_time(s['fxad.jit']['median_s']).strip()} vs "
                 f"{H.fmt_time(s['jax.jit']['median_s']).strip()}; paired; target <= 1)")
        else:
            line(None, f"(c) HVP, {what}: jax.jit not benchmarked")


if __name__ == "__main__":
    main()
