"""Hypothesis building blocks shared by the test files: arrays inside a domain, shapes,
the `examples()` helper that scales the active profile's example count, and the
sub-programs that the control-flow rows of the primitive tables run."""
import numpy as np
from hypothesis import settings, strategies as st
from hypothesis.extra import numpy as hnp

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)


def examples(factor=1.0):
    """`settings` with `factor` times the active profile's `max_examples`."""
    return settings(max_examples=max(1, int(settings.default.max_examples * factor)))


@st.composite
def drawn(draw, gen, *args):
    """The strategy of `gen(draw, *args)`, a generator written as a function of `draw`."""
    return gen(draw, *args)


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def _floats(lo, hi, dtype):
    width = 32 if np.dtype(dtype) == F32 else 64
    if width == 32:                       # round the bounds inwards to float32
        lo32, hi32 = np.float32(lo), np.float32(hi)
        lo = float(lo32 if lo32 >= lo else np.nextafter(lo32, np.float32(np.inf)))
        hi = float(hi32 if hi32 <= hi else np.nextafter(hi32, np.float32(-np.inf)))
    return st.floats(lo, hi, width=width, allow_nan=False, allow_infinity=False,
                     allow_subnormal=False)


def in_range(draw, shape, lo, hi, dtype=F64):
    """A `dtype` array of `shape` with entries in [lo, hi] (a NumPy scalar for shape ())."""
    return _finish(draw(hnp.arrays(dtype, shape, elements=_floats(lo, hi, dtype))), shape)


def away_from_zero(draw, shape, lo, hi, dtype=F64):
    """Entries with lo <= |x| <= hi, either sign."""
    elems = st.one_of(_floats(-hi, -lo, dtype), _floats(lo, hi, dtype))
    return _finish(draw(hnp.arrays(dtype, shape, elements=elems)), shape)


def grid(draw, shape, spacing, offset=0.0, k=8, dtype=F64, unique=False):
    """Entries `offset + spacing * n` for integers |n| <= k (optionally all distinct)."""
    n = draw(hnp.arrays(np.int64, shape, elements=st.integers(-k, k), unique=unique))
    return _finish(np.asarray(offset + spacing * n, dtype), shape)


def ints(draw, shape, lo, hi, dtype=np.int64):
    return _finish(draw(hnp.arrays(dtype, shape, elements=st.integers(lo, hi))), shape)


def bools(draw, shape):
    return _finish(draw(hnp.arrays(np.bool_, shape)), shape)


def _finish(x, shape):
    return x[()] if shape == () else x


def float_dtype(draw, allow_f32=True):
    return draw(st.sampled_from([F64, F32])) if allow_f32 else F64


def binary_shapes(draw, shape=None):
    """Operand shapes for a shape-strict binary primitive: equal, or one of them rank 0."""
    shape = draw(shapes()) if shape is None else shape
    return draw(st.sampled_from([(shape, shape), (shape, ()), ((), shape), ((), ())]))


# Where each unary float primitive is tested: (lo, hi) or (lo, hi, away_from_zero),
# shared by the primitive table and the vmap table.
UNARY_DOMAINS = {
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1.3, 1.3),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atan": (-3, 3),
    "sinh": (-3, 3),
    "cosh": (-3, 3),
    "tanh": (-3, 3),
    "asinh": (-3, 3),
    "acosh": (1.2, 4),
    "atanh": (-0.9, 0.9),
    "exp": (-3, 3),
    "exp2": (-3, 3),
    "expm1": (-3, 3),
    "log": (0.2, 5),
    "log2": (0.2, 5),
    "log10": (0.2, 5),
    "log1p": (-0.8, 4),
    "sqrt": (0.2, 5),
    "cbrt": (0.2, 5, True),
    "abs": (0.1, 3, True),
}


def closed_program(fun, *example_args):
    """A closed sub-program of `fun` (lists in and out) for arguments like `example_args`."""
    from fxad.core import get_aval
    from fxad.primitives.control_flow import trace_closed
    jaxpr, consts = trace_closed(lambda *a: list(fun(*a)), [get_aval(a) for a in example_args])
    assert not consts
    return jaxpr


def _cond_branches():
    import fxad.numpy as fnp
    return [                                          # (x, y) -> [like x, scalar]
        lambda x, y: [fnp.sin(x) * y, fnp.sum(x * x)],
        lambda x, y: [fnp.exp(-x * x) + y, y * y],
        lambda x, y: [x * fnp.tanh(y), fnp.cos(y) + fnp.sum(x)],
    ]


COND_BRANCHES = _cond_branches()


def einsum_case(draw, lead=()):
    """Operands and params of a random binary `einsum` (batch, contracted and free axes,
    in any order); `lead` is prepended to both operands' shapes (vmap's batch)."""
    import string
    dtype = float_dtype(draw)
    letters = iter(string.ascii_lowercase)
    groups = {k: [next(letters) for _ in range(draw(st.integers(0, 2)))]
              for k in ("batch", "contract", "free_a", "free_b")}
    size = {c: draw(st.integers(1, 3)) for g in groups.values() for c in g}
    a = draw(st.permutations(groups["batch"] + groups["contract"] + groups["free_a"]))
    b = draw(st.permutations(groups["batch"] + groups["contract"] + groups["free_b"]))
    out = draw(st.permutations(groups["batch"] + groups["free_a"] + groups["free_b"]))
    x = in_range(draw, tuple(lead) + tuple(size[c] for c in a), -2, 2, dtype)
    y = in_range(draw, tuple(lead) + tuple(size[c] for c in b), -2, 2, dtype)
    return (x, y), {"spec": f"{''.join(a)},{''.join(b)}->{''.join(out)}"}
