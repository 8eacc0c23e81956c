"""Generate docs/coverage.md: which transforms each public function supports.

Every function of `fxad.numpy` (and of `fxad.numpy.linalg` and `fxad.scipy.special`, when
those modules exist) is run on a small fixed sample input, eagerly and under each
transform, and the table records what happened:

* differentiable (fwd / rev): `fxad.jvp` / `fxad.vjp` run and give a nonzero derivative
  ("yes"), a derivative that is zero everywhere ("zero": piecewise-constant functions),
  fail ("no"), or the result is integer/boolean ("—": nothing to differentiate);
* vmap: `fxad.vmap` over a batch of two inputs equals a loop over them ("yes");
* jit: `fxad.jit` gives the eager result ("yes"); "no (concrete)" means the function needs
  concrete values (its result's shape depends on them).

Deterministic: fixed inputs, no timing. Run `python docs/gen_coverage.py` after adding a
function; tests/test_numpy_more.py fails while docs/coverage.md is stale.
"""
import importlib
import inspect
import pathlib
import sys
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import fxad                                           # noqa: E402
import fxad.numpy as fnp                              # noqa: E402
from fxad.errors import ConcretizationTypeError       # noqa: E402

V = np.array([0.3, -0.6, 0.45, 1.2])                  # distinct, no ties
W = np.array([0.7, 0.2, -1.1, 0.55])
P = np.array([0.35, 0.6, 0.45, 0.8])                  # inside (0, 1)
M = np.array([[0.3, -0.6, 0.45, 1.2], [0.15, 0.9, -0.2, 0.65], [-1.0, 0.05, 0.4, 0.75]])
S = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.2]])   # symmetric positive
I4 = np.array([3, 0, 1, 2])
S0 = np.float64(0.4)

# Functions whose result is metadata (a shape, a dtype, a Python bool), or a constant
# built from sizes alone: nothing to differentiate, batch or stage.
STATIC = {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "isscalar"}
CONSTANT = {"zeros", "ones", "full", "empty", "arange", "eye", "identity"}

# name -> (function of the float arguments, float arguments); the default is `f(V)`.
SAMPLES = {
    "arccosh": (fnp.arccosh, (V + 2,)), "acosh": (fnp.acosh, (V + 2,)),
    "arcsin": (fnp.arcsin, (P,)), "arccos": (fnp.arccos, (P,)), "arctanh": (fnp.arctanh, (P,)),
    "asin": (fnp.asin, (P,)), "acos": (fnp.acos, (P,)), "atanh": (fnp.atanh, (P,)),
    "log": (fnp.log, (P,)), "log2": (fnp.log2, (P,)), "log10": (fnp.log10, (P,)),
    "sqrt": (fnp.sqrt, (P,)), "reciprocal": (fnp.reciprocal, (P,)),
    "power": (fnp.power, (P, W)), "pow": (fnp.pow, (P, W)),
    "float_power": (fnp.float_power, (P, W)),
    "floor_divide": (fnp.floor_divide, (V, W)), "remainder": (fnp.remainder, (V, W)),
    "mod": (fnp.mod, (V, W)), "fmod": (fnp.fmod, (V, W)), "divmod": (fnp.divmod, (V, W)),
    "invert": (lambda x: fnp.invert(x > 0), (V,)),
    "bitwise_not": (lambda x: fnp.bitwise_not(x > 0), (V,)),
    "bitwise_invert": (lambda x: fnp.bitwise_invert(x > 0), (V,)),
    "bitwise_and": (lambda x, y: fnp.bitwise_and(x > 0, y > 0), (V, W)),
    "bitwise_or": (lambda x, y: fnp.bitwise_or(x > 0, y > 0), (V, W)),
    "bitwise_xor": (lambda x, y: fnp.bitwise_xor(x > 0, y > 0), (V, W)),
    "round": (lambda x: fnp.round(x, 1), (V + 0.02,)),
    "around": (lambda x: fnp.around(x, 1), (V + 0.02,)),
    "clip": (lambda x: fnp.clip(x, -0.5, 0.5), (V,)),
    "where": (lambda x, y: fnp.where(x > 0, x, y), (V, W)),
    "astype": (lambda x: fnp.astype(x, np.float32), (V,)),
    "ldexp": (lambda x: fnp.ldexp(x, I4), (V,)),
    "heaviside": (fnp.heaviside, (V, W)),
    "reshape": (lambda x: fnp.reshape(x, (2, -1)), (V,)),
    "transpose": (fnp.transpose, (M,)), "swapaxes": (lambda x: fnp.swapaxes(x, 0, 1), (M,)),
    "moveaxis": (lambda x: fnp.moveaxis(x, 0, 1), (M,)),
    "rollaxis": (lambda x: fnp.rollaxis(x, 1), (M,)),
    "permute_dims": (lambda x: fnp.permute_dims(x, (1, 0)), (M,)),
    "matrix_transpose": (fnp.matrix_transpose, (M,)),
    "squeeze": (lambda x: fnp.squeeze(x[None]), (V,)),
    "expand_dims": (lambda x: fnp.expand_dims(x, 0), (V,)),
    "broadcast_to": (lambda x: fnp.broadcast_to(x, (2, 4)), (V,)),
    "broadcast_arrays": (lambda x, y: fnp.broadcast_arrays(x, y[:, None]), (V, W)),
    "concatenate": (lambda x, y: fnp.concatenate([x, y]), (V, W)),
    "concat": (lambda x, y: fnp.concat([x, y]), (V, W)),
    "stack": (lambda x, y: fnp.stack([x, y]), (V, W)),
    "vstack": (lambda x, y: fnp.vstack([x, y]), (V, W)),
    "hstack": (lambda x, y: fnp.hstack([x, y]), (V, W)),
    "dstack": (lambda x, y: fnp.dstack([x, y]), (V, W)),
    "column_stack": (lambda x, y: fnp.column_stack([x, y]), (V, W)),
    "row_stack": (lambda x, y: fnp.row_stack([x, y]), (V, W)),
    "split": (lambda x: fnp.split(x, 2), (V,)),
    "array_split": (lambda x: fnp.array_split(x, 3), (V,)),
    "hsplit": (lambda x: fnp.hsplit(x, 2), (M,)), "vsplit": (lambda x: fnp.vsplit(x, 3), (M,)),
    "dsplit": (lambda x: fnp.dsplit(x[..., None].repeat(2, -1), 2), (M,)),
    "unstack": (fnp.unstack, (M,)),
    "nonzero": (lambda x: fnp.nonzero(x > 0), (V,)),
    "flatnonzero": (lambda x: fnp.flatnonzero(x > 0), (V,)),
    "argwhere": (lambda x: fnp.argwhere(x > 0), (V,)),
    "any": (lambda x: fnp.any(x > 0), (V,)), "all": (lambda x: fnp.all(x > 0), (V,)),
    "average": (lambda x, w: fnp.average(x, weights=w), (V, P)),
    "einsum": (lambda a, b: fnp.einsum("ij,j->i", a, b), (M, V)),
    "dot": (fnp.dot, (M, V)), "matmul": (fnp.matmul, (M, V)),
    "tensordot": (lambda a, b: fnp.tensordot(a, b, 1), (M, V)),
    "outer": (fnp.outer, (V, W)), "kron": (fnp.kron, (V, W)),
    "cross": (lambda a, b: fnp.cross(a[:3], b[:3]), (V, W)),
    "zeros_like": (fnp.zeros_like, (V,)), "ones_like": (fnp.ones_like, (V,)),
    "empty_like": (fnp.empty_like, (V,)),
    "full_like": (lambda x: fnp.full_like(x, 2.0), (V,)),
    "linspace": (lambda a, b: fnp.linspace(a, b, 5), (S0, S0 + 1)),
    "logspace": (lambda a, b: fnp.logspace(a, b, 5), (S0, S0 + 1)),
    "fliplr": (fnp.fliplr, (M,)), "rot90": (fnp.rot90, (M,)),
    "roll": (lambda x: fnp.roll(x, 1), (V,)), "tile": (lambda x: fnp.tile(x, 2), (V,)),
    "repeat": (lambda x: fnp.repeat(x, 2), (V,)),
    "diagonal": (fnp.diagonal, (M,)), "trace": (fnp.trace, (M,)),
    "tril": (fnp.tril, (M,)), "triu": (fnp.triu, (M,)),
    "pad": (lambda x: fnp.pad(x, 2, mode="reflect"), (V,)),
    "take": (lambda x: fnp.take(x, I4), (V,)),
    "take_along_axis": (lambda x: fnp.take_along_axis(x, I4, 0), (V,)),
    "select": (lambda x, y: fnp.select([x > 0], [y]), (V, W)),
    "delete": (lambda x: fnp.delete(x, 1), (V,)),
    "append": (fnp.append, (V, W)),
    "meshgrid": (fnp.meshgrid, (V, W)),
    "partition": (lambda x: fnp.partition(x, 2), (V,)),
    "argpartition": (lambda x: fnp.argpartition(x, 2), (V,)),
    "searchsorted": (lambda x: fnp.searchsorted(fnp.sort(x), W), (V,)),
    "digitize": (lambda x: fnp.digitize(x, np.array([-1.0, 0.0, 1.0])), (V,)),
    "unique": (lambda x: fnp.unique(fnp.round(x)), (V,)),
    "quantile": (lambda x: fnp.quantile(x, 0.3), (V,)),
    "percentile": (lambda x: fnp.percentile(x, 30), (V,)),
    "nanquantile": (lambda x: fnp.nanquantile(x, 0.3), (V,)),
    "nanpercentile": (lambda x: fnp.nanpercentile(x, 30), (V,)),
    "cov": (fnp.cov, (M,)), "corrcoef": (fnp.corrcoef, (M,)),
    "ediff1d": (fnp.ediff1d, (V,)),
    "convolve": (fnp.convolve, (V, W[:2])), "correlate": (fnp.correlate, (V, W[:2])),
    "interp": (lambda x, f: fnp.interp(x, np.array([-1.0, 0.0, 1.0, 2.0]), f), (V, W)),
    "polyval": (fnp.polyval, (W, V)),
    "cumulative_sum": (lambda x: fnp.cumulative_sum(x, include_initial=True), (V,)),
    "at": (lambda x, v: fnp.at(x)[1:3].set(v), (V, W[:2])),
}


# Samples for the other modules' functions that their signatures cannot suggest.
MODULE_SAMPLES = {
    "fxad.numpy.linalg": {
        "multi_dot": lambda mod: (lambda a, b, c: mod.multi_dot([a, b, c]), (S, M, V)),
    },
}


def _leaves(x):
    return fxad.tree_util.tree_leaves(x)


def _is_float(x):
    return np.asarray(x).dtype.kind in "fc"


def _close(a, b):
    la, lb = _leaves(a), _leaves(b)
    return len(la) == len(lb) and all(
        np.shape(x) == np.shape(y) and np.allclose(np.asarray(x, float), np.asarray(y, float),
                                                   rtol=1e-9, atol=1e-12, equal_nan=True)
        for x, y in zip(la, lb))


def _derivative(run):
    try:
        leaves = _leaves(run())
    except Exception:                                 # noqa: BLE001 (recorded as "no")
        return "no"
    values = [np.asarray(x, float) for x in leaves if _is_float(x)]
    return "yes" if any(np.any(v != 0) for v in values) else "zero"


def _weights(v, k=0):
    """A fixed, uneven direction like `v` (uneven: a softmax's outputs sum to a constant),
    different for each argument `k` (`x - y` must not look constant)."""
    v = np.asarray(v)
    if not _is_float(v):
        return np.zeros_like(v)
    return np.asarray(0.5 + 0.37 * k + np.arange(v.size).reshape(v.shape) * 0.25, v.dtype)


def probe(fn, args):
    """(differentiable, vmap, jit) cells for `fn(*args)`."""
    out = fn(*args)
    if not any(_is_float(x) for x in _leaves(out)):
        diff = "—"
    else:
        direction = tuple(_weights(a, k) for k, a in enumerate(args))

        def rev():
            y, pullback = fxad.vjp(fn, *args)
            return pullback(fxad.tree_util.tree_map(_weights, y))
        diff = f"{_derivative(lambda: fxad.jvp(fn, args, direction)[1])} / {_derivative(rev)}"
    try:
        batch = [np.stack([a, a * 1.01 + 0.003]) for a in args]
        got = fxad.vmap(fn)(*batch)
        loop = [fn(*[b[k] for b in batch]) for k in range(2)]
        expected = fxad.tree_util.tree_map(lambda *r: np.stack(r), *loop)
        vmap = "yes" if _close(got, expected) else "wrong"
    except Exception:                                 # noqa: BLE001
        vmap = "no"
    try:
        jit = "yes" if _close(fxad.jit(fn)(*args), out) else "wrong"
    except ConcretizationTypeError:
        jit = "no (concrete)"
    except Exception:                                 # noqa: BLE001
        jit = "no"
    return diff, vmap, jit


_INTEGER_PARAMS = {"n", "k", "m", "order", "deg", "ord"}


def _candidates(module_name, fn):
    """Sample calls for a function without an entry in SAMPLES, from its signature:
    required parameters named like counts get the integer 2, the others sample arrays."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                         p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if module_name.endswith("linalg"):
        floats = [(S,), (S, S), (S, V[:3]), (V[:3], W[:3]), (M,)]
    else:
        floats = [(P,), (P, W), (S,)]
    ints = [i for i, p in enumerate(params) if p.name in _INTEGER_PARAMS]
    out = []
    for arrays in floats:
        if params and len(arrays) != len(params) - len(ints):
            continue
        out.append((_with_ints(fn, ints, len(params)), arrays))
    return out or [(fn, a) for a in floats]


def _with_ints(fn, ints, n):
    if not ints:
        return fn

    def call(*arrays):
        it = iter(arrays)
        return fn(*[2 if i in ints else next(it) for i in range(n)])
    return call


def rows(module_name, module):
    names = sorted(getattr(module, "__all__", None) or
                   [n for n in dir(module) if not n.startswith("_")
                    and callable(getattr(module, n))])
    out = []
    for name in names:
        fn = getattr(module, name)
        if not callable(fn) or isinstance(fn, type) or isinstance(fn, type(np)):
            continue
        if module is fnp and name in STATIC:
            out.append((name, "— (static)", "—", "—"))
            continue
        if module is fnp and name in CONSTANT:
            out.append((name, "— (constant)", "—", "—"))
            continue
        special = MODULE_SAMPLES.get(module_name, {})
        tries = ([SAMPLES[name]] if module is fnp and name in SAMPLES else
                 [special[name](module)] if name in special else
                 [(fn, (V,)), (fn, (V, W))] if module is fnp else
                 _candidates(module_name, fn))
        cells = ("not probed", "?", "?")
        for f, args in tries:
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cells = probe(f, args)
                break
            except Exception:                         # noqa: BLE001 (try the next sample)
                continue
        out.append((name,) + cells)
    return out


MODULES = ["fxad.numpy", "fxad.numpy.linalg", "fxad.scipy.special"]


def render():
    lines = ["# Coverage: which transforms each function supports", "",
             "Generated by `python docs/gen_coverage.py` (do not edit by hand): each "
             "function runs on a small sample input, eagerly and under `jvp` / `vjp` (fwd / "
             "rev), `vmap` and `jit`. \"zero\": the derivative exists and is zero "
             "(piecewise-constant functions); \"—\": an integer or boolean result (no "
             "derivative); \"no (concrete)\": needs concrete values, because the result's "
             "shape depends on them (works under `grad`, not under `jit`). See each "
             "function's docstring for the arguments it supports.", ""]
    for module_name in MODULES:
        try:
            module = importlib.import_module(module_name)
        except Exception:                             # noqa: BLE001 (absent or broken: skip)
            continue
        table = rows(module_name, module)
        lines += [f"## `{module_name}` ({len(table)} functions)", "",
                  "| function | differentiable (fwd / rev) | vmap | jit |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| `{n}` | {d} | {v} | {j} |" for n, d, v, j in table]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    (ROOT / "docs" / "coverage.md").write_text(render())
    print(f"wrote {ROOT / 'docs' / 'coverage.md'}")
