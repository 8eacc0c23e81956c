"""`fxad.test_util.check_grads` itself: it passes correct derivatives (pytrees, float32,
integer arguments) and catches a wrong JVP, a wrong transpose and a wrong second
derivative, each in the mode and order where the error lives."""
import contextlib

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.core import Primitive, registry
from fxad.primitives import elementwise as ew
from fxad.test_util import check_grads


@contextlib.contextmanager
def temporary_primitive(name):
    """A primitive that is removed from the registry afterwards (so the table-driven
    tests never see it)."""
    prim = Primitive(name)
    try:
        yield prim
    finally:
        registry.pop(name, None)


def test_passes_on_correct_derivatives():
    check_grads(lambda x, y: fnp.sin(x) * y, (0.5, 2.0), order=3)
    check_grads(lambda p: p["w"] @ p["x"] + fnp.sum(p["b"][0] ** 3),
                ({"w": np.ones((2, 3)), "x": np.arange(3.0), "b": [np.array([0.5, -1.0])]},),
                order=2)
    check_grads(lambda x: fnp.tanh(x) * 3.0, (np.linspace(-1, 1, 4).astype(np.float32),),
                order=2)
    check_grads(lambda x, n: x ** n, (1.3, 3), order=2)          # integer argument
    check_grads(lambda x: (x > 0, x * 2.0), (np.array([0.5, -0.5]),), order=2)


def test_catches_a_wrong_jvp():
    f = lambda x: x + fxad.stop_gradient(fnp.sin(x))
    with pytest.raises(AssertionError, match="finite differences"):
        check_grads(f, (0.5,), order=1, modes=("fwd",))
    with pytest.raises(AssertionError, match="finite differences"):
        check_grads(f, (0.5,), order=1, modes=("rev",))


def test_catches_a_wrong_transpose():
    with temporary_primitive("test_bad_scale") as prim:
        prim.impl = lambda x: 2.0 * x
        prim.abstract_eval = lambda x: x
        prim.jvp = lambda primals, tangents: (prim.bind(primals[0]), prim.bind(tangents[0]))
        prim.transpose = lambda ct, x: [ew.mul(ct, ew.const(ct, 3.0))]     # should be 2
        x = np.array([0.5, 1.0])
        check_grads(prim.bind, (x,), order=1, modes=("fwd",))
        with pytest.raises(AssertionError, match="reverse-mode|disagree"):
            check_grads(prim.bind, (x,), order=1, modes=("rev",))


def test_catches_a_wrong_second_derivative():
    with temporary_primitive("test_bad_square") as prim:
        prim.impl = lambda x: x * x
        prim.abstract_eval = lambda x: x
        # right at first order, but its own derivative is wrong: stop_gradient(x)
        prim.jvp = lambda primals, tangents: (
            prim.bind(primals[0]),
            ew.mul(tangents[0], ew.mul(ew.const(primals[0], 2.0),
                                       ew.stop_gradient_p.bind(primals[0]))))
        check_grads(prim.bind, (0.7,), order=1)
        with pytest.raises(AssertionError, match="JVP of JVP"):
            check_grads(prim.bind, (0.7,), order=2, modes=("fwd",))


def test_catches_a_wrong_output_dtype():
    with temporary_primitive("test_bad_dtype") as prim:
        prim.impl = lambda x: x * 2
        prim.abstract_eval = lambda x: x
        prim.jvp = lambda primals, tangents: (prim.bind(primals[0]),
                                              ew.convert_element_type(tangents[0], np.float64))
        with pytest.raises(AssertionError, match="dtype"):
            check_grads(prim.bind, (np.float32(1.5),), order=1, modes=("fwd",))


def test_rejects_traced_arguments():
    def f(x):
        check_grads(fnp.sin, (x,), order=1)
        return x
    with pytest.raises(TypeError, match="concrete"):
        fxad.grad(f)(1.0)
