"""Every user error the issue lists: the right exception type, raised where the mistake
is made, with a message that names the problem and says what to do."""
import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.errors import (ConcretizationTypeError, TracerArrayConversionError,
                         UnexpectedTracerError)
from fxad.test_util import check_grads


# --------------------------------------------------------------------------- grad misuse


@pytest.mark.parametrize("shape", [(3,), (2, 2), (1,)])
def test_grad_of_non_scalar_output(shape):
    with pytest.raises(TypeError) as info:
        fxad.grad(lambda x: x * 2.0)(np.ones(shape))
    msg = str(info.value)
    assert str(shape) in msg and "scalar" in msg and "vjp" in msg


def test_grad_of_non_array_or_integer_output():
    with pytest.raises(TypeError, match="scalar"):
        fxad.grad(lambda x: (x, x))(1.0)
    with pytest.raises(TypeError, match="int64"):
        fxad.grad(lambda x: fnp.argmax(x))(np.array([1.0, 2.0]))


@pytest.mark.parametrize("bad", [3, np.arange(3), {"w": np.ones(2), "n": 2}, [1.0, True]])
def test_grad_wrt_integer_input(bad):
    with pytest.raises(TypeError) as info:
        fxad.grad(lambda x: fnp.sum(fnp.asarray(fxad.tree_util.tree_leaves(x)[0]) * 1.0))(bad)
    msg = str(info.value)
    assert "float" in msg and ("int" in msg or "bool" in msg)


def test_grad_wrt_integer_argument_left_out_of_argnums_is_fine():
    g = fxad.grad(lambda x, n: x ** n, argnums=0)(2.0, 3)
    assert g == 3 * 2.0 ** 2


def test_allow_int_gives_integer_inputs_zero_gradients():
    f = lambda x, n: fnp.sum(x * n)                                  # noqa: E731
    n = np.arange(3)
    gx, gn = fxad.grad(f, argnums=(0, 1), allow_int=True)(np.ones(3), n)
    np.testing.assert_array_equal(gx, n)
    assert gn.dtype == n.dtype and not gn.any()
    jx, jn = fxad.jacrev(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(np.ones(3), n)
    np.testing.assert_array_equal(jx, np.diag(n))
    assert jn.shape == (3, 3) and not jn.any()
    with pytest.raises(TypeError, match="allow_int"):
        fxad.jacrev(lambda x, n: x * n, argnums=(0, 1))(np.ones(3), n)


@pytest.mark.parametrize("transform", [fxad.grad, fxad.value_and_grad, fxad.jacfwd,
                                       fxad.jacrev, fxad.hessian])
def test_holomorphic_says_complex_numbers_are_not_supported(transform):
    with pytest.raises(NotImplementedError, match="complex"):
        transform(fnp.sin, holomorphic=True)


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("transform", ["grad", "make_jaxpr", "eager"])
def test_shape_mismatch_names_both_shapes(transform):
    f = lambda x, y: fnp.sum(x + y)
    x, y = np.ones((3, 4)), np.ones((2, 4))
    run = {"grad": lambda: fxad.grad(f)(x, y), "make_jaxpr": lambda: fxad.make_jaxpr(f)(x, y),
           "eager": lambda: f(x, y)}[transform]
    with pytest.raises(ValueError) as info:
        run()
    msg = str(info.value).replace(" ", "")
    assert "(3,4)" in msg and "(2,4)" in msg


def test_matmul_shape_mismatch_at_trace_time():
    with pytest.raises(ValueError) as info:
        fxad.make_jaxpr(lambda a, b: a @ b)(np.ones((2, 3)), np.ones((4, 5)))
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)


def test_primitive_shape_mismatch_names_both_types():
    with pytest.raises(ValueError) as info:
        fxad.make_jaxpr(fxad.lax.add)(np.ones(3), np.ones(2))
    assert "f64[3]" in str(info.value) and "f64[2]" in str(info.value)
    assert "fxad.numpy" in str(info.value)          # ... says what to use instead


def test_jvp_and_vjp_shape_errors():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)|\(3,\).*\(2,\)"):
        fxad.jvp(fnp.sin, (np.ones(3),), (np.ones(2),))
    _, vjp_fn = fxad.vjp(fnp.sin, np.ones(3))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)|\(3,\).*\(2,\)"):
        vjp_fn(np.ones(2))
    with pytest.raises(TypeError, match="tuple"):
        fxad.jvp(fnp.sin, np.ones(3), np.ones(3))


# --------------------------------------------------------------------------- unsupported NumPy


UNSUPPORTED = {
    "numpy.fft.fft": lambda x: np.sum(np.fft.fft(x).real),
    "numpy.histogram": lambda x: np.histogram(x)[0].sum() * x[0],
    "numpy.add.outer": lambda x: np.sum(np.add.outer(x, x)),
    "numpy.multiply.reduceat": lambda x: np.sum(np.multiply.reduceat(x, [0, 2])),
    "numpy.exp with ['dtype']": lambda x: np.sum(np.exp(x, dtype=np.float64)),
    "numpy.frexp": lambda x: np.sum(np.frexp(x)[0]),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
@pytest.mark.parametrize("transform", ["grad", "jvp", "make_jaxpr"])
def test_unsupported_numpy_function_names_it(name, transform):
    f, x = UNSUPPORTED[name], np.array([0.5, 1.5, -0.25, 2.0])
    run = {"grad": lambda: fxad.grad(f)(x), "jvp": lambda: fxad.jvp(f, (x,), (x,)),
           "make_jaxpr": lambda: fxad.make_jaxpr(f)(x)}[transform]
    with pytest.raises(NotImplementedError) as info:
        run()
    assert name in str(info.value) and "fxad.numpy" in str(info.value)


X4 = np.array([0.5, 1.5, -0.25, 2.0])
NUMPY_CALLS = {        # plain NumPy on a traced value: each works or says it is unsupported
    "sort": lambda x: np.sort(x) * X4,
    "cumprod": lambda x: np.cumprod(x),
    "median": lambda x: np.median(x),
    "linalg.norm": lambda x: np.linalg.norm(x),
    "polyfit": lambda x: np.polyfit(X4, x, 1),
    "bincount": lambda x: np.bincount(np.array([0, 1, 1, 0]), weights=x),
    "unwrap": lambda x: np.unwrap(x),
    "convolve": lambda x: np.convolve(x, X4),
    "interp": lambda x: np.interp(0.3, np.arange(4.0), x),
    "kron": lambda x: np.kron(x, X4),
    "ptp": lambda x: np.ptp(x),
    "linalg.det": lambda x: np.linalg.det(x.reshape(2, 2)),
    "apply_along_axis": lambda x: np.apply_along_axis(np.sum, 0, x),
}
ARRAY_METHODS = {
    "copy": lambda x: x.copy(),
    "argsort": lambda x: x.argsort() * 1.0 * x,
    "cumprod": lambda x: x.cumprod(),
    "repeat": lambda x: x.repeat(2),
    "take": lambda x: x.take(np.array([0, 2])),
    "diagonal": lambda x: x.reshape(2, 2).diagonal(),
    "trace": lambda x: x.reshape(2, 2).trace(),
}
CALLS = {**{f"numpy.{k}": v for k, v in NUMPY_CALLS.items()},
         **{f".{k}()": v for k, v in ARRAY_METHODS.items()}}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numpy_calls_work_or_say_they_are_unsupported(name):
    """Never an AttributeError or a silent wrong answer: either the call gives NumPy's
    value and correct derivatives, or it raises NotImplementedError naming the function."""
    call = CALLS[name]
    f = lambda v: fnp.sum(fnp.asarray(call(v)) * X4[0])
    try:
        value, g = fxad.value_and_grad(f)(X4)
    except NotImplementedError as e:
        assert name.strip(".()").split(".")[-1] in str(e)
        return
    np.testing.assert_allclose(value, np.sum(np.asarray(call(X4)) * X4[0]), rtol=1e-12)
    assert g.shape == X4.shape
    check_grads(f, (X4,), order=1)


# --------------------------------------------------------------------------- tracers


def test_tracer_used_after_its_transform_ended():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2.0

    fxad.grad(f)(1.0)
    (tracer,) = leaked
    for use in (lambda: tracer * 2.0, lambda: fnp.sin(tracer), lambda: np.sin(tracer),
                lambda: fxad.grad(lambda y: tracer * y)(1.0),
                lambda: fxad.make_jaxpr(lambda y: tracer + y)(1.0)):
        with pytest.raises(UnexpectedTracerError) as info:
            use()
        assert "outside the transform" in str(info.value)


def test_staged_tracer_used_after_make_jaxpr():
    leaked = []
    fxad.make_jaxpr(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(UnexpectedTracerError):
        fxad.grad(lambda y: leaked[0] * y)(1.0)


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda t: np.float64(t) + 0])
def test_numpy_conversion_of_a_tracer(convert):
    with pytest.raises(TracerArrayConversionError) as info:
        fxad.grad(lambda x: fnp.sum(convert(x)) * x)(1.0)
    assert "stop_gradient" in str(info.value)


@pytest.mark.parametrize("transform", [fxad.grad, fxad.jit, lambda f: fxad.grad(fxad.grad(f)),
                                       lambda f: lambda x: fxad.vmap(f)(np.ones(2) * x)],
                         ids=["grad", "jit", "grad(grad)", "vmap"])
@pytest.mark.parametrize("make_buf", [np.zeros, fnp.zeros])   # fnp.zeros gives NumPy's
def test_storing_a_tracer_into_a_numpy_array(transform, make_buf):
    # NumPy calls float(x), and reports its error as "setting an array element with a
    # sequence" (a tracer has __getitem__); fxad says what happened, at the user's line
    def f(x):
        buf = make_buf(3)
        buf[0] = x
        return fnp.sum(buf)
    with pytest.raises(TracerArrayConversionError, match="stored into a NumPy array") as info:
        transform(f)(1.0)
    assert "fxad.numpy.at(buf)[i].set(x)" in str(info.value)
    assert str(info.traceback[-1].statement).strip() == "buf[0] = x"

    def fixed(x):                                # what the message suggests works
        buf = fnp.at(make_buf(3))[0].set(x)
        buf[1] = 2.0 * x                         # buf is traced now: in place works too
        return fnp.sum(buf)
    assert float(fxad.grad(fixed)(1.0)) == 3.0


def test_storing_a_tracer_into_a_numpy_array_slice():
    # slices and index arrays go through __array__: its error points to `.at` too
    def f(x):
        buf = np.zeros(3)
        buf[:1] = x
        return fnp.sum(buf)
    with pytest.raises(TracerArrayConversionError, match=r"fxad\.numpy\.at\(buf\)"):
        fxad.grad(f)(1.0)


@pytest.mark.parametrize("transform", [fxad.jit, fxad.vmap], ids=["jit", "vmap"])
def test_indexing_a_numpy_array_with_a_traced_index(transform):
    # NumPy's own __getitem__ runs first and converts the index: say how to index instead
    table = np.arange(5.0)
    with pytest.raises(TracerArrayConversionError, match="index a NumPy array") as info:
        transform(lambda i: table[i])(np.array([1, 2]))
    assert "derivatives" not in str(info.value)        # an index has none to drop
    for fix in (lambda i: fnp.at(table)[i].get(), lambda i: fnp.take(table, i)):
        np.testing.assert_array_equal(transform(fix)(np.array([1, 2])), [1.0, 2.0])


def test_bool_of_abstract_value_under_make_jaxpr():
    with pytest.raises(ConcretizationTypeError) as info:
        fxad.make_jaxpr(lambda x: x * 2.0 if x > 0 else -x)(1.0)
    msg = str(info.value)
    assert "bool" in msg and "where" in msg and "cond" in msg


@pytest.mark.parametrize("use", [float, int, lambda t: t.item(), lambda t: range(t)])
def test_concrete_conversions_under_make_jaxpr(use):
    with pytest.raises(ConcretizationTypeError):
        fxad.make_jaxpr(lambda x: use(x))(np.int64(3) if use is not float else 1.0)


def test_float_of_a_value_being_differentiated_raises():
    # would silently drop the derivative
    with pytest.raises(ConcretizationTypeError, match="stop_gradient"):
        fxad.grad(lambda x: float(x) * x)(1.0)
    # but comparisons (which carry no derivative) are fine under grad
    assert fxad.grad(lambda x: x * 2.0 if x > 0 else -x)(1.0) == 2.0
