"""Shape-changing primitives: broadcasts, reshapes, reductions, cumulative sums,
concatenation, indexing (gather / scatter-add) and contraction (binary einsum).

All are shape-strict: params say exactly what happens to every axis.
"""
import functools
import math

import numpy as np

from ..core import Primitive, ShapedArray, UndefinedPrimal, get_aval, registry as _registry
from ..batching import materialize, batch_size
from .elementwise import add, mul, div, eq, convert_element_type, zeros_like


def _prim(name, impl, abstract_eval, nargs=1):
    prim = Primitive(name)
    prim.impl, prim.abstract_eval, prim.nargs = impl, abstract_eval, nargs
    return prim


def linear_jvp(prim):
    """JVP of a primitive linear in its first argument (others carry no tangent)."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        t = tangents[0]
        return out, None if t is None else prim.bind(t, *primals[1:], **params)
    prim.jvp = jvp


# --------------------------------------------------------------------------- broadcast


def _broadcast_impl(x, shape, broadcast_dimensions):
    """A read-only view with zero strides on the new axes (`np.broadcast_to` makes the
    same view, ten times slower: it costs more than the arithmetic on small arrays)."""
    if type(x) is np.ndarray and x.flags.c_contiguous:
        strides = [0] * len(shape)
        for d, n, s in zip(broadcast_dimensions, x.shape, x.strides):
            strides[d] = s if n != 1 else 0
        out = np.ndarray(shape, x.dtype, x, 0, strides)
        out.flags.writeable = False
        return out
    expanded = [1] * len(shape)
    for d, n in zip(broadcast_dimensions, np.shape(x)):
        expanded[d] = n
    return np.broadcast_to(np.reshape(x, expanded), shape)


def _broadcast_aval(x, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim or any(
            x.shape[i] not in (1, shape[d]) for i, d in enumerate(broadcast_dimensions)):
        raise ValueError(f"broadcast_in_dim: cannot broadcast {x} to shape {shape} "
                         f"along dimensions {broadcast_dimensions}")
    return ShapedArray(shape, x.dtype)


def _broadcast_transpose(ct, x, shape, broadcast_dimensions):
    in_shape = x.aval.shape
    summed = tuple(d for d in range(len(shape)) if d not in broadcast_dimensions) + tuple(
        d for i, d in enumerate(broadcast_dimensions) if in_shape[i] == 1 and shape[d] != 1)
    out = reduce_sum(ct, tuple(sorted(summed))) if summed else ct
    return [reshape(out, in_shape)]


broadcast_in_dim_p = _prim("broadcast_in_dim", _broadcast_impl, _broadcast_aval)
linear_jvp(broadcast_in_dim_p)
broadcast_in_dim_p.transpose = _broadcast_transpose
broadcast_in_dim_p.expands = True


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Broadcast `x` to `shape`; axis i of `x` becomes axis `broadcast_dimensions[i]`."""
    shape, dims = tuple(int(n) for n in shape), tuple(broadcast_dimensions)
    if get_aval(x).shape == shape:
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=dims)


# --------------------------------------------------------------------------- reshape etc.


def _reshape_aval(x, new_sizes):
    if x.size != int(np.prod(new_sizes, dtype=np.int64)):
        raise ValueError(f"cannot reshape {x} into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype)


reshape_p = _prim("reshape", lambda x, new_sizes: np.reshape(x, new_sizes), _reshape_aval)
linear_jvp(reshape_p)
reshape_p.transpose = lambda ct, x, new_sizes: [reshape(ct, x.aval.shape)]


def reshape(x, new_sizes):
    new_sizes = tuple(int(n) for n in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def _transpose_aval(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: {permutation} is not a permutation of the axes of {x}")
    return ShapedArray([x.shape[p] for p in permutation], x.dtype)


transpose_p = _prim("transpose", lambda x, permutation: np.transpose(x, permutation),
                    _transpose_aval)
linear_jvp(transpose_p)
transpose_p.transpose = lambda ct, x, permutation: [
    transpose(ct, tuple(np.argsort(permutation)))]


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


# --------------------------------------------------------------------------- reductions


def _reduce_aval(x, axes):
    if any(not 0 <= a < x.ndim for a in axes):
        raise ValueError(f"reduction axes {axes} out of range for {x}")
    return ShapedArray([n for i, n in enumerate(x.shape) if i not in axes], x.dtype)


def _kept_dims(ndim, axes):
    return tuple(i for i in range(ndim) if i not in axes)


def _reducer(ufunc):
    """`ufunc.reduce(x, axes)`. NumPy's inner loop runs along the last axis: when that is
    short (a (256, 10) softmax), the loop is mostly per-row overhead (11 us for that max).
    Then the reduction runs on a copy with the last axis moved first (3 us)."""
    def impl(x, axes):
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[-1] > 16 or x.size < 256 or not x.flags.c_contiguous:
            return ufunc.reduce(x, axis=axes, dtype=x.dtype)
        last = x.ndim - 1
        moved = np.ascontiguousarray(x.transpose((last,) + tuple(range(last))))
        out = ufunc.reduce(moved, axis=tuple(0 if a == last else a + 1 for a in axes),
                           dtype=x.dtype)
        if last in axes:
            return out
        return np.ascontiguousarray(out.transpose(tuple(range(1, out.ndim)) + (0,)))
    return impl


reduce_sum_p = _prim("reduce_sum", _reducer(np.add), _reduce_aval)
linear_jvp(reduce_sum_p)
reduce_sum_p.transpose = lambda ct, x, axes: [
    broadcast_in_dim(ct, x.aval.shape, _kept_dims(x.aval.ndim, axes))]


def reduce_sum(x, axes):
    axes = tuple(sorted(axes))
    return reduce_sum_p.bind(x, axes=axes) if axes else x


def _define_extremum(name, np_fn):
    prim = _prim(name, _reducer(np_fn), _reduce_aval)

    def jvp(primals, tangents, axes):
        (x,), (t,) = primals, tangents
        out = prim.bind(x, axes=axes)
        if t is None:
            return out, None
        shape = get_aval(x).shape
        kept = _kept_dims(len(shape), axes)
        location = convert_element_type(eq(x, broadcast_in_dim(out, shape, kept)),
                                        get_aval(x).dtype)
        counts = reduce_sum(location, axes)            # ties share the tangent equally
        return out, div(reduce_sum(mul(t, location), axes), counts)

    prim.jvp = jvp
    return lambda x, axes: prim.bind(x, axes=tuple(sorted(axes))) if axes else x


reduce_max = _define_extremum("reduce_max", np.maximum)
reduce_min = _define_extremum("reduce_min", np.minimum)


def _define_arg_extremum(name, np_fn):
    def aval(x, axis):
        return ShapedArray([n for i, n in enumerate(x.shape) if i != axis], np.int64)
    prim = _prim(name, lambda x, axis: np.asarray(np_fn(x, axis=axis), np.int64)[()], aval)
    prim.jvp = lambda primals, tangents, axis: (prim.bind(*primals, axis=axis), None)
    return lambda x, axis: prim.bind(x, axis=int(axis))


argmax = _define_arg_extremum("argmax", np.argmax)
argmin = _define_arg_extremum("argmin", np.argmin)


def _cumsum_impl(x, axis, reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis, dtype=x.dtype), axis)
    return np.cumsum(x, axis, dtype=x.dtype)


def _cumsum_aval(x, axis, reverse):
    if not 0 <= axis < x.ndim:
        raise ValueError(f"cumsum axis {axis} out of range for {x}")
    return x


cumsum_p = _prim("cumsum", _cumsum_impl, _cumsum_aval)
linear_jvp(cumsum_p)
cumsum_p.transpose = lambda ct, x, axis, reverse: [cumsum(ct, axis, not reverse)]


def cumsum(x, axis, reverse=False):
    return cumsum_p.bind(x, axis=int(axis), reverse=bool(reverse))


# --------------------------------------------------------------------------- concatenate


def _concat_aval(*xs, dimension):
    first = xs[0]
    for x in xs:
        if (x.dtype != first.dtype or x.ndim != first.ndim or any(
                a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != dimension)):
            raise ValueError(f"concatenate along axis {dimension}: incompatible operands "
                             f"{', '.join(map(str, xs))}")
    shape = list(first.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, first.dtype)


def _concat_jvp(primals, tangents, dimension):
    out = concatenate(primals, dimension)
    if all(t is None for t in tangents):
        return out, None
    ts = [zeros_like(p) if t is None else t for p, t in zip(primals, tangents)]
    return out, concatenate(ts, dimension)


def _concat_transpose(ct, *xs, dimension):
    cts, start = [], 0
    for x in xs:
        n = (x.aval if isinstance(x, UndefinedPrimal) else get_aval(x)).shape[dimension]
        if isinstance(x, UndefinedPrimal):
            index = (slice(None),) * dimension + (slice(start, start + n),)
            cts.append(gather(ct, IndexSpec(index)))
        else:
            cts.append(None)
        start += n
    return cts


concatenate_p = _prim("concatenate", lambda *xs, dimension: np.concatenate(xs, dimension),
                      _concat_aval, nargs=None)
concatenate_p.jvp = _concat_jvp
concatenate_p.transpose = _concat_transpose


def concatenate(xs, dimension):
    xs = list(xs)
    return xs[0] if len(xs) == 1 else concatenate_p.bind(*xs, dimension=int(dimension))


# --------------------------------------------------------------------------- indexing


class IndexSpec:
    """A hashable NumPy index with placeholders `IndexSpec.ARRAY` for integer-array
    operands (which are passed to gather/scatter_add after the array itself)."""
    ARRAY = "#"

    def __init__(self, entries):
        self.entries = tuple((e.start, e.stop, e.step, "slice") if isinstance(e, slice) else e
                             for e in entries)

    def build(self, arrays):
        it = iter(arrays)
        return tuple(next(it) if isinstance(e, str) else
                     slice(*e[:3]) if isinstance(e, tuple) else e for e in self.entries)

    @property
    def num_arrays(self):
        return sum(1 for e in self.entries if isinstance(e, str))

    def __eq__(self, other):
        return isinstance(other, IndexSpec) and self.entries == other.entries

    def __hash__(self):
        return hash(self.entries)

    def __str__(self):
        def show(e):
            if isinstance(e, tuple):
                s = f"{'' if e[0] is None else e[0]}:{'' if e[1] is None else e[1]}"
                return s + (f":{e[2]}" if e[2] is not None else "")
            return {None: "None", Ellipsis: "..."}.get(e, str(e))
        return "[" + ", ".join(map(show, self.entries)) + "]"

    __repr__ = __str__


def _index_shape(shape, spec, array_avals):
    dummy = np.broadcast_to(np.empty((), np.int8), shape)
    arrays = [np.zeros(a.shape, np.intp) for a in array_avals]
    return dummy[spec.build(arrays)].shape


def _gather_aval(x, *arrays, spec):
    for a in arrays:
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"index arrays must be integers, got {a}")
    return ShapedArray(_index_shape(x.shape, spec, arrays), x.dtype)


gather_p = _prim("gather", lambda x, *arrays, spec: np.asarray(x)[spec.build(arrays)],
                 _gather_aval, nargs=None)
linear_jvp(gather_p)
gather_p.transpose = lambda ct, x, *arrays, spec: [
    scatter_add(ct, arrays, spec, x.aval.shape)] + [None] * len(arrays)


def gather(x, spec, arrays=()):
    """`x[index]` where `spec` is an `IndexSpec` and `arrays` fill its array slots."""
    return gather_p.bind(x, *arrays, spec=spec)


def _scatter_add_impl(updates, *arrays, spec, shape):
    out = np.zeros(shape, np.asarray(updates).dtype)
    index = spec.build(arrays)
    if arrays:
        np.add.at(out, index, updates)          # repeated indices accumulate
    else:
        out[index] += updates
    return out


def _scatter_add_aval(updates, *arrays, spec, shape):
    expected = _index_shape(shape, spec, arrays)
    if updates.shape != expected:
        raise ValueError(f"scatter_add: updates {updates} do not match index shape {expected}")
    return ShapedArray(shape, updates.dtype)


scatter_add_p = _prim("scatter_add", _scatter_add_impl, _scatter_add_aval, nargs=None)
linear_jvp(scatter_add_p)
scatter_add_p.transpose = lambda ct, updates, *arrays, spec, shape: [
    gather(ct, spec, arrays)] + [None] * len(arrays)


def scatter_add(updates, arrays, spec, shape):
    """zeros(shape) with `updates` added at `index` (the transpose of `gather`)."""
    return scatter_add_p.bind(updates, *arrays, spec=spec, shape=tuple(shape))


# --------------------------------------------------------------------------- contraction


@functools.lru_cache(maxsize=4096)
def _einsum_plan(spec):
    ins, out = spec.split("->")
    a, b = ins.split(",")
    batch = [c for c in out if c in a and c in b]
    contract = [c for c in a if c in b and c not in out]
    free_a = [c for c in a if c not in b]
    free_b = [c for c in b if c not in a]
    mid = batch + free_a + free_b
    return (a, b, out, batch, contract, free_a, free_b,
            tuple(a.index(c) for c in batch + free_a + contract),
            tuple(b.index(c) for c in batch + contract + free_b),
            tuple(mid.index(c) for c in out))


@functools.lru_cache(maxsize=4096)
def _einsum_call(spec, x_shape, y_shape):
    """A function computing `einsum(spec)` for these shapes as one matrix product
    (a 2-d one when there are no batch axes), with transposes and reshapes planned once."""
    a, b, out, batch, contract, free_a, free_b, perm_a, perm_b, perm_out = _einsum_plan(spec)
    size = dict(zip(a, x_shape))
    size.update(zip(b, y_shape))
    n = lambda letters: math.prod(size[c] for c in letters)
    lead = (n(batch),) if batch else ()
    x_mat, y_mat = lead + (n(free_a), n(contract)), lead + (n(contract), n(free_b))
    res_shape = tuple(size[c] for c in batch + free_a + free_b)
    keep = lambda perm: perm == tuple(range(len(perm)))
    if not contract:        # an outer product (per batch): a broadcast multiply, no BLAS
        def aligned(letters):
            perm = tuple(letters.index(c) for c in out if c in letters)
            return perm, tuple(size[c] if c in letters else 1 for c in out)
        (pa, sa), (pb, sb) = aligned(a), aligned(b)
        return lambda x, y: np.multiply(np.transpose(x, pa).reshape(sa),
                                        np.transpose(y, pb).reshape(sb))
    keep_a, keep_b, keep_out = keep(perm_a), keep(perm_b), keep(perm_out)

    def call(x, y):
        xm = (x if keep_a else np.transpose(x, perm_a)).reshape(x_mat)
        ym = (y if keep_b else np.transpose(y, perm_b)).reshape(y_mat)
        res = np.matmul(xm, ym).reshape(res_shape)
        return res if keep_out else np.transpose(res, perm_out)

    return call


def _einsum_impl(x, y, spec):
    return _einsum_call(spec, np.shape(x), np.shape(y))(x, y)


def _einsum_aval(x, y, spec):
    a, b, out = _einsum_plan(spec)[:3]
    if len(a) != x.ndim or len(b) != y.ndim:
        raise ValueError(f"einsum '{spec}': operand ranks do not match {x} and {y}")
    if x.dtype != y.dtype:
        raise TypeError(f"einsum '{spec}' requires one dtype, got {x} and {y}")
    size = {}
    for letters, shape in ((a, x.shape), (b, y.shape)):
        for c, n in zip(letters, shape):
            if size.setdefault(c, n) != n:
                raise ValueError(f"einsum '{spec}': axis '{c}' has sizes {size[c]} and {n} "
                                 f"in operands {x} and {y}")
    return ShapedArray([size[c] for c in out], x.dtype)


def _einsum_jvp(primals, tangents, spec):
    x, y = primals
    out = einsum(spec, x, y)
    tx, ty = tangents
    parts = ([einsum(spec, tx, y)] if tx is not None else []) + (
        [einsum(spec, x, ty)] if ty is not None else [])
    return out, parts[0] if len(parts) == 1 else add(*parts)


def _einsum_transpose(ct, x, y, spec):
    a, b, out = _einsum_plan(spec)[:3]
    if isinstance(x, UndefinedPrimal):
        return [einsum(f"{out},{b}->{a}", ct, y), None]
    return [None, einsum(f"{a},{out}->{b}", x, ct)]


einsum_p = _prim("einsum", _einsum_impl, _einsum_aval, nargs=2)
einsum_p.jvp = _einsum_jvp
einsum_p.transpose = _einsum_transpose


def einsum(spec, x, y):
    """Binary contraction. Each index of an operand must appear in the other operand or the
    output, and at most once per operand (`fxad.numpy.einsum` reduces to this form)."""
    return einsum_p.bind(x, y, spec=spec)


# --------------------------------------------------------------------------- batch rules
# Batched operands carry the batch axis first; each rule shifts its params past it.


def _set_batch(prim, rule):
    """`rule(x, **params)` for a primitive with one (batched) operand."""
    prim.batch = lambda vals, dims, **params: (rule(*vals, **params), 0)


_set_batch(broadcast_in_dim_p, lambda x, shape, broadcast_dimensions: broadcast_in_dim(
    x, (get_aval(x).shape[0],) + shape, (0,) + tuple(d + 1 for d in broadcast_dimensions)))
_set_batch(reshape_p, lambda x, new_sizes: reshape(x, (get_aval(x).shape[0],) + new_sizes))
_set_batch(transpose_p, lambda x, permutation: transpose(
    x, (0,) + tuple(p + 1 for p in permutation)))
_set_batch(reduce_sum_p, lambda x, axes: reduce_sum(x, tuple(a + 1 for a in axes)))
_set_batch(cumsum_p, lambda x, axis, reverse: cumsum(x, axis + 1, reverse))
for _name, _fn in [("reduce_max", reduce_max), ("reduce_min", reduce_min)]:
    _set_batch(_registry[_name], lambda x, axes, _fn=_fn: _fn(x, tuple(a + 1 for a in axes)))
for _name, _fn in [("argmax", argmax), ("argmin", argmin)]:
    _set_batch(_registry[_name], lambda x, axis, _fn=_fn: _fn(x, axis + 1))


def _index_position(entries, ndim):
    """Where NumPy puts the broadcast index-array axes of `x[index]` (`x` of rank `ndim`):
    in place of the first array/int entry when those entries are adjacent, else first."""
    adv = [i for i, e in enumerate(entries) if isinstance(e, (str, int, np.integer))]
    if adv != list(range(adv[0], adv[-1] + 1)):
        return 0
    used = sum(1 for e in entries if e is not None and e is not Ellipsis)
    return sum(ndim - used if e is Ellipsis else 1 for e in entries[:adv[0]])


def _batched_index(spec, shape, arrays, dims, size, operand_batched):
    """An index with array entries (`spec`, one example's operand `shape`) over a batch:
    `(spec, arrays, perm)` such that `transpose(x[spec, arrays], perm)` has the batch axis
    first, then one example's `x[index]` axes. Batched index arrays get their batch axis in
    front of the broadcast index axes; a batched operand gets an extra leading index
    `arange(size)`, so each example reads its own slice. Either way the batch axis joins
    the index axes, which NumPy moves first when the array/int entries are not adjacent
    (so `perm` puts them back where one example's result has them)."""
    per = [get_aval(a).shape[1:] if d == 0 else get_aval(a).shape for a, d in zip(arrays, dims)]
    k = len(np.broadcast_shapes(*per))
    n = len(_index_shape(shape, spec, [ShapedArray(s, np.intp) for s in per]))
    p = _index_position(spec.entries, len(shape))
    arrays = [reshape(a, (size,) + (1,) * (k - len(s)) + s) if d == 0 else a
              for a, s, d in zip(arrays, per, dims)]
    if operand_batched:          # result axes: batch, index axes, the others
        iota = np.arange(size).reshape((size,) + (1,) * k)
        perm = (0,) + tuple(range(1 + k, 1 + k + p)) + tuple(range(1, 1 + k)) + tuple(
            range(1 + k + p, 1 + n))
        return IndexSpec((IndexSpec.ARRAY,) + spec.entries), [iota] + arrays, perm
    # result axes: the first p others, batch, index axes, the rest
    return spec, arrays, (p,) + tuple(range(p)) + tuple(range(p + 1, n + 1))


def _gather_batch(vals, dims, spec):
    """Without index arrays, a leading full slice; with them, see `_batched_index`."""
    x = vals[0]
    if not spec.num_arrays:
        return gather(x, IndexSpec((slice(None),) + spec.entries)), 0
    shape = get_aval(x).shape[1:] if dims[0] == 0 else get_aval(x).shape
    spec, arrays, perm = _batched_index(spec, shape, vals[1:], dims[1:],
                                        batch_size(vals, dims), dims[0] == 0)
    return transpose(gather(x, spec, arrays), perm), 0


def _scatter_add_batch(vals, dims, spec, shape):
    """The transpose of `_gather_batch` with a batched operand: scatter into a batch of
    outputs, each example's updates into its own slice (repeated indices still add up)."""
    size = batch_size(vals, dims)
    updates = materialize(vals[0], dims[0], size)
    if not spec.num_arrays:
        return scatter_add(updates, (), IndexSpec((slice(None),) + spec.entries),
                           (size,) + shape), 0
    spec, arrays, perm = _batched_index(spec, shape, vals[1:], dims[1:], size, True)
    return scatter_add(transpose(updates, tuple(np.argsort(perm))), arrays, spec,
                       (size,) + shape), 0


def _concat_batch(vals, dims, dimension):
    size = batch_size(vals, dims)
    return concatenate([materialize(v, d, size) for v, d in zip(vals, dims)],
                       dimension + 1), 0


def _einsum_batch(vals, dims, spec):
    a, b, out = _einsum_plan(spec)[:3]
    z = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in spec)
    a, b = (z + a if dims[0] == 0 else a), (z + b if dims[1] == 0 else b)
    return einsum(f"{a},{b}->{z}{out}", *vals), 0


gather_p.batch = _gather_batch
scatter_add_p.batch = _scatter_add_batch
concatenate_p.batch = _concat_batch
einsum_p.batch = _einsum_batch
