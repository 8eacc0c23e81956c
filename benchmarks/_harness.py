"""The timing and reporting harness shared by the benchmark scripts (bench_eager.py,
bench_jit.py). Not a benchmark itself, and not part of the test suite.

Import it FIRST, before NumPy, Numba or JAX: importing it pins every numeric library to
one thread (and the process to one core), CPU only, float64 in JAX, and puts this working tree's fxad on `sys.path`.

What it provides:

- `measure`: round-robin timing of several contenders in one process (each round times
  one batch of every contender, from a rotating start), with calibrated batch sizes and
  minor page-fault counts; `summarize`: medians, quartiles and *paired* ratios (per
  round, this contender's time over a reference's, then the median).
- `check_same`: every contender's result equals the reference's before anything is timed.
- `print_table`, `fmt_time`, `fmt_ratio`: the tables.
- `load_jax`, `version`, `environment`, `print_header`, `make_parser`: the run's setup.
- `probe_env`, `run_probe`: fresh interpreters that import this tree's fxad (with a
  private bytecode cache) and report one JSON line.
"""
import os
import sys


def _single_thread_env():
    """Single thread, CPU only, float64 in JAX: must happen before NumPy or JAX load."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    xla = os.environ.get("XLA_FLAGS", "")
    for flag in ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1"):
        if flag.split("=")[0] not in xla:
            xla = (xla + " " + flag).strip()
    os.environ["XLA_FLAGS"] = xla
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["JAX_ENABLE_X64"] = "1"
    # JAX 0.10's CPU runtime runs dots on a thread pool whatever XLA_FLAGS say (measured:
    # 2 cores busy for one matmul): pin the process, and the probes it spawns, to one core
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


_single_thread_env()

import argparse        # noqa: E402
import gc              # noqa: E402
import json            # noqa: E402
import platform        # noqa: E402
import statistics      # noqa: E402
import subprocess      # noqa: E402
import time            # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np     # noqa: E402

try:
    import resource    # noqa: E402  (Unix only: page-fault counts)
except ImportError:
    resource = None

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))          # benchmark the working tree's fxad

# Paired-ratio columns of the eager tables: (JSON key, reference contender).
EAGER_REFS = (("vs_fxad", "fxad.grad"), ("vs_numpy", "NumPy by hand"))
EAGER_COLUMNS = (("vs fxad", "vs_fxad"), ("vs NumPy", "vs_numpy"))


# --------------------------------------------------------------------------- setup

def version(dist):
    """Installed version of a distribution, or "?"."""
    try:
        from importlib.metadata import version as _v
        return _v(dist)
    except Exception:                              # noqa: BLE001
        return "?"


def load_jax(skip=()):
    """(jax, None) with float64 on CPU, or (None, reason) if it cannot be used."""
    try:
        if "jax" in skip:
            raise ImportError("--skip jax")
        import jax
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import jax.numpy as jnp
        jnp.zeros(1).block_until_ready()
    except Exception as e:                         # noqa: BLE001 (any failure means skip)
        return None, f"not importable ({type(e).__name__}: {e})"
    return jax, None


def make_parser(doc, quick_help, rounds_default, rounds_quick, peers, cases,
                batch_default=0.025, batch_quick=0.004):
    """The argument parser every benchmark script shares: --quick, --rounds, --min-batch,
    --json, --skip PEER and --case CASE (scripts add their own options after)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--rounds", type=int, help=f"timed rounds per case (default "
                        f"{rounds_default}, quick {rounds_quick})")
    parser.add_argument("--min-batch", type=float,
                        help=f"seconds per timed batch (default {batch_default:g}, "
                        f"quick {batch_quick:g})")
    parser.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    parser.add_argument("--skip", action="append", default=[], choices=list(peers),
                        help="leave this peer out (repeatable)")
    parser.add_argument("--case", action="append", choices=list(cases),
                        help="run only this case (repeatable; default all)")
    return parser


def resolve_common_args(args, rounds_default, rounds_quick, batch_default=0.025,
                        batch_quick=0.004):
    """(rounds, min_batch_s) from the parsed common arguments."""
    rounds = args.rounds or (rounds_quick if args.quick else rounds_default)
    min_batch = args.min_batch or (batch_quick if args.quick else batch_default)
    return rounds, min_batch


def environment(versions, skipped):
    """The machine, interpreter, versions and thread settings of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"python": platform.python_version(), "executable": sys.executable,
            "platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "versions": dict(versions),
            "skipped": dict(skipped),
            "threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "MKL_NUM_THREADS", "XLA_FLAGS")}}


def print_header(title, env, skipped, rounds, min_batch):
    print(title)
    print(f"  python {env['python']} ({env['executable']}), {env['cpu']}, "
          f"{env['cpu_count']} cpus; single-threaded")
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    for label, why in skipped:
        print(f"  skipped {label}: {why}")
    print(f"  {rounds} interleaved rounds per case, batches of >= {min_batch * 1e3:g} ms; "
          "times are medians over rounds")


# --------------------------------------------------------------------------- timing

def calibrate_timed(fn, min_batch_s, tries=1):
    """(calls per timed batch so that one batch lasts at least `min_batch_s`, seconds
    that batch took). With `tries` > 1, a batch long enough is timed up to `tries` times
    (the shortest counts), so that one call slowed by the machine (a preempted call on a
    busy machine) does not fix the batch at too few calls."""
    def timed(n):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t0

    n = 1
    while True:
        dt = timed(n)
        for _ in range(tries - 1):
            if dt < min_batch_s:
                break
            dt = min(dt, timed(n))
        if dt >= min_batch_s:
            return n, dt
        n = max(n * 2, int(n * min_batch_s / max(dt, 1e-9) * 1.2))


def calibrate(fn, min_batch_s):
    """Calls per timed batch so that one batch lasts at least `min_batch_s`."""
    return calibrate_timed(fn, min_batch_s)[0]


def measure(cases, rounds, min_batch_s, max_s=None, min_rounds=3, calibrate_tries=1):
    """Seconds per call of each (label, fn) in `cases`, timed round-robin.

    Each round times one batch of every contender, starting from a rotating position, so
    that a slow drift of the machine hits all contenders alike. GC stays enabled (it is
    part of what a library costs) but is collected before each round. With `max_s`, the
    number of rounds shrinks (not below `min_rounds`) so that the timed rounds take about
    `max_s` seconds, judged from the calibration batches. `calibrate_tries`: see
    `calibrate_timed`. Returns (samples, numbers, faults): {label: per-round seconds per
    call}, {label: calls per batch}, {label: per-round minor page faults per call}.
    """
    numbers, round_s = {}, 0.0
    for label, fn in cases:
        numbers[label], dt = calibrate_timed(fn, min_batch_s, calibrate_tries)
        round_s += dt
    if max_s is not None and round_s > 0:
        rounds = max(min(rounds, int(max_s / round_s)), min(min_rounds, rounds))
    samples = {label: [] for label, _ in cases}
    faults = {label: [] for label, _ in cases}
    k = len(cases)
    for r in range(rounds):
        gc.collect()
        for label, fn in cases[r % k:] + cases[:r % k]:
            n = numbers[label]
            f0 = minor_faults()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[label].append((time.perf_counter() - t0) / n)
            faults[label].append((minor_faults() - f0) / n)
    return samples, numbers, faults


def minor_faults():
    """Minor page faults so far (fresh memory pages the kernel had to zero-fill)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


def summarize(samples, numbers, faults, ops=None, refs=EAGER_REFS):
    """Median and quartiles per contender, and paired ratios: for each (key, reference) in
    `refs`, the median over rounds of (this contender / reference) measured in the same
    round, which cancels most of the machine's drift. `ops` maps labels to ops per call
    (ratios then compare cost per op)."""
    ops = ops or {}
    out = {}
    for label, s in samples.items():
        q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0]] * 3
        out[label] = {"median_s": statistics.median(s), "p25_s": q[0], "p75_s": q[2],
                      "min_s": min(s), "rounds": len(s), "calls_per_batch": numbers[label],
                      "ops_per_call": ops.get(label, 1),
                      "page_faults_per_call": statistics.median(faults[label])}
    for key, base in refs:
        if base not in samples:
            continue
        for label, s in samples.items():
            scale = ops.get(base, 1) / ops.get(label, 1)
            out[label][key] = statistics.median(
                a / b * scale for a, b in zip(s, samples[base]))
    return out


# --------------------------------------------------------------------------- checking

def as_arrays(g):
    """A result as a list of float64 arrays (tuples/lists in order, dicts by key)."""
    if isinstance(g, dict):
        return [a for k in sorted(g) for a in as_arrays(g[k])]
    if isinstance(g, (tuple, list)):
        return [np.asarray(x, dtype=np.float64) for x in g]
    return [np.asarray(g, dtype=np.float64)]


def check_same(case_name, cases, reference_label, what="gradient", rtol=1e-7):
    """Every contender's result equals the reference contender's (run before timing);
    a mismatch raises AssertionError. Returns the reference's arrays."""
    results = {label: as_arrays(fn()) for label, fn in cases}
    ref = results[reference_label]
    for label, got in results.items():
        assert len(got) == len(ref), f"{case_name}: {label} returned {len(got)} {what}s"
        for g, r in zip(got, ref):
            scale = float(np.max(np.abs(r))) if r.size else 1.0
            if g.shape != r.shape or not np.allclose(g, r, rtol=rtol, atol=1e-9 * scale):
                err = (float(np.max(np.abs(g - r))) if g.shape == r.shape
                       else f"shape {g.shape} vs {r.shape}")
                err = err if isinstance(err, str) else f"{err:.3g}"
                raise AssertionError(f"{case_name}: {label}'s {what} differs from "
                                     f"{reference_label}'s (max abs error {err})")
    return ref


# --------------------------------------------------------------------------- report

def fmt_time(s):
    for unit, f in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
        if s >= 1.0 / f:
            return f"{s * f:7.3g} {unit}"
    return f"{s * 1e9:7.3g} ns"


def fmt_ratio(x):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}x"
    if x >= 0.995:
        return f"{x:.2f}x"
    return f"{x:.2g}x"


def print_table(title, stats, per_op=False, faults=False, ratios=EAGER_COLUMNS, extra=()):
    """Rows: contenders; columns: median per call, (µs/op), IQR spread, the paired ratios
    `ratios` ((header, key) pairs), `extra` columns ((header, width, fn(label, stats) ->
    text) triples), (minor page faults per call), calls x rounds."""
    print(f"\n{title}")
    head = f"  {'contender':<24}{'median/call':>12}"
    if per_op:
        head += f"{'µs/op':>10}"
    head += f"{'IQR':>8}" + "".join(f"{h:>10}" for h, _ in ratios)
    head += "".join(f"{h:>{w}}" for h, w, _ in extra)
    if faults and resource:
        head += f"{'faults/call':>13}"
    head += f"{'calls x rounds':>16}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for label, s in stats.items():
        med = s["median_s"]
        row = f"  {label:<24}{fmt_time(med):>12}"
        if per_op:
            row += f"{med / s['ops_per_call'] * 1e6:10.3g}"
        row += f"{(s['p75_s'] - s['p25_s']) / med * 100:7.1f}%"
        row += "".join(f"{fmt_ratio(s.get(key)):>10}" for _, key in ratios)
        row += "".join(f"{fn(label, s):>{w}}" for _, w, fn in extra)
        if faults and resource:
            row += f"{s['page_faults_per_call']:13.0f}"
        row += f"{s['calls_per_batch']:>9} x {s['rounds']:<4}"
        print(row)


# --------------------------------------------------------------------------- fresh processes

def probe_env(pycache, **extra):
    """Environment for a fresh interpreter that imports this tree's fxad: this process's
    (single-thread) settings, the repository first on PYTHONPATH, bytecode cached in the
    private folder `pycache` (PYTHONPYCACHEPREFIX) even where PYTHONDONTWRITEBYTECODE is
    set, so nothing is written into the repository; `extra` variables set (None: unset)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]]
                                                      if env.get("PYTHONPATH") else []))
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_probe(code, env, what="probe", args=()):
    """Run `code` in a fresh interpreter; returns its last stdout line parsed as JSON, with
    "wall_start" added: time.time() just before the process was started (so a probe that
    reports time.time() can say how long after its own start something happened)."""
    wall_start = time.time()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=str(REPO),
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{what} failed in a fresh process:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_start"] = wall_start
    return result


def finish(results, json_path, t_start):
    """Print the total time and write `results` as JSON if asked; returns `results`."""
    print(f"\n  total benchmark time {time.perf_counter() - t_start:.1f} s")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2)
        print(f"  results written to {json_path}")
    return results
