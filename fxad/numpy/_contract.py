"""Products and contractions in `fxad.numpy` (dot, matmul, einsum, ...), all reduced to
the binary `einsum` primitive, whose transpose is again an einsum."""
import string

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import structural as st
from ._base import asarray, promote, result_type
from ._shape import ravel, transpose, broadcast_to

_LETTERS = string.ascii_letters


def _same_dtype(*xs):
    xs = [asarray(x) for x in xs]
    dtype = result_type(*xs)
    return [ew.convert_element_type(x, dtype) for x in xs]


def _shape(x):
    return get_aval(x).shape


def einsum(subscripts, *operands, optimize=None):
    """Einstein summation, as `numpy.einsum` (explicit or implicit output, `...`,
    repeated indices for diagonals). Operands are contracted pairwise, left to right.

    >>> import numpy as np, fxad.numpy as fnp
    >>> fnp.einsum("ij,j->i", np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    ops = _same_dtype(*operands)
    subscripts = subscripts.replace(" ", "")
    ins, out = (subscripts.split("->") + [None])[:2]
    ins = ins.split(",")
    if len(ins) != len(ops):
        raise ValueError(f"einsum '{subscripts}' names {len(ins)} operands, got {len(ops)}")
    ins, out = _expand_ellipsis(ins, out, [_shape(o) for o in ops])
    if out is None:
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    sizes = {}
    for x, s in zip(ops, ins):
        if len(s) != len(_shape(x)):
            raise ValueError(f"einsum '{subscripts}': operand '{s}' has {len(_shape(x))} "
                             f"axes, shape {_shape(x)}")
        for c, n in zip(s, _shape(x)):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum '{subscripts}': index '{c}' has sizes "
                                 f"{sizes[c]} and {n} (operand shapes "
                                 f"{', '.join(str(_shape(o)) for o in ops)})")
    terms = [_diagonals(x, s) for x, s in zip(ops, ins)]
    acc, acc_s = terms[0]
    for i, (x, s) in enumerate(terms[1:], 1):
        later = out + "".join(t[1] for t in terms[i + 1:])
        acc, acc_s = _sum_unused(acc, acc_s, s + later)
        x, s = _sum_unused(x, s, acc_s + later)
        res = "".join(dict.fromkeys(c for c in acc_s + s if c in later))
        acc, acc_s = st.einsum(f"{acc_s},{s}->{res}", acc, x), res
    acc, acc_s = _sum_unused(acc, acc_s, out)
    return st.transpose(acc, [acc_s.index(c) for c in out])


def _expand_ellipsis(ins, out, shapes):
    if "..." not in "".join(ins):
        return ins, out
    free = [c for c in _LETTERS if c not in "".join(ins)]
    n = max(len(shp) - len(s.replace("...", "")) for s, shp in zip(ins, shapes) if "..." in s)
    ell = "".join(free[:n])
    new_ins = [s.replace("...", ell[n - (len(shp) - len(s.replace("...", ""))):])
               for s, shp in zip(ins, shapes)]
    if out is None:
        letters = "".join(s.replace("...", "") for s in ins)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    else:
        out = out.replace("...", ell)
    return new_ins, out


def _diagonals(x, s):
    """Take the diagonal for each index repeated within one operand."""
    while len(set(s)) < len(s):
        c = next(c for c in s if s.count(c) > 1)
        i, j = s.index(c), s.index(c, s.index(c) + 1)
        rest = [k for k in range(len(s)) if k not in (i, j)]
        x = transpose(x, [i, j] + rest)
        n = _shape(x)[0]
        idx = np.arange(n)
        x = st.gather(x, st.IndexSpec([st.IndexSpec.ARRAY, st.IndexSpec.ARRAY]), [idx, idx])
        s = c + "".join(s[k] for k in rest)
    return x, s


def _sum_unused(x, s, needed):
    axes = [i for i, c in enumerate(s) if c not in needed]
    return st.reduce_sum(x, axes), "".join(c for c in s if c in needed)


def dot(a, b):
    """`numpy.dot`: products of 0-d, vector and matrix arguments; for N-d arrays, a sum
    over the last axis of `a` and the second-to-last of `b`."""
    a, b = _same_dtype(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return ew.mul(*promote(a, b))
    la = _LETTERS[:len(sa)]
    lb = _LETTERS[len(sa):len(sa) + len(sb)]
    k = la[-1]
    lb = lb[:-2] + k + lb[-1] if len(sb) >= 2 else k
    _check_contraction("dot", sa, sb, sa[-1], sb[-2] if len(sb) >= 2 else sb[0])
    out = la[:-1] + lb.replace(k, "")
    return st.einsum(f"{la},{lb}->{out}", a, b)


def _check_contraction(name, sa, sb, n, m):
    if n != m:
        raise ValueError(f"{name}: shapes {sa} and {sb} are not aligned: {n} (last axis of "
                         f"the first) != {m} (contracted axis of the second)")


def matmul(x1, x2):
    """`x1 @ x2` with NumPy's rules: batch axes broadcast, 1-d operands are vectors."""
    a, b = _same_dtype(x1, x2)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        raise ValueError("matmul: operands must not be 0-d (use multiply for scalars)")
    ma, mb = len(sa) > 1, len(sb) > 1           # matrices (else vectors)
    _check_contraction("matmul", sa, sb, sa[-1], sb[-2] if mb else sb[0])
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    lb = _LETTERS[:len(batch)]
    i, k, j = _LETTERS[len(batch):len(batch) + 3]
    if ma and sa[:-2] != batch:
        a = broadcast_to(a, batch + sa[-2:])
    if mb and sb[:-2] != batch:
        b = broadcast_to(b, batch + sb[-2:])
    a_spec = lb + i + k if ma else k
    b_spec = lb + k + j if mb else k
    out = lb + (i if ma else "") + (j if mb else "")
    return st.einsum(f"{a_spec},{b_spec}->{out}", a, b)


def vdot(a, b):
    """Dot product of the flattened arrays."""
    return st.einsum("i,i->", *_same_dtype(ravel(a), ravel(b)))


def inner(a, b):
    """Sum product over the last axes of `a` and `b`."""
    a, b = _same_dtype(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return ew.mul(*promote(a, b))
    _check_contraction("inner", sa, sb, sa[-1], sb[-1])
    la, lb = _LETTERS[:len(sa) - 1], _LETTERS[len(sa) - 1:len(sa) + len(sb) - 2]
    return st.einsum(f"{la}Z,{lb}Z->{la}{lb}", a, b)


def outer(a, b):
    """Outer product of the flattened arrays."""
    return st.einsum("i,j->ij", *_same_dtype(ravel(a), ravel(b)))


def tensordot(a, b, axes=2):
    """Sum products over the last `axes` axes of `a` and first of `b` (or explicit pairs)."""
    a, b = _same_dtype(a, b)
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        axes_a, axes_b = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                          [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    axes_a = [x % len(sa) for x in axes_a]
    axes_b = [x % len(sb) for x in axes_b]
    la = list(_LETTERS[:len(sa)])
    lb = list(_LETTERS[len(sa):len(sa) + len(sb)])
    for i, j in zip(axes_a, axes_b):
        _check_contraction("tensordot", sa, sb, sa[i], sb[j])
        lb[j] = la[i]
    out = [c for k, c in enumerate(la) if k not in axes_a] + [
        c for k, c in enumerate(lb) if k not in axes_b]
    return st.einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


CONTRACT_NAMES = ["einsum", "dot", "matmul", "vdot", "inner", "outer", "tensordot"]
