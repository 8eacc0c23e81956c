"""fxad.vmath: the vectorisable float64 maths used by generated kernels.

Every function runs inside an @njit loop, as the kernels call it (compiled once per module
by the `loops` fixture), and is checked for
  * distance in ulps from NumPy over inputs spanning the whole float64 domain (random
    log-uniform magnitudes, both signs, subnormals) and over hypothesis-drawn floats;
  * error in ulps against the exact value (mpmath, when installed), <= 1 ulp;
  * special values: nan, +-inf, signed zeros, overflow/underflow thresholds, subnormals;
  * sin/cos: arguments closest to multiples of pi/2 below 2^30 and libm for larger ones;
  * that the loops really vectorise (LLVM IR has vector types), on AVX2 hosts;
  * that a kernel module using them caches to disk and reloads in a fresh process;
  * that `import fxad` imports neither Numba nor fxad.vmath.
"""
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, strategies as st

numba = pytest.importorskip("numba")

from fxad import vmath  # noqa: E402

NAMES = ["exp", "expm1", "log", "log1p", "sin", "cos", "tanh"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NP_ULPS = 4          # max distance from NumPy's result (NumPy's own error: ~0.5-1.2 ulp here)
EXACT_ULPS = 1.0     # max error against the exact value


def _map_loop(fn):
    @numba.njit(error_model="numpy", nogil=True)
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    return loop


@pytest.fixture(scope="module")
def loops():
    compiled = {}
    for name in NAMES:
        loop = _map_loop(getattr(vmath, f"{name}_f64"))
        loop(np.zeros(1), np.empty(1))
        compiled[name] = loop
    return compiled


@pytest.fixture(scope="module")
def reductions():
    @numba.njit(error_model="numpy", nogil=True)
    def total(x):
        acc = 0.0
        for i in range(x.shape[0]):
            acc = vmath.reassoc_add_f64(acc, vmath.exp_f64(x[i]))
        return acc

    @numba.njit(error_model="numpy", nogil=True)
    def largest(x):
        acc = -np.inf
        for i in range(x.shape[0]):
            acc = vmath.maximum_f64(acc, x[i])
        return acc

    @numba.njit(error_model="numpy", nogil=True)
    def smallest(x):
        acc = np.inf
        for i in range(x.shape[0]):
            acc = vmath.minimum_f64(acc, x[i])
        return acc

    x = np.zeros(3)
    for f in (total, largest, smallest):
        f(x)
    return total, largest, smallest


def run(loops, name, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    loops[name](x, out)
    return out


def numpy_ref(name, x):
    with np.errstate(all="ignore"):
        return getattr(np, name)(np.asarray(x, dtype=np.float64))


def ulp_distance(a, b):
    """|a - b| in units in the last place, counting representable doubles between them
    (0 where both are nan, inf where only one is)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)

    def ordered(v):
        i = v.view(np.int64)
        return np.where(i < 0, np.int64(-0x8000000000000000) - i, i)
    with np.errstate(over="ignore"):
        d = np.abs((ordered(a) - ordered(b)).astype(np.float64))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    d[nan_a & nan_b] = 0.0
    d[nan_a ^ nan_b] = np.inf
    return d


def assert_close_to_numpy(loops, name, x, ulps=NP_ULPS, label=""):
    x = np.asarray(x, dtype=np.float64)
    got, ref = run(loops, name, x), numpy_ref(name, x)
    d = ulp_distance(got, ref)
    i = int(np.argmax(d))
    assert d[i] <= ulps, (f"{name}({x[i]!r}) = {got[i]!r}, NumPy {ref[i]!r}: "
                          f"{d[i]} ulp apart {label}")
    zeros = ref == 0
    assert np.array_equal(np.signbit(got[zeros]), np.signbit(ref[zeros])), \
        f"{name}: sign of zero differs from NumPy"


# --------------------------------------------------------------------------- inputs


def whole_domain(rng, n, signed=True):
    """Log-uniform magnitudes over all of float64, subnormals included."""
    x = np.ldexp(rng.uniform(1.0, 2.0, n), rng.integers(-1074, 1024, n))
    return x * rng.choice([-1.0, 1.0], n) if signed else x


def log_uniform(rng, lo, hi, n, signed=True):
    x = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    return x * rng.choice([-1.0, 1.0], n) if signed else x


def domains(name, rng, n):
    """Named input sets for `name`: the whole float64 line and the ranges that matter."""
    sets = {"whole": whole_domain(rng, n)}
    if name in ("exp", "expm1"):
        sets["core"] = rng.uniform(-750.0, 712.0, n)
        sets["small"] = log_uniform(rng, 1e-20, 2.0, n)
    if name == "exp":
        sets["subnormal results"] = rng.uniform(-745.2, -708.3, n)
    if name in ("log", "log1p"):
        sets["positive"] = whole_domain(rng, n, signed=False)
    if name == "log":
        sets["near 1"] = 1.0 + log_uniform(rng, 1e-16, 0.5, n)
        sets["subnormal"] = np.ldexp(rng.uniform(1.0, 2.0, n), rng.integers(-1074, -1022, n))
    if name == "log1p":
        sets["core"] = rng.uniform(-1.0, 3.0, n)
        sets["near -1"] = -1.0 + log_uniform(rng, 1e-16, 0.5, n, signed=False)
        sets["small"] = log_uniform(rng, 1e-300, 1e-3, n)
    if name in ("sin", "cos"):
        sets["core"] = rng.uniform(-10.0, 10.0, n)
        sets["medium"] = log_uniform(rng, 1e-3, 2.0 ** 31, n)
    if name == "tanh":
        sets["core"] = rng.uniform(-3.0, 3.0, n)
        sets["edges"] = log_uniform(rng, 1e-10, 25.0, n)
    return sets


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("name", NAMES)
def test_close_to_numpy_over_the_domain(loops, name):
    rng = np.random.default_rng(20240607)
    for label, x in domains(name, rng, 20000).items():
        assert_close_to_numpy(loops, name, x, label=f"(inputs: {label})")


@pytest.mark.parametrize("name", NAMES)
@given(data=st.lists(st.floats(width=64), min_size=1, max_size=64))
def test_close_to_numpy_hypothesis(loops, name, data):
    assert_close_to_numpy(loops, name, data)


def exact_ulp_errors(name, x, got):
    """Error of `got` in ulps of the correctly rounded f(x) (mpmath), for finite results."""
    mp = pytest.importorskip("mpmath")
    f = getattr(mp, name)
    errs = []
    with mp.workprec(300):
        for xi, gi in zip(x, got):
            v = f(mp.mpf(float(xi)))
            if isinstance(v, mp.mpc) or mp.isnan(v) or mp.isinf(v):
                continue
            r = float(v)
            if math.isinf(r):
                continue
            ulp = math.ulp(r) if r != 0 else 5e-324
            errs.append(float(abs(mp.mpf(float(gi)) - v)) / ulp)
    return np.array(errs)


@pytest.mark.parametrize("name", NAMES)
def test_error_against_exact_values(loops, name):
    rng = np.random.default_rng(7)
    for label, x in domains(name, rng, 600).items():
        if name in ("sin", "cos"):
            x = x[np.abs(x) < 2.0 ** 30]           # larger: libm's result (tested below)
        with np.errstate(all="ignore"):
            x = x[np.isfinite(numpy_ref(name, x))]
        errs = exact_ulp_errors(name, x, run(loops, name, x))
        assert errs.max() <= EXACT_ULPS, f"{name} on {label}: {errs.max():.3f} ulp"


def _closest_to_multiples_of_pio2(max_exponent):
    """Doubles below 2^(max_exponent+1) nearest to multiples of pi/2: continued-fraction
    convergents M/n of (pi/2) 2^(52-e), x = M 2^(e-52)."""
    mp = pytest.importorskip("mpmath")
    xs = set()
    with mp.workprec(400):
        for e in range(-1, max_exponent + 1):
            a = mp.pi / 2 * mp.mpf(2) ** (52 - e)
            h0, h1 = 0, 1
            k0, k1 = 1, 0
            for _ in range(60):
                q = int(mp.floor(a))
                h0, h1, k0, k1 = h1, q * h1 + h0, k1, q * k1 + k0
                if h1 >= 2 ** 53:
                    break
                for m in (h1 - 1, h1, h1 + 1):
                    if 2 ** 52 <= m < 2 ** 53:
                        xs.add(math.ldexp(m, e - 52))
                if a == q:
                    break
                a = 1 / (a - q)
    return np.array(sorted(xs))


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sincos_hard_reductions(loops, name):
    x = _closest_to_multiples_of_pio2(29)
    x = np.concatenate([x, -x])
    errs = exact_ulp_errors(name, x, run(loops, name, x))
    assert errs.max() <= EXACT_ULPS
    assert_close_to_numpy(loops, name, x)


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sincos_huge_arguments_are_libms(loops, name):
    rng = np.random.default_rng(3)
    x = np.concatenate([log_uniform(rng, 2.0 ** 30, 1.7e308, 3000),
                        [2.0 ** 30, -(2.0 ** 30), np.nextafter(2.0 ** 30, 0), 1e22,
                         1.7976931348623157e308, -1.7976931348623157e308]])
    got = run(loops, name, x)
    ref = np.array([getattr(math, name)(v) for v in x])
    below = np.abs(x) < 2.0 ** 30
    assert np.array_equal(got[~below], ref[~below])
    assert ulp_distance(got[below], ref[below]).max() <= 1


# --------------------------------------------------------------------------- special values

INF, NAN = np.inf, np.nan
DMAX, DMIN, TRUE_MIN = 1.7976931348623157e308, 2.2250738585072014e-308, 5e-324

SPECIAL = {
    "exp": [(NAN, NAN), (INF, INF), (-INF, 0.0), (0.0, 1.0), (-0.0, 1.0),
            (709.782712893384, 1.7976931348622732e308), (709.7827128933841, INF),
            (-745.1332191019411, TRUE_MIN), (-745.1332191019412, 0.0),
            (-708.3964185322641, 2.2250738585072626e-308), (1e-300, 1.0), (DMAX, INF),
            (-DMAX, 0.0), (1.0, 2.718281828459045)],
    "expm1": [(NAN, NAN), (INF, INF), (-INF, -1.0), (0.0, 0.0), (-0.0, -0.0),
              (TRUE_MIN, TRUE_MIN), (-TRUE_MIN, -TRUE_MIN), (1e-300, 1e-300), (-40.0, -1.0),
              (709.782712893384, 1.7976931348622732e308), (709.7827128933841, INF)],
    "log": [(NAN, NAN), (INF, INF), (-INF, NAN), (0.0, -INF), (-0.0, -INF), (-1.0, NAN),
            (-TRUE_MIN, NAN), (1.0, 0.0), (TRUE_MIN, -744.4400719213812),
            (DMIN, -708.3964185322641), (DMAX, 709.782712893384), (2.0, 0.6931471805599453)],
    "log1p": [(NAN, NAN), (INF, INF), (-INF, NAN), (0.0, 0.0), (-0.0, -0.0), (-1.0, -INF),
              (-1.5, NAN), (TRUE_MIN, TRUE_MIN), (-TRUE_MIN, -TRUE_MIN), (DMAX, 709.782712893384),
              (1e-300, 1e-300)],
    "sin": [(NAN, NAN), (INF, NAN), (-INF, NAN), (0.0, 0.0), (-0.0, -0.0),
            (TRUE_MIN, TRUE_MIN), (-TRUE_MIN, -TRUE_MIN), (1e-300, 1e-300),
            (-1e-10, -1e-10), (1e22, -0.8522008497671888)],
    "cos": [(NAN, NAN), (INF, NAN), (-INF, NAN), (0.0, 1.0), (-0.0, 1.0), (TRUE_MIN, 1.0),
            (-1e-300, 1.0), (1e-8, 1.0)],
    "tanh": [(NAN, NAN), (INF, 1.0), (-INF, -1.0), (0.0, 0.0), (-0.0, -0.0),
             (TRUE_MIN, TRUE_MIN), (-TRUE_MIN, -TRUE_MIN), (1e-300, 1e-300), (25.0, 1.0),
             (-25.0, -1.0), (DMAX, 1.0), (-DMAX, -1.0)],
}


@pytest.mark.parametrize("name", NAMES)
def test_special_values(loops, name):
    x = np.array([c[0] for c in SPECIAL[name]])
    want = np.array([c[1] for c in SPECIAL[name]])
    got = run(loops, name, x)
    for xi, g, w in zip(x, got, want):
        assert (math.isnan(g) and math.isnan(w)) or (g == w and np.signbit(g) == np.signbit(w)), \
            f"{name}({xi!r}) = {g!r}, want {w!r}"
    assert_close_to_numpy(loops, name, x, ulps=1)


def test_exp_and_log_thresholds(loops):
    """Walk across exp's overflow, subnormal and underflow thresholds and log's subnormal
    inputs one double at a time."""
    def around(v, k=40):
        lo, hi = v, v
        out = [v]
        for _ in range(k):
            lo, hi = np.nextafter(lo, -INF), np.nextafter(hi, INF)
            out += [lo, hi]
        return np.array(out)
    for v in (709.782712893384, -745.1332191019411, -708.3964185322641, -744.4400719213812,
              -709.0896, -740.0):
        assert_close_to_numpy(loops, "exp", around(v), ulps=1)
    sub = np.concatenate([np.arange(1, 200) * TRUE_MIN, np.ldexp(1.0, np.arange(-1074, -1020)),
                          np.nextafter(DMIN, 0) - np.arange(50) * TRUE_MIN])
    assert_close_to_numpy(loops, "log", sub, ulps=1)
    assert_close_to_numpy(loops, "log", np.ldexp(1.0, np.arange(-1074, 1024)), ulps=1)


def test_non_float_arguments_are_converted():
    @numba.njit
    def f(i):
        return vmath.exp_f64(i), vmath.sin_f64(i), vmath.log_f64(i)
    assert f(1) == (math.exp(1), math.sin(1), 0.0)


# --------------------------------------------------------------------------- reductions


def test_reduction_helpers(reductions):
    total, largest, smallest = reductions
    rng = np.random.default_rng(5)
    x = rng.uniform(-5.0, 5.0, 10001)
    assert total(x) == pytest.approx(math.fsum(np.exp(x)), rel=1e-14)
    assert largest(x) == x.max() and smallest(x) == x.min()
    y = x.copy()
    y[1234] = NAN
    assert math.isnan(total(y)) and math.isnan(largest(y)) and math.isnan(smallest(y))
    z = np.array([-0.0, 0.0, -0.0])
    assert not np.signbit(largest(z)) and np.signbit(smallest(z))
    assert largest(np.array([-INF])) == -INF and smallest(np.array([INF])) == INF


# --------------------------------------------------------------------------- vectorisation


def _host_has_avx2():
    from llvmlite import binding
    try:
        return bool(binding.get_host_cpu_features().get("avx2", False))
    except RuntimeError:
        return False


@pytest.mark.skipif(not _host_has_avx2(), reason="vector width is only asserted on AVX2+")
def test_loops_vectorise(loops, reductions):
    import re
    for name, loop in list(loops.items()) + [(f.__name__, f) for f in reductions]:
        ir = loop.inspect_llvm(loop.signatures[0])
        widths = {int(w) for w in re.findall(r"<(\d+) x double>", ir)}
        assert widths and max(widths) >= 4, f"{name}: loop not vectorised ({widths})"


# --------------------------------------------------------------------------- integration


def test_kernel_module_caches_and_reloads(tmp_path):
    """A generated-kernel-like module (cache=True) compiles, then loads from Numba's disk
    cache in a fresh process, where the libm symbols for huge sin/cos must resolve too."""
    (tmp_path / "vm_kernel.py").write_text(textwrap.dedent("""
        import numpy as np
        import numba
        from fxad.vmath import exp_f64, log_f64, sin_f64, cos_f64, tanh_f64, reassoc_add_f64

        @numba.njit(cache=True, error_model='numpy', nogil=True)
        def kernel(x):
            out = np.empty_like(x)
            acc = 0.0
            for i in range(x.shape[0]):
                a = x[i]
                v = sin_f64(a) * exp_f64(-a * a) + tanh_f64(a) * a + cos_f64(a) + log_f64(a * a)
                out[i] = v
                acc = reassoc_add_f64(acc, v)
            return out, acc
        """))
    script = textwrap.dedent("""
        import json, numpy as np, vm_kernel
        x = np.array(json.loads(input()))
        out, acc = vm_kernel.kernel(x)
        hits = sum(vm_kernel.kernel.stats.cache_hits.values())
        print(json.dumps({"out": out.tolist(), "acc": acc, "hits": hits}))
        """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), REPO]))
    x = [0.5, -3.0, 1e22, -1e150, 7.0, 2.0 ** 40, 0.1, 1e-3]
    runs = [subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                           input=json.dumps(x), capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["hits"] == 0 and second["hits"] == 1, "not reloaded from Numba's cache"
    assert first["out"] == second["out"] and first["acc"] == second["acc"]
    x = np.array(x)
    ref = np.sin(x) * np.exp(-x * x) + np.tanh(x) * x + np.cos(x) + np.log(x * x)
    np.testing.assert_allclose(first["out"], ref, rtol=1e-14)
    assert first["acc"] == pytest.approx(math.fsum(ref), rel=1e-14)


def test_import_fxad_does_not_import_numba_or_vmath():
    code = ("import sys, fxad; bad = [m for m in ('numba', 'fxad.vmath', 'llvmlite') "
            "if m in sys.modules]; assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    assert r.returncode == 0, r.stderr
