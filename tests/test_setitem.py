"""`x[idx] = v` (and `x[idx] += v`...) on traced values: NumPy's in-place semantics.

The object `x` takes the value `x.at[idx].set(v)`: values are checked against the same
code run by NumPy on concrete arrays, under every transform, and derivatives against the
functional `.at[].set` form, between forward and reverse mode, and finite differences.
"""
import operator

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import fxad
import fxad.numpy as fnp
from fxad.errors import ConcretizationTypeError, UnexpectedTracerError
from fxad.test_util import check_grads

from _strategies import examples, shapes

# --------------------------------------------------------------------------- generated


@st.composite
def index_cases(draw):
    """(x, index, v): a float array, a NumPy index of any form, and a value that NumPy's
    assignment accepts for it (broadcastable, maybe with an extra leading 1)."""
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=4))
    kind = draw(st.sampled_from(["basic", "int arrays", "mask", "mixed"]))
    if kind == "basic":          # ints, slices, None, Ellipsis
        index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int arrays":   # may repeat positions: the last assignment wins
        index = draw(hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)))
    elif kind == "mask":
        index = draw(hnp.arrays(np.bool_, shape))
    else:                        # a slice (or Ellipsis), then an index array
        lead = Ellipsis if len(shape) == 1 else slice(draw(st.integers(-shape[0], shape[0])),
                                                      None)
        n = shape[len(shape) > 1]
        index = (lead, draw(hnp.arrays(np.int64, draw(st.integers(1, 3)),
                                       elements=st.integers(-n, n - 1))))
    idx_shape = np.zeros(shape)[index].shape
    k = draw(st.integers(0, len(idx_shape)))     # trailing axes, each kept or made 1
    v_shape = tuple(draw(st.sampled_from([n, 1])) for n in idx_shape[len(idx_shape) - k:])
    if idx_shape and k == len(idx_shape) and kind != "mask" and draw(st.booleans()):
        v_shape = (1,) + v_shape                 # NumPy drops leading 1s here
    elems = st.floats(-3, 3, allow_subnormal=False)
    return (draw(hnp.arrays(np.float64, shape, elements=elems)), index,
            draw(hnp.arrays(np.float64, v_shape, elements=elems)))


def _numpy(update, x, v):
    """What NumPy computes: `update` applied in place to a copy of `x`."""
    x = x.copy()
    update(x, v)
    return x


def _in_place(update):
    """`update` as a function: it modifies its (traced) input in place, returns it."""
    def f(x, v):
        update(x, v)
        return x
    return f


AUGMENTED = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
             "/=": operator.itruediv, "**=": operator.ipow}


@given(index_cases())
@examples(2.0)
def test_set_agrees_with_numpy_under_every_transform(case):
    x, index, v = case
    def update(y, w):
        y[index] = w
    f, expected = _in_place(update), _numpy(update, x, v)
    x_before = x.copy()
    np.testing.assert_array_equal(fxad.jit(f)(x, v), expected)
    np.testing.assert_array_equal(fxad.eval_jaxpr(fxad.make_jaxpr(f)(x, v), x, v)[0],
                                  expected)
    xs, vs = np.stack([x, x + 1.0]), np.stack([v, 2.0 * v])
    np.testing.assert_array_equal(fxad.vmap(f)(xs, vs),
                                  [_numpy(update, a, b) for a, b in zip(xs, vs)])
    # assignment is linear in (x, v): the tangent is the assignment of the tangents
    tx, tv = np.cos(x + 1.0), np.sin(v + 1.0)
    out, t_out = fxad.jvp(f, (x, v), (tx, tv))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(t_out, _numpy(update, tx, tv))
    # reverse mode: the same as the functional form, and the transpose of forward mode
    ct = np.cos(3.0 * expected)
    cts = fxad.vjp(f, x, v)[1](ct)
    cts_at = fxad.vjp(lambda x, v: x.at[index].set(v), x, v)[1](ct)
    for a, b in zip(cts, cts_at):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.sum(ct * t_out), np.sum(cts[0] * tx) + np.sum(cts[1] * tv))
    np.testing.assert_array_equal(x, x_before)          # the caller's array is untouched


@given(index_cases(), st.sampled_from(sorted(AUGMENTED)))
@examples(1.0)
def test_augmented_assignment_agrees_with_numpy(case, op):
    # Python runs `y[i] += v` as y[i] = y[i].__iadd__(v): a repeated index adds once
    x, index, v = case
    if v.ndim > x[index].ndim:                   # `y[i] += v` is in place on y[i] first
        v = v[0]
    if op in ("/=", "**="):
        v = 1.0 + np.abs(v)
    if op == "**=":
        x = 0.5 + np.abs(x)
    def update(y, w):
        y[index] = AUGMENTED[op](y[index], w)
    f, expected = _in_place(update), _numpy(update, x, v)
    np.testing.assert_allclose(fxad.jit(f)(x, v), expected, rtol=1e-12)
    np.testing.assert_allclose(fxad.jvp(f, (x, v), (x, v))[0], expected, rtol=1e-12)
    check_grads(lambda x, v: f(x * 1.0, v), (x, v), order=1)


# --------------------------------------------------------------------------- gradients


def test_gradient_of_the_example_in_the_issue():
    def f(x):
        y = x * 1.0
        y[1] = x[0] ** 2
        return fnp.sum(y)
    def f_at(x):
        return fnp.sum((x * 1.0).at[1].set(x[0] ** 2))
    x = np.array([3.0, 4.0, 5.0])
    np.testing.assert_array_equal(fxad.grad(f)(x), [7.0, 0.0, 1.0])   # 1 + 2 x0
    np.testing.assert_array_equal(fxad.grad(f)(x), fxad.grad(f_at)(x))
    np.testing.assert_array_equal(fxad.hessian(f)(x), fxad.hessian(f_at)(x))
    np.testing.assert_array_equal(fxad.jacfwd(f)(x), fxad.jacrev(f)(x))
    check_grads(f, (x,), order=2)


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "**="])
def test_augmented_gradients(op):
    def f(x, v):
        y = x * 1.0
        y[1:] = AUGMENTED[op](y[1:], v)
        y[0] = AUGMENTED[op](y[0], y[2])
        return fnp.sum(fnp.sin(y))
    x, v = np.array([0.7, 1.3, 0.4]), np.array([1.5, 0.9])
    check_grads(f, (x, v), order=2)
    check_grads(fxad.jit(f), (x, v), order=1)


def test_mutating_the_input_does_not_reach_the_caller():
    def f(x):
        x[0] = 0.0
        return fnp.sum(x ** 2)
    x = np.array([3.0, 4.0, 5.0])
    np.testing.assert_array_equal(fxad.grad(f)(x), [0.0, 8.0, 10.0])
    np.testing.assert_array_equal(x, [3.0, 4.0, 5.0])
    jitted = fxad.jit(f)
    for _ in range(3):                               # traced, interpreted, compiled
        assert float(jitted(x)) == 41.0
    jaxpr = fxad.make_jaxpr(f)(x)
    assert float(fxad.eval_jaxpr(jaxpr, x)[0]) == 41.0
    assert jaxpr.invars[0] not in jaxpr.outvars
    np.testing.assert_array_equal(fxad.vmap(fxad.grad(f))(np.stack([x, x])), [[0, 8, 10]] * 2)
    np.testing.assert_array_equal(x, [3.0, 4.0, 5.0])


def test_every_transform_and_nesting():
    def f(x):
        y = x * 1.0
        y[0] = y[1] * y[2]
        y[1:] *= x[0]
        return fnp.sum(y ** 2)
    def f_at(x):
        y = x * 1.0
        y = y.at[0].set(y[1] * y[2])
        y = y.at[1:].multiply(x[0])
        return fnp.sum(y ** 2)
    x = np.array([0.5, -1.5, 2.0])
    t = np.array([1.0, 2.0, -1.0])
    same = np.testing.assert_allclose
    same(fxad.grad(f)(x), fxad.grad(f_at)(x))
    same(fxad.hessian(f)(x), fxad.hessian(f_at)(x))
    same(fxad.jvp(f, (x,), (t,)), fxad.jvp(f_at, (x,), (t,)))
    same(fxad.linearize(f, x)[1](t), fxad.jvp(f_at, (x,), (t,))[1])
    same(fxad.vjp(f, x)[1](2.0), fxad.vjp(f_at, x)[1](2.0))
    same(fxad.jit(fxad.grad(f))(x), fxad.grad(f_at)(x))
    same(fxad.grad(fxad.jit(f))(x), fxad.grad(f_at)(x))
    same(fxad.jvp(fxad.grad(f), (x,), (t,))[1], fxad.jvp(fxad.grad(f_at), (x,), (t,))[1])
    xs = np.stack([x, 2.0 * x])
    same(fxad.vmap(fxad.grad(f))(xs), fxad.vmap(fxad.grad(f_at))(xs))
    same(fxad.grad(lambda xs: fnp.sum(fxad.vmap(f)(xs)))(xs), fxad.vmap(fxad.grad(f_at))(xs))
    g = lambda s: f(s * x)                            # noqa: E731  (a scalar: grad(grad))
    g_at = lambda s: f_at(s * x)                      # noqa: E731
    same(fxad.grad(fxad.grad(g))(1.5), fxad.grad(fxad.grad(g_at))(1.5))
    check_grads(f, (x,), order=2)


def test_inside_control_flow_bodies():
    def body(i, y):
        y[i] = y[i - 1] * 2.0
        return y
    def loop(x):
        return fnp.sum(fxad.lax.fori_loop(1, 3, body, x * 1.0) ** 2)
    def step(c, xi):
        c[0] += xi
        c[1] *= xi
        return c, c[0] * c[1]
    def scan(x):
        c, ys = fxad.lax.scan(step, x[:2] * 1.0, x)
        return fnp.sum(c) + fnp.sum(ys)
    def branch(y):
        y[0] = y[1] ** 2
        return y
    def cond(x):
        return fnp.sum(fxad.lax.cond(x[0] > 0, branch, lambda y: y * 1.0, x * 1.0) ** 2)
    x = np.array([0.5, 1.5, -0.7])
    for f in (loop, scan, cond):
        for g in (f, fxad.jit(f)):
            check_grads(g, (x,), order=1)
        np.testing.assert_allclose(fxad.jit(f)(x), f(x))
        np.testing.assert_allclose(fxad.jit(fxad.grad(f))(x), fxad.grad(f)(x))
    assert float(loop(x)) == 0.5 ** 2 + 1.0 ** 2 + 2.0 ** 2


def test_a_body_assigning_into_its_argument_leaves_the_callers_array():
    # run as Python or staged (under jit), a body changes only the loop's own value
    def body(i, c):
        c[i] = 0.0
        return c
    def step(c, x):
        c[0] = x
        return c, x
    def branch(c):
        c[1] = 0.0
        return c
    def f(x):
        a = fxad.lax.fori_loop(0, 2, body, x)
        b = fxad.lax.scan(step, x, x)[0]
        c = fxad.lax.cond(x[0] > 0, branch, branch, x)
        d = fxad.lax.while_loop(lambda c: c[2] > 0, lambda c: branch(c) - 1.0, x)
        return x, a, b, c, d
    x = np.array([1.0, 2.0, 3.0])
    expected = (x, [0, 0, 3], [3, 2, 3], [1, 0, 3], [-2, -1, 0])
    for outs in (f(x.copy()), fxad.jit(f)(x), fxad.jvp(f, (x,), (x,))[0]):
        for out, e in zip(outs, expected):
            np.testing.assert_array_equal(out, e)


# --------------------------------------------------------------------------- semantics


def test_aliases_see_the_change_views_do_not():
    def f(x):
        y = x * 1.0
        alias, view, copy = y, y[1:], y.copy()
        y[1] = 5.0
        assert alias is y
        return alias, view, copy
    x = np.array([1.0, 2.0, 3.0])
    for transform in (fxad.jit, lambda f: lambda x: fxad.jvp(f, (x,), (x,))[0]):
        alias, view, copy = transform(f)(x)
        np.testing.assert_array_equal(alias, [1.0, 5.0, 3.0])
        np.testing.assert_array_equal(view, [2.0, 3.0])       # unlike NumPy: a copy
        np.testing.assert_array_equal(copy, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("make_copy", [
    lambda y: y.copy(), fnp.copy, fnp.array, lambda y: y.astype(y.dtype), lambda y: +y,
    np.copy, lambda y: y.flatten(), fnp.conj])
def test_copies_are_independent(make_copy):
    def f(x):
        y = x * 1.0
        c = make_copy(y)
        y[0] = 9.0
        c[1] = 7.0
        return y, c
    y, c = fxad.jit(f)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(y, [9.0, 2.0])
    np.testing.assert_array_equal(c, [1.0, 7.0])


def test_values_are_cast_to_the_arrays_dtype():
    def f(x, v):
        y = x.astype(np.int64)
        y[0] = v                      # float into int: truncated, as NumPy does
        b = x > 1.0
        b[1] = v                      # nonzero into bool: True
        return y, b
    x, v = np.array([0.5, 2.5, 1.5]), -2.7
    ref_y, ref_b = x.astype(np.int64), x > 1.0
    ref_y[0], ref_b[1] = v, v
    for y, b in (fxad.jit(f)(x, v), fxad.vmap(f)(x[None], np.array([v]))):
        np.testing.assert_array_equal(np.reshape(y, (-1, 3))[0], ref_y)
        np.testing.assert_array_equal(np.reshape(b, (-1, 3))[0], ref_b)
    def g(x):
        y = fnp.zeros(3, np.float32) + x.astype(np.float32)
        y[0] = x[1] * 2.0                             # float64 value, float32 array
        return fnp.sum(y)
    assert fxad.jit(g)(np.ones(3)).dtype == np.float32
    assert fxad.grad(g)(np.ones(3)).dtype == np.float64


def test_masks_with_a_scalar_need_no_concrete_mask():
    def f(x):
        x[x < 0] = 0.0
        x[fnp.abs(x) > 2.0] *= 0.5              # `*=` reads x[mask]: needs the values
        return x
    x = np.array([-1.0, 3.0, 1.0])
    ref = np.maximum(x, 0)
    ref[ref > 2] *= 0.5
    np.testing.assert_array_equal(fxad.grad(lambda x: fnp.sum(f(x) ** 2))(x), [0, 1.5, 2])
    np.testing.assert_array_equal(f(x.copy()), ref)
    clip = lambda x: (x.__setitem__(x < 0, 0.0), x)[1]        # noqa: E731
    np.testing.assert_array_equal(fxad.jit(clip)(x), [0, 3, 1])
    np.testing.assert_array_equal(fxad.vmap(clip)(np.stack([x, -x])), [[0, 3, 1], [1, 0, 0]])
    with pytest.raises(ConcretizationTypeError, match="Boolean-mask"):
        fxad.jit(f)(x)                            # x[mask] *= 0.5: the mask's count matters


def test_traced_index_arrays_under_jit():
    def f(x, i, v):
        x[i] = v
        return x
    x = np.zeros(4)
    np.testing.assert_array_equal(fxad.jit(f)(x, np.array([3, 1]), np.array([1.0, 2.0])),
                                  [0, 2, 0, 1])
    np.testing.assert_array_equal(fxad.vmap(f)(np.zeros((2, 4)), np.array([0, 2]),
                                               np.array([5.0, 6.0])),
                                  [[5, 0, 0, 0], [0, 0, 6, 0]])


def test_under_no_grad():
    # as `y = y.at[0].set(...)` under no_grad: all of y is a constant from then on
    def f(x, functional):
        y = x * 2.0
        with fxad.no_grad():
            if functional:
                y = y.at[0].set(x[1] * 3.0)
            else:
                y[0] = x[1] * 3.0
        return fnp.sum(y * x)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(fxad.grad(f)(x, False), [6.0, 4.0])   # y = [6, 4]
    np.testing.assert_array_equal(fxad.grad(f)(x, False), fxad.grad(f)(x, True))


# --------------------------------------------------------------------------- nesting


def test_assigning_an_inner_value_into_an_outer_array():
    # y belongs to the outer grad, w to the inner one: y becomes an inner value
    def outer(x):
        y = x * 1.0
        def inner(w):
            y[0] = w * x[1]
            return fnp.sum(y * y)
        return fxad.grad(inner)(2.0), y
    x = np.array([1.0, 3.0])
    with pytest.raises(UnexpectedTracerError):   # y escaped the inner grad, as any value
        fxad.grad(lambda x: outer(x)[1].sum())(x)   # computed in it would
    # d/dw of (w x1)^2 + x1^2 is 2 w x1^2; its derivative in x is [0, 4 w x1]
    np.testing.assert_allclose(fxad.grad(lambda x: outer(x)[0])(x), [0.0, 24.0])


@pytest.mark.parametrize("outer", ["jit", "vmap", "grad"])
def test_an_array_of_one_transform_takes_a_value_of_another(outer):
    # y (staged / batched / differentiated by the outer transform) becomes a JVP value
    # of the inner jvp: it changes its class in place
    def inner_jvp(a):
        y = a * 1.0
        def g(w):
            y[0] = w
            return fnp.sum(y * y)
        return fxad.jvp(g, (2.0,), (1.0,))[1]    # d/dw (w^2 + ...) = 2 w = 4
    if outer == "vmap":
        np.testing.assert_array_equal(fxad.vmap(inner_jvp)(np.ones((2, 2))), [4.0, 4.0])
    elif outer == "jit":
        assert float(fxad.jit(inner_jvp)(np.ones(2))) == 4.0
    else:
        np.testing.assert_array_equal(fxad.grad(inner_jvp)(np.ones(2)), [0.0, 0.0])


def test_a_captured_outer_value_changed_later_in_the_same_trace():
    # the inner grad's linear program captures y; changing y afterwards must not change
    # what was captured
    def outer(x, assign):
        y = x * 1.0
        def inner(w):
            a = y * w
            y_new = assign(y)
            return fnp.sum(a + y_new * w)
        return fxad.grad(inner)(2.0)
    in_place = lambda y: (y.__setitem__(0, 5.0), y)[1]          # noqa: E731
    functional = lambda y: fnp.at(y)[0].set(5.0)                    # noqa: E731
    x = np.array([1.0, 3.0])
    for transform in (fxad.grad, fxad.jit, lambda f: lambda x: fxad.jvp(f, (x,), (x,))[1]):
        f = transform(lambda x: outer(x, in_place))
        np.testing.assert_array_equal(f(x), transform(lambda x: outer(x, functional))(x))
    assert float(fxad.jit(lambda x: outer(x, in_place))(x)) == 12.0   # sum(y) + 5 + 3
