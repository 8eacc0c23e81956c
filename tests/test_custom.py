"""User-defined derivatives (`custom_jvp`, `custom_vjp`) and `checkpoint` (remat).

The custom rules here are deliberately *different* from the function's true derivative
wherever the test must tell which one a transform used; expected values are derived from
the rule by hand (e.g. a rule `2 cos(x) t` for `sin` gives gradient `2 cos(x)`).
"""
import functools

import numpy as np
import pytest

import fxad                                          # noqa: E402
import fxad.numpy as fnp                             # noqa: E402
from fxad.ad import linearize_flat                   # noqa: E402

X = np.array([0.1, 0.5, 1.0, -2.0])


def close(got, want, rtol=1e-12, atol=1e-14):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def run_jitted(f, *args, calls=3):
    """`jit(f)(*args)` called `calls` times (interpreted, then compiled, then cached);
    every call must give the same result, which is returned."""
    jf = fxad.jit(f)
    results = [jf(*args) for _ in range(calls)]
    for r in results[1:]:
        for a, b in zip(fxad.tree_util.tree_leaves(r), fxad.tree_util.tree_leaves(results[0])):
            close(a, b)
    return results[0]


# --------------------------------------------------------------------------- custom_jvp


@fxad.custom_jvp
def sin2(x):
    """sin, with the derivative rule of 2 * sin (deliberately wrong, so tests can tell)."""
    return fnp.sin(x)


@sin2.defjvp
def _sin2_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return fnp.sin(x), 2.0 * fnp.cos(x) * t


def test_custom_jvp_values_are_the_function():
    close(sin2(X), np.sin(X))
    close(fxad.vmap(sin2)(X), np.sin(X))
    close(run_jitted(sin2, X), np.sin(X))
    close(fxad.jvp(sin2, (X,), (np.ones(4),))[0], np.sin(X))


def test_custom_jvp_rule_used_by_every_transform():
    want = 2.0 * np.cos(X)                             # the rule's derivative, not cos
    total = lambda x: fnp.sum(sin2(x))                # noqa: E731
    close(fxad.grad(total)(X), want)
    close(fxad.jvp(sin2, (X,), (np.ones(4),))[1], want)
    close(fxad.jacfwd(sin2)(X), np.diag(want))
    close(fxad.jacrev(sin2)(X), np.diag(want))
    close(fxad.vmap(fxad.grad(sin2))(X), want)
    close(fxad.grad(lambda x: fnp.sum(fxad.vmap(sin2)(x)))(X), want)
    close(run_jitted(fxad.grad(total), X), want)
    close(fxad.grad(fxad.jit(total))(X), want)
    close(run_jitted(fxad.vmap(fxad.grad(sin2)), X), want)
    _, f_jvp = fxad.linearize(sin2, X)
    close(f_jvp(np.ones(4)), want)
    # the rule is written with fxad ops, so it differentiates again: d/dx 2cos(x) = -2sin(x)
    close(fxad.grad(fxad.grad(sin2))(0.7), -2.0 * np.sin(0.7))
    close(fxad.hessian(total)(X), np.diag(-2.0 * np.sin(X)))
    # staged as one call (the body is not inlined into the program)
    jaxpr = fxad.make_jaxpr(sin2)(X)
    assert [e.prim.name for e in jaxpr.eqns] == ["custom_jvp_call"]
    close(fxad.eval_jaxpr(jaxpr, X)[0], np.sin(X))


def test_custom_jvp_rule_may_call_the_function_itself():
    @fxad.custom_jvp
    def f(x):
        return x ** 3

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 5.0 * t                         # d/dx by the rule: 5 everywhere

    close(fxad.grad(lambda x: fnp.sum(f(x)))(X), np.full(4, 5.0))
    close(fxad.jacrev(f)(X), 5.0 * np.eye(4))
    close(fxad.vmap(fxad.grad(f))(X), np.full(4, 5.0))


def test_custom_jvp_nondiff_argnums():
    @functools.partial(fxad.custom_jvp, nondiff_argnums=(0, 2))
    def apply(fn, x, n):
        out = x
        for _ in range(n):                        # Python control flow on the static n
            out = fn(out)
        return out

    seen = []

    @apply.defjvp
    def apply_jvp(fn, n, primals, tangents):
        seen.append((fn, n))
        (x,), (t,) = primals, tangents
        return apply(fn, x, n), 10.0 * n * t        # the rule's derivative: 10 n

    assert float(apply(fnp.sin, 0.3, 2)) == pytest.approx(np.sin(np.sin(0.3)))
    assert float(fxad.grad(apply, argnums=1)(fnp.sin, 0.3, 2)) == 20.0
    assert seen[-1] == (fnp.sin, 2)                  # nondiff args first, unchanged
    close(fxad.vmap(fxad.grad(lambda x: apply(fnp.tanh, x, 3)))(X), np.full(4, 30.0))
    jitted = fxad.jit(fxad.grad(lambda x, n: apply(fnp.cos, x, n), argnums=0),
                      static_argnums=1)
    for _ in range(3):
        assert float(jitted(0.4, 4)) == 40.0
    _, t = fxad.jvp(lambda x: apply(fnp.sin, x, 1), (X,), (np.ones(4),))
    close(t, np.full(4, 10.0))


def test_custom_jvp_pytrees_and_zero_tangents():
    @fxad.custom_jvp
    def f(p):
        return {"s": fnp.sum(p["a"] * p["b"]), "a2": p["a"] * 2.0}

    calls = []

    @f.defjvp
    def f_jvp(primals, tangents):
        (p,), (t,) = primals, tangents
        calls.append({k: np.shape(v) for k, v in t.items()})
        # the rule says: d s = 3 <b, da> + 3 <a, db>, d a2 = 7 da
        return f(p), {"s": 3.0 * (fnp.sum(p["b"] * t["a"]) + fnp.sum(p["a"] * t["b"])),
                      "a2": 7.0 * t["a"]}

    p = {"a": np.array([1.0, 2.0]), "b": np.array([0.5, -1.0])}
    g = fxad.grad(lambda a, b: f({"a": a, "b": b})["s"])(p["a"], p["b"])
    close(g, 3.0 * p["b"])
    # only `a` differentiated: the rule still gets a (zero) tangent of b's shape
    assert calls[-1] == {"a": (2,), "b": (2,)}
    J = fxad.jacrev(lambda a: f({"a": a, "b": p["b"]}))(p["a"])
    close(J["s"], 3.0 * p["b"])
    close(J["a2"], 7.0 * np.eye(2))
    Jf = fxad.jacfwd(lambda a: f({"a": a, "b": p["b"]}))(p["a"])
    close(Jf["s"], J["s"])
    close(Jf["a2"], J["a2"])


def test_custom_jvp_under_vmap_with_unbatched_arguments():
    @fxad.custom_jvp
    def scale(x, w):
        return x * w

    @scale.defjvp
    def scale_jvp(primals, tangents):
        (x, w), (tx, tw) = primals, tangents
        return x * w, tx * w * 2.0 + tw * x * 3.0        # the rule: 2w and 3x

    W = np.float64(1.5)
    close(fxad.vmap(scale, in_axes=(0, None))(X, W), X * W)
    gx = fxad.vmap(fxad.grad(scale, argnums=(0, 1)), in_axes=(0, None))(X, W)
    close(gx[0], np.full(4, 2.0 * W))
    close(gx[1], 3.0 * X)
    g = fxad.grad(lambda w: fnp.sum(fxad.vmap(scale, in_axes=(0, None))(X, w)))(W)
    close(g, 3.0 * X.sum())
    close(run_jitted(fxad.vmap(fxad.grad(scale), in_axes=(0, None)), X, W),
          np.full(4, 2.0 * W))
    # forward mode through the batched rule
    _, t = fxad.jvp(fxad.vmap(scale, in_axes=(0, None)), (X, W), (np.ones(4), 0.0))
    close(t, np.full(4, 2.0 * W))


@fxad.custom_jvp
def softplus(x):
    """log(1 + e^x), computed stably: max(x, 0) + log1p(e^-|x|)."""
    return fnp.maximum(x, 0.0) + fnp.log1p(fnp.exp(-fnp.abs(x)))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    e = fnp.exp(-fnp.abs(x))                         # <= 1: never overflows
    sigmoid = fnp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return softplus(x), sigmoid * t


EXTREME = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def test_numerically_safe_softplus_gradient():
    with np.errstate(all="ignore"):                 # the naive version overflows
        naive = fxad.grad(lambda x: fnp.sum(fnp.log1p(fnp.exp(x))))(EXTREME)
    assert not np.all(np.isfinite(naive))           # what the custom rule fixes
    g = fxad.grad(lambda x: fnp.sum(softplus(x)))(EXTREME)
    assert np.all(np.isfinite(g))
    close(g, _sigmoid(EXTREME))
    close(softplus(EXTREME), np.logaddexp(0.0, EXTREME))
    close(fxad.vmap(fxad.grad(softplus))(EXTREME), _sigmoid(EXTREME))
    close(run_jitted(fxad.grad(lambda x: fnp.sum(softplus(x))), EXTREME), _sigmoid(EXTREME))
    # the rule differentiates again: softplus'' = sigmoid (1 - sigmoid), finite too
    # (away from 0, where the rule's |x| has derivative sign(0) = 0)
    x = EXTREME[EXTREME != 0]
    h = fxad.vmap(fxad.grad(fxad.grad(softplus)))(x)
    close(h, _sigmoid(x) * (1.0 - _sigmoid(x)), atol=1e-15)


@fxad.custom_jvp
def logsumexp(x):
    m = fxad.stop_gradient(fnp.max(x))
    return m + fnp.log(fnp.sum(fnp.exp(x - m)))


@logsumexp.defjvp
def _logsumexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    out = logsumexp(x)
    p = fnp.exp(x - out)                              # softmax, computed stably
    return out, fnp.sum(p * t)


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_numerically_safe_logsumexp_gradient_and_hessian():
    x = np.array([1000.0, -1000.0, 999.0, 0.0])
    close(logsumexp(x), 1000.0 + np.log1p(np.exp(-1.0)))
    g = fxad.grad(logsumexp)(x)
    assert np.all(np.isfinite(g))
    close(g, _softmax(x))
    close(fxad.jacfwd(logsumexp)(x), _softmax(x))
    G = fxad.vmap(fxad.grad(logsumexp))(np.stack([x, -x, x / 1000.0]))
    close(G, np.stack([_softmax(x), _softmax(-x), _softmax(x / 1000.0)]))
    # the Hessian through the rule: diag(p) - p p^T
    y = np.array([0.3, -1.2, 2.0])
    p = _softmax(y)
    close(fxad.hessian(logsumexp)(y), np.diag(p) - np.outer(p, p))
    close(run_jitted(fxad.hessian(logsumexp), y), np.diag(p) - np.outer(p, p))


def test_custom_jvp_defjvps_one_rule_per_argument():
    """`defjvps`: per-argument rules summed; a None rule contributes nothing. The rules
    here are 2x the true partials, so every transform must have used them."""
    f = fxad.custom_jvp(lambda x, y: fnp.sin(x) * y)
    f.defjvps(lambda t, out, x, y: 2.0 * fnp.cos(x) * y * t,
              lambda t, out, x, y: 2.0 * fnp.sin(x) * t)
    y = X[::-1].copy()
    want_x, want_y = 2.0 * np.cos(X) * y, 2.0 * np.sin(X)
    loss = lambda x, y: fnp.sum(f(x, y))                          # noqa: E731
    for transform in (lambda g: g, fxad.jit):
        gx, gy = transform(fxad.grad(loss, argnums=(0, 1)))(X, y)
        close(gx, want_x)
        close(gy, want_y)
    close(fxad.jvp(f, (X, y), (np.ones(4), np.ones(4)))[1], want_x + want_y)
    close(fxad.vmap(fxad.grad(lambda a, b: f(a, b)))(X, y), want_x)
    g = fxad.custom_jvp(lambda x, y: x * y)
    g.defjvps(None, lambda t, out, x, y: x * t)                  # x contributes nothing
    close(fxad.grad(lambda x: g(x, 3.0))(2.0), 0.0)
    close(fxad.grad(lambda y: g(2.0, y))(3.0), 2.0)
    with pytest.raises(TypeError, match="nondiff_argnums"):
        fxad.custom_jvp(lambda n, x: x, nondiff_argnums=(0,)).defjvps(None)
    with pytest.raises(NotImplementedError, match="symbolic_zeros"):
        g.defjvp(lambda p, t: (p, t), symbolic_zeros=True)


def test_custom_jvp_without_rule_says_so():
    f = fxad.custom_jvp(lambda x: x * 2.0)
    with pytest.raises(AttributeError, match="defjvp"):
        f(1.0)


# --------------------------------------------------------------------------- custom_vjp


@fxad.custom_vjp
def clip_gradient(lo, hi, x):
    return x                                          # identity forward


def _clip_fwd(lo, hi, x):
    return x, (lo, hi)


def _clip_bwd(res, g):
    lo, hi = res
    return (None, None, fnp.clip(g, lo, hi))         # None: no cotangent for lo, hi


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def test_clip_gradient():
    w = np.array([-3.0, 0.2, 5.0, -0.4])
    loss = lambda x: fnp.sum(w * clip_gradient(-0.5, 0.5, x))        # noqa: E731
    close(loss(X), np.sum(w * X))
    close(fxad.grad(loss)(X), np.clip(w, -0.5, 0.5))
    close(run_jitted(fxad.grad(loss), X), np.clip(w, -0.5, 0.5))
    close(fxad.grad(fxad.jit(loss))(X), np.clip(w, -0.5, 0.5))
    # lo and hi are differentiable arguments that get zero cotangents
    g_lo, g_hi, g_x = fxad.grad(lambda lo, hi, x: fnp.sum(w * clip_gradient(lo, hi, x)),
                                argnums=(0, 1, 2))(-0.5, 0.5, X)
    assert float(g_lo) == 0.0 and float(g_hi) == 0.0
    close(g_x, np.clip(w, -0.5, 0.5))
    # per example, under vmap: the cotangent w_i * 10 is clipped per example
    close(fxad.vmap(fxad.grad(lambda x, wi: wi * 10.0 * clip_gradient(-1.0, 1.0, x)))(X, w),
          np.clip(10.0 * w, -1.0, 1.0))


# f(x, y) = sin(x) * y with residuals (cos x, sin x, y); the bwd counts its calls
_counts = {"fun": 0, "fwd": 0, "bwd": 0}


@fxad.custom_vjp
def sin_times(x, y):
    _counts["fun"] += 1
    return fnp.sin(x) * y


def _sin_times_fwd(x, y):
    _counts["fwd"] += 1
    return fnp.sin(x) * y, (fnp.cos(x), fnp.sin(x), y)


def _sin_times_bwd(res, g):
    _counts["bwd"] += 1
    cos_x, sin_x, y = res
    return g * cos_x * y, fnp.sum(g * sin_x)


sin_times.defvjp(_sin_times_fwd, _sin_times_bwd)


def _sin_times_plain(x, y):
    return fnp.sin(x) * y


def test_custom_vjp_fwd_bwd_with_residuals():
    y = np.float64(1.5)
    for k in _counts:
        _counts[k] = 0
    close(sin_times(X, y), np.sin(X) * y)
    assert _counts == {"fun": 1, "fwd": 0, "bwd": 0}        # plain evaluation: fun only
    loss = lambda x, y: fnp.sum(sin_times(x, y) ** 2)          # noqa: E731
    plain = lambda x, y: fnp.sum(_sin_times_plain(x, y) ** 2)  # noqa: E731
    g = fxad.grad(loss, argnums=(0, 1))(X, y)
    assert _counts["fwd"] == 1 and _counts["bwd"] == 1
    want = fxad.grad(plain, argnums=(0, 1))(X, y)
    close(g[0], want[0])
    close(g[1], want[1])
    assert np.shape(g[1]) == ()
    out, vjp_fn = fxad.vjp(sin_times, X, y)
    ct = np.array([1.0, -2.0, 0.5, 3.0])
    gx, gy = vjp_fn(ct)
    close(gx, ct * np.cos(X) * y)
    close(gy, np.sum(ct * np.sin(X)))
    close(fxad.jacrev(lambda x: sin_times(x, y))(X), np.diag(np.cos(X) * y))
    # second order: bwd is written with fxad ops, so it differentiates again
    close(fxad.grad(lambda x: fxad.grad(lambda v: fnp.sum(sin_times(v, y)))(x).sum())(X),
          -np.sin(X) * y)


def test_custom_vjp_under_jit():
    y = np.float64(0.7)
    loss = lambda x: fnp.sum(sin_times(x, y) ** 2)            # noqa: E731
    want = fxad.grad(lambda x: fnp.sum(_sin_times_plain(x, y) ** 2))(X)
    close(run_jitted(fxad.grad(loss), X), want)
    close(fxad.grad(fxad.jit(loss))(X), want)
    close(run_jitted(sin_times, X, y), np.sin(X) * y)
    jaxpr = fxad.make_jaxpr(sin_times)(X, y)
    assert [e.prim.name for e in jaxpr.eqns] == ["custom_vjp_call"]


def test_custom_vjp_under_vmap():
    rng = np.random.default_rng(0)
    XS, YS = rng.standard_normal((3, 4)), rng.standard_normal(3)
    close(fxad.vmap(sin_times)(XS, YS), np.sin(XS) * YS[:, None])
    close(fxad.vmap(sin_times, in_axes=(0, None))(XS, 2.0), np.sin(XS) * 2.0)
    loss = lambda x, y: fnp.sum(sin_times(x, y) ** 2)          # noqa: E731
    per_example = fxad.vmap(fxad.grad(loss, argnums=(0, 1)))(XS, YS)
    loop = [fxad.grad(loss, argnums=(0, 1))(x, y) for x, y in zip(XS, YS)]
    close(per_example[0], np.stack([gx for gx, _ in loop]))
    close(per_example[1], np.array([gy for _, gy in loop]))
    # unbatched y: its per-example cotangents are not summed
    g = fxad.vmap(fxad.grad(loss, argnums=1), in_axes=(0, None))(XS, 2.0)
    close(g, [fxad.grad(loss, argnums=1)(x, 2.0) for x in XS])
    # grad of vmap: the batch's cotangents reach y summed
    g = fxad.grad(lambda y: fnp.sum(fxad.vmap(sin_times, in_axes=(0, None))(XS, y)))(2.0)
    close(g, np.sum(np.sin(XS)))
    close(run_jitted(fxad.vmap(fxad.grad(loss)), XS, YS), np.stack([gx for gx, _ in loop]))


@pytest.mark.parametrize("transform", ["jvp", "jacfwd", "linearize", "vmap-jvp"])
def test_forward_mode_of_custom_vjp_raises_clearly(transform):
    f = lambda x: sin_times(x, 2.0)                                  # noqa: E731
    call = {"jvp": lambda: fxad.jvp(f, (X,), (np.ones(4),)),
            "jacfwd": lambda: fxad.jacfwd(f)(X),
            "linearize": lambda: fxad.linearize(f, X)[1](np.ones(4)),
            "vmap-jvp": lambda: fxad.vmap(lambda x: fxad.jvp(f, (x,), (x,))[1])(
                np.stack([X, X]))}[transform]
    # (linearize succeeds, as reverse mode needs it; evaluating its tangent map fails)
    with pytest.raises(TypeError, match="custom_vjp") as e:
        call()
    assert "sin_times" in str(e.value) and ("grad" in str(e.value) or "vjp" in str(e.value))


def test_forward_over_reverse_of_custom_vjp():
    """hessian = jacfwd(jacrev): forward mode then differentiates fwd's and bwd's bodies
    (ordinary fxad code), not the custom_vjp function itself, so it works..."""
    y = np.float64(2.0)
    H = fxad.hessian(lambda x: fnp.sum(sin_times(x, y)))(X)
    close(H, np.diag(-np.sin(X) * y))

    # ...unless fwd calls the custom_vjp function, which forward mode then meets
    @fxad.custom_vjp
    def f(x):
        return fnp.sin(x)

    f.defvjp(lambda x: (f(x), fnp.cos(x)), lambda c, g: (g * c,))
    close(fxad.grad(lambda x: fnp.sum(f(x)))(X), np.cos(X))
    with pytest.raises(TypeError, match="custom_vjp function f"):
        fxad.hessian(lambda x: fnp.sum(f(x)))(X)


def test_custom_vjp_nondiff_argnums_and_pytrees():
    @functools.partial(fxad.custom_vjp, nondiff_argnums=(0,))
    def scaled(k, p):
        return {"y": p["a"] * k, "z": fnp.sum(p["b"])}

    def fwd(k, p):
        return scaled(k, p), p["a"]

    def bwd(k, a, ct):
        # the rule says: d/da = 10 k ct_y + a ct_z, d/db = 0.5 ct_z (deliberately odd)
        return ({"a": 10.0 * k * ct["y"] + a * ct["z"],
                 "b": 0.5 * ct["z"] * fnp.ones_like(a)},)

    scaled.defvjp(fwd, bwd)
    p = {"a": np.array([1.0, -2.0]), "b": np.array([3.0, 4.0])}
    out = scaled(3, p)
    close(out["y"], p["a"] * 3)
    close(out["z"], 7.0)
    g = fxad.grad(lambda p: fnp.sum(scaled(3, p)["y"]) + 2.0 * scaled(3, p)["z"])(p)
    assert set(g) == {"a", "b"}
    close(g["a"], 10.0 * 3 * np.ones(2) + 2.0 * p["a"])
    close(g["b"], np.full(2, 1.0))
    close(fxad.vmap(lambda a: fxad.grad(lambda a: fnp.sum(scaled(2, {"a": a, "b": p["b"]})
                                                          ["y"]))(a))(np.ones((3, 2))),
          np.full((3, 2), 20.0))


def test_custom_vjp_bad_bwd_and_missing_rules_say_so():
    @fxad.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1],))   # one ct, not two
    with pytest.raises(TypeError, match="one cotangent per"):
        fxad.grad(f)(1.0, 2.0)
    g = fxad.custom_vjp(lambda x: x)
    with pytest.raises(AttributeError, match="defvjp"):
        g(1.0)


# --------------------------------------------------------------------------- checkpoint


def _layer(w):
    return lambda x: fnp.tanh(fnp.sin(x) * w + x)


def _chain(x, w, depth):
    for _ in range(depth):
        x = _layer(w)(x)
    return x


W = np.array([0.9, 1.1, -0.7])
X3 = np.array([0.3, -0.2, 0.8])


def test_checkpoint_same_values_and_gradients():
    plain = lambda x, w: fnp.sum(_chain(x, w, 5) ** 2)                         # noqa: E731
    remat = lambda x, w: fnp.sum(fxad.checkpoint(lambda x, w: _chain(x, w, 5))(x, w) ** 2)  # noqa
    close(remat(X3, W), plain(X3, W))
    g_plain = fxad.grad(plain, argnums=(0, 1))(X3, W)
    g_remat = fxad.grad(remat, argnums=(0, 1))(X3, W)
    for a, b in zip(g_remat, g_plain):
        close(a, b)
    # w closed over (a traced value captured by the checkpointed function)
    close(fxad.grad(lambda w: fxad.checkpoint(lambda x: fnp.sum(_chain(x, w, 3)))(X3))(W),
          fxad.grad(lambda w: fnp.sum(_chain(X3, w, 3)))(W))
    # forward mode, second order, jit, vmap
    _, t = fxad.jvp(lambda x: remat(x, W), (X3,), (np.ones(3),))
    _, t_plain = fxad.jvp(lambda x: plain(x, W), (X3,), (np.ones(3),))
    close(t, t_plain)
    close(fxad.hessian(lambda x: remat(x, W))(X3), fxad.hessian(lambda x: plain(x, W))(X3))
    short = lambda x: fnp.sum(fxad.checkpoint(_layer(W))(x) ** 2)              # noqa: E731
    close(run_jitted(fxad.grad(short), X3), fxad.grad(lambda x: fnp.sum(_layer(W)(x) ** 2))(X3))
    XS = np.stack([X3, -X3, 2 * X3])
    close(fxad.vmap(fxad.grad(remat), in_axes=(0, None))(XS, W),
          np.stack([fxad.grad(plain)(x, W) for x in XS]))
    close(fxad.grad(lambda xs: fnp.sum(fxad.vmap(remat, in_axes=(0, None))(xs, W)))(XS),
          np.stack([fxad.grad(plain)(x, W) for x in XS]))


def test_checkpoint_pytrees():
    def f(p, scale):
        return {"out": fnp.sin(p["a"]) * p["b"] * scale, "n": fnp.sum(p["a"])}

    p = {"a": X3, "b": W}
    got, want = fxad.checkpoint(f)(p, 2.0), f(p, 2.0)
    assert set(got) == {"out", "n"}
    close(got["out"], want["out"])
    loss = lambda p, ff: fnp.sum(ff(p, 2.0)["out"]) * ff(p, 2.0)["n"]    # noqa: E731
    g, g_want = fxad.grad(loss)(p, fxad.checkpoint(f)), fxad.grad(loss)(p, f)
    close(g["a"], g_want["a"])
    close(g["b"], g_want["b"])


def _n_residuals(f, x):
    """How many constants (stored residuals) reverse mode keeps for f at x."""
    _, jaxpr = linearize_flat(lambda v: [f(v)], [x])
    return len(jaxpr.consts)


def test_checkpoint_stores_only_its_inputs():
    counts = {}
    for depth in (4, 8):
        plain = lambda x, d=depth: _chain(x, W, d)                       # noqa: E731
        counts[depth] = (_n_residuals(plain, X3),
                         _n_residuals(fxad.checkpoint(plain), X3))
    (plain4, remat4), (plain8, remat8) = counts[4], counts[8]
    assert plain8 > plain4 > 0                  # without: residuals grow with depth
    assert remat8 == remat4                     # with: independent of depth
    assert remat8 < plain4
    # per-layer checkpoints store one input per layer, fewer than all intermediates
    per_layer = lambda x: functools.reduce(                             # noqa: E731
        lambda v, _: fxad.checkpoint(_layer(W))(v), range(8), x)
    close(per_layer(X3), _chain(X3, W, 8))
    assert remat8 < _n_residuals(per_layer, X3) < plain8


def test_checkpoint_static_argnums_policy_and_remat_alias():
    """JAX's signature: static arguments stay Python values (a depth, a function), the
    block still stores only its dynamic inputs; `remat` is the same function."""
    block = fxad.checkpoint(lambda x, w, depth: _chain(x, w, depth), static_argnums=(2,))
    for depth in (2, 5):
        close(block(X3, W, depth), _chain(X3, W, depth))
        g = fxad.grad(lambda w: fnp.sum(block(X3, w, depth) ** 2))(W)
        close(g, fxad.grad(lambda w: fnp.sum(_chain(X3, w, depth) ** 2))(W))
    assert _n_residuals(lambda x: block(x, W, 5), X3) == \
        _n_residuals(lambda x: block(x, W, 2), X3)
    negative = fxad.checkpoint(lambda f, x: f(x), static_argnums=-2)
    close(fxad.grad(lambda x: negative(fnp.sin, x))(0.3), np.cos(0.3))
    assert fxad.remat is fxad.checkpoint
    with pytest.raises(NotImplementedError, match="policies"):
        fxad.checkpoint(fnp.sin, policy=lambda *a, **k: True)
    with pytest.raises(ValueError, match="out of range"):
        fxad.checkpoint(fnp.sin, static_argnums=(3,))(1.0)
