"""`check_grads`: verify a function's derivatives numerically (public, JAX's signature).

Forward mode is compared with central finite differences in a random direction; reverse
mode with finite differences and with forward mode through the inner-product identity
`<ct, J t> == <J^T ct, t>`; `order > 1` repeats both checks on the JVP map and the VJP
map, as JAX's `check_grads` does. The transforms themselves are `fxad.api`'s.
"""
import functools

import numpy as np

from . import api, tree_util
from .core import Tracer

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp"]

# Default tolerances for comparisons with finite differences (JAX's gradient tolerances),
# and default relative steps (multiplied by max(1, |x|) for each argument element).
_GRAD_TOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 2e-3,
             np.dtype(np.float64): 1e-5}
_EPS = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-3,
        np.dtype(np.float64): 1e-6}
# Finite differences lose `_FD_ULPS` ulps of |f(x ± h t)| / h to rounding; that much is
# added to the tolerance (it matters only where |f| is much larger than |J t|).
_FD_ULPS = 8


def _is_float_leaf(x):
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _leaves(tree):
    return [np.asarray(x) for x in tree_util.tree_leaves(tree)]


def _lowest_precision(*trees):
    dtypes = [np.asarray(x).dtype for t in trees for x in tree_util.tree_leaves(t)
              if _is_float_leaf(x)]
    if not dtypes:
        return np.dtype(np.float64)
    return min(dtypes, key=lambda d: np.finfo(d).bits)


def _rand_like(rng, x):
    """A standard-normal array like float `x` (zeros for integers and booleans)."""
    x = np.asarray(x)
    if not _is_float_leaf(x):
        return np.zeros(x.shape, x.dtype)
    return np.asarray(rng.standard_normal(x.shape), x.dtype)


def _random_direction(rng, args):
    """A random tangent for `args`, each element scaled by max(1, |x|): a step `eps` along
    it is relative for large elements and absolute for small ones."""
    def one(x):
        x = np.asarray(x)
        t = _rand_like(rng, x)
        if _is_float_leaf(x):
            t = np.asarray(t * np.maximum(1.0, np.abs(x.astype(np.float64))), x.dtype)
        return t
    return tree_util.tree_map(one, args)


def _inner(xs, ys):
    """`sum_leaves <x, y>` over the floating-point leaves, in float64."""
    total = 0.0
    for x, y in zip(_leaves(xs), _leaves(ys)):
        if _is_float_leaf(x) and _is_float_leaf(y):
            total += float(np.vdot(x.astype(np.float64).ravel(), y.astype(np.float64).ravel()))
    return total


def _abs_tree(tree):
    return tree_util.tree_map(lambda x: np.abs(np.asarray(x, np.float64)), tree)


def numerical_jvp(f, args, tangent, eps):
    """Central differences `(f(x + eps t) - f(x - eps t)) / (2 eps)` in float64.

    The perturbed arguments are rounded to each leaf's dtype; returns
    `(jvp_estimate, effective_tangent, rounding_noise)` where `effective_tangent` is the
    tangent that was actually applied after that rounding and `rounding_noise` is the
    estimated rounding error of each output element."""
    arg_leaves, arg_tree = tree_util.tree_flatten(args)
    t_leaves = tree_util.tree_leaves(tangent)
    plus, minus, t_eff = [], [], []
    for x, t in zip(arg_leaves, t_leaves):
        x = np.asarray(x)
        if not _is_float_leaf(x):
            plus.append(x)
            minus.append(x)
            t_eff.append(np.zeros(x.shape, x.dtype))
            continue
        x64, t64 = x.astype(np.float64), np.asarray(t, np.float64)
        xp = np.asarray(x64 + eps * t64, x.dtype)
        xm = np.asarray(x64 - eps * t64, x.dtype)
        plus.append(xp)
        minus.append(xm)
        t_eff.append(np.asarray((xp.astype(np.float64) - xm.astype(np.float64)) / (2 * eps),
                                x.dtype))
    f_plus, tree_p = tree_util.tree_flatten(f(*tree_util.tree_unflatten(arg_tree, plus)))
    f_minus, tree_m = tree_util.tree_flatten(f(*tree_util.tree_unflatten(arg_tree, minus)))
    if tree_p != tree_m:
        raise AssertionError(f"check_grads: f returned different structures {tree_p} and "
                             f"{tree_m} at nearby points")
    est, noise = [], []
    for a, b in zip(f_plus, f_minus):
        a, b = np.asarray(a), np.asarray(b)
        if _is_float_leaf(a):
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            est.append((a64 - b64) / (2 * eps))
            ulp = np.finfo(a.dtype).eps
            noise.append(_FD_ULPS * ulp * np.maximum(np.abs(a64), np.abs(b64)) / (2 * eps))
        else:
            est.append(np.zeros(a.shape, a.dtype))
            noise.append(np.zeros(a.shape))
    return (tree_util.tree_unflatten(tree_p, est),
            tree_util.tree_unflatten(arg_tree, t_eff),
            tree_util.tree_unflatten(tree_p, noise))


def _describe(x):
    x = np.asarray(x)
    return f"{x.dtype}{list(x.shape)}"


def _check_close(actual, expected, atol, rtol, what, extra_tol=None):
    """Leafwise |actual - expected| <= atol + rtol |expected| (+ extra_tol)."""
    a_leaves, a_tree = tree_util.tree_flatten(actual)
    e_leaves, e_tree = tree_util.tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"check_grads: {what}: structure {a_tree} differs from the "
                             f"expected {e_tree}")
    x_leaves = (tree_util.tree_leaves(extra_tol) if extra_tol is not None
                else [0.0] * len(a_leaves))
    for i, (a, e, x) in enumerate(zip(a_leaves, e_leaves, x_leaves)):
        a, e = np.asarray(a), np.asarray(e)
        if a.shape != e.shape:
            raise AssertionError(f"check_grads: {what}: leaf {i} has shape {a.shape}, "
                                 f"expected {e.shape}")
        if not _is_float_leaf(e) and not _is_float_leaf(a):
            if not np.array_equal(a, e):
                raise AssertionError(f"check_grads: {what}: leaf {i} differs:\n"
                                     f"  got      {a}\n  expected {e}")
            continue
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        err = np.abs(a64 - e64)
        tol = atol + rtol * np.abs(e64) + np.asarray(x, np.float64)
        bad = ~(err <= tol) & ~(np.isnan(a64) & np.isnan(e64))
        if np.any(bad):
            k = np.unravel_index(np.argmax(np.where(bad, err - tol, -np.inf)), err.shape)
            raise AssertionError(
                f"check_grads: {what}: leaf {i} ({_describe(a)}) mismatches at "
                f"{int(np.sum(bad))} of {err.size} element(s); worst at index {k}: "
                f"got {float(a64[k])!r}, expected {float(e64[k])!r} "
                f"(|err| {err[k]:.3g} > tol {tol[k]:.3g}, "
                f"atol={atol:g}, rtol={rtol:g})\n  got:      {a}\n  expected: {e}")


def _check_dtypes(actual, expected, what):
    for i, (a, e) in enumerate(zip(_leaves(actual), _leaves(expected))):
        if _is_float_leaf(e) and a.dtype != e.dtype:
            raise AssertionError(f"check_grads: {what}: leaf {i} has dtype {a.dtype}, "
                                 f"expected {e.dtype}")


def _tolerances(atol, rtol, eps, *trees):
    dtype = _lowest_precision(*trees)
    default = _GRAD_TOL.get(dtype, 1e-5)
    return (default if atol is None else atol, default if rtol is None else rtol,
            _EPS.get(dtype, 1e-6) if eps is None else eps)


def _tight_tolerance(*trees):
    """Tolerance for two AD results that differ only by rounding (vjp vs jvp)."""
    return float(np.sqrt(np.finfo(_lowest_precision(*trees)).eps))


def check_jvp(f, f_jvp, args, atol=None, rtol=None, eps=None, err_msg="JVP"):
    """Check `f_jvp(args, tangents) -> (out, t_out)` against `f` and finite differences."""
    rng = np.random.default_rng(0)
    out_expected = f(*args)
    atol, rtol, eps = _tolerances(atol, rtol, eps, args, out_expected)
    t = _random_direction(rng, args)
    fd, t_eff, noise = numerical_jvp(f, args, t, eps)
    out, t_out = f_jvp(args, t_eff)
    _check_close(out, out_expected, atol, rtol, f"{err_msg}: primal output")
    _check_dtypes(out, out_expected, f"{err_msg}: primal output")
    _check_dtypes(t_out, out_expected, f"{err_msg}: tangent output (its dtype must be "
                  "the primal output's)")
    _check_close(t_out, fd, atol, rtol, f"{err_msg}: tangent vs central finite differences "
                 f"(step {eps:g}, random direction)", extra_tol=noise)


def check_vjp(f, f_vjp, args, atol=None, rtol=None, eps=None, err_msg="VJP", f_jvp=None):
    """Check `f_vjp(*args) -> (out, vjp_fn)` by `<ct, J t> == <J^T ct, t>`, with `J t` from
    finite differences, and also (tighter) from `f_jvp(args, tangents)` when given."""
    rng = np.random.default_rng(1)
    out_expected = f(*args)
    user_atol, user_rtol = atol, rtol
    atol, rtol, eps = _tolerances(atol, rtol, eps, args, out_expected)
    out, vjp_fn = f_vjp(*args)
    _check_close(out, out_expected, atol, rtol, f"{err_msg}: primal output")
    _check_dtypes(out, out_expected, f"{err_msg}: primal output")
    t = _random_direction(rng, args)
    fd, t_eff, noise = numerical_jvp(f, args, t, eps)
    ct = tree_util.tree_map(functools.partial(_rand_like, rng), out)
    ct_in = vjp_fn(ct)
    if tree_util.tree_structure(ct_in) != tree_util.tree_structure(args):
        raise AssertionError(f"check_grads: {err_msg}: the cotangents' structure "
                             f"{tree_util.tree_structure(ct_in)} must be the arguments' "
                             f"{tree_util.tree_structure(args)}")
    _check_dtypes(ct_in, args, f"{err_msg}: input cotangent (its dtype must be the "
                  "argument's)")
    for i, (c, a) in enumerate(zip(_leaves(ct_in), _leaves(args))):
        if c.shape != a.shape:
            raise AssertionError(f"check_grads: {err_msg}: cotangent {i} has shape "
                                 f"{c.shape}, its argument {a.shape}")
    ip_rev = _inner(ct_in, t_eff)
    ip_fd = _inner(ct, fd)
    # Propagate the elementwise tolerance of the finite differences to the inner product.
    bound = (atol * _inner(_abs_tree(ct), tree_util.tree_map(np.ones_like, _abs_tree(fd)))
             + rtol * _inner(_abs_tree(ct), _abs_tree(fd)) + _inner(_abs_tree(ct), noise))
    if not abs(ip_rev - ip_fd) <= bound:
        raise AssertionError(
            f"check_grads: {err_msg}: <J^T ct, t> = {ip_rev!r} but <ct, J t> = {ip_fd!r} "
            f"with J t from central finite differences (|diff| {abs(ip_rev - ip_fd):.3g} > "
            f"{bound:.3g}); the reverse-mode derivative is wrong")
    if f_jvp is not None:
        _, jt = f_jvp(args, t_eff)
        ip_fwd = _inner(ct, jt)
        # Rounding errors scale with the sums of absolute terms; the last term is the
        # floor for derivatives that cancel to zero (taking O(1) Jacobian entries).
        scale = (_inner(_abs_tree(ct), _abs_tree(jt)) + _inner(_abs_tree(ct_in), _abs_tree(t_eff))
                 + np.sqrt(_inner(ct, ct) * _inner(t_eff, t_eff)))
        tight = _tight_tolerance(args, out) if user_rtol is None else user_rtol
        if not abs(ip_rev - ip_fwd) <= (user_atol or 0.0) + tight * scale:
            raise AssertionError(
                f"check_grads: {err_msg}: <J^T ct, t> = {ip_rev!r} (reverse mode) but "
                f"<ct, J t> = {ip_fwd!r} (forward mode); |diff| {abs(ip_rev - ip_fwd):.3g} "
                f"> {tight:.3g} * {scale:.3g}: forward and reverse mode disagree")


def check_grads(f, args, order=2, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check the derivatives of `f` at `args` up to `order` (raises AssertionError).

    "fwd": `fxad.jvp` against central finite differences in a random direction (a step of
    `eps` relative to each argument element's magnitude, absolute below 1). "rev":
    `fxad.vjp` against finite differences and (when "fwd" is checked too) against
    `fxad.jvp` by `<ct, J t> == <J^T ct, t>`. With `order > 1`
    the same checks run on the JVP map `(primals, tangents) -> jvp(f, ...)` and on the
    VJP map `args -> vjp_fn(f(args))`, recursively. `args` is a tuple of pytrees;
    default tolerances and steps depend on the lowest floating-point precision among the
    arguments and results (pass `eps`, `atol`, `rtol` for a function that computes in
    lower precision inside).

    >>> import fxad.numpy as fnp
    >>> check_grads(lambda x, y: fnp.sin(x) * y, (0.5, 2.0), order=2)
    >>> check_grads(lambda x: fnp.floor(x) + x, (0.5,), order=1)   # floor' = 0 a.e.
    """
    args = tuple(args)
    check = dict(atol=atol, rtol=rtol, eps=eps)

    def jvp_of(fun):
        return lambda primals, tangents: api.jvp(fun, tuple(primals), tuple(tangents))

    def _check(fun, args, order, what):
        if "fwd" in modes:
            msg = f"JVP of {what}" if what else "JVP"
            check_jvp(fun, jvp_of(fun), args, err_msg=msg, **check)
            if order > 1:
                _check(jvp_of(fun), (args, args), order - 1, msg)
        if "rev" in modes:
            msg = f"VJP of {what}" if what else "VJP"
            check_vjp(fun, functools.partial(api.vjp, fun), args, err_msg=msg,
                      f_jvp=jvp_of(fun) if "fwd" in modes else None, **check)
            if order > 1:
                def vjp_map(*a):
                    out, vjp_fn = api.vjp(fun, *a)
                    return vjp_fn(out)
                _check(vjp_map, args, order - 1, msg)

    for leaf in tree_util.tree_leaves(args):
        if isinstance(leaf, Tracer):
            raise TypeError("check_grads needs concrete arguments (NumPy arrays or "
                            "scalars), not traced values")
    _check(f, args, order, "")
