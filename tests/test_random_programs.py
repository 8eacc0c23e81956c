"""Random programs: hypothesis builds compositions of fxad.numpy operations (elementwise
functions, broadcasting binary ops, reductions, indexing, contractions, with intermediate
values reused), and checks that the value matches NumPy and that finite differences,
jvp, vjp and second-order derivatives (grad∘grad / Hessian-vector products) agree.

A program is plain data (`Program`: input shapes and a list of instructions), drawn step
by step, so hypothesis shrinks a failure to a short program, printed like

    Program(xp=fnp, seed=3, inputs=[f64[3], f64[2,3]])
      v2 = sin(v0)
      v3 = mul(v2, v1)
      return v3

Domains are kept valid by construction (log and sqrt only see x*x + c, division only by
1 + x*x) and magnitudes by interval bounds tracked per value (exp only of bounded values,
products only below `CAP`). Input values come from a seeded generator, so kinks (max,
where) are hit only with probability zero. The "ci" profile runs 20 x its max_examples
(500) programs, the "dev" profile 10,000.
"""
import math
from typing import Callable, NamedTuple

import numpy as np
from hypothesis import given, strategies as st

import fxad
import fxad.numpy as fnp
from fxad.test_util import check_grads

from _strategies import examples

CAP = 1e3            # largest magnitude any intermediate value may reach
SHAPES = [(), (3,), (2, 1), (2, 3), (1, 3)]


class Op(NamedTuple):
    arity: int
    fn: Callable                 # fn(xp, *operands, **params)
    out: Callable                # (shapes, bounds, params) -> (shape, bound), or None


def _elementwise(bound):
    """Shape-preserving (or broadcasting) op with output bound `bound(*bounds, **params)`."""
    def out(shapes, bounds, params):
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            return None
        b = bound(*bounds, **params)
        return (shape, b) if b <= CAP else None
    return out


def _needs(cond, rule):
    """`rule`, applicable only where `cond(shapes, bounds)` holds."""
    def out(shapes, bounds, params):
        return rule(shapes, bounds, params) if cond(shapes, bounds) else None
    return out


def _reduce(axis, keepdims=False, bound=lambda b, n: b * n):
    def out(shapes, bounds, params):
        (shape,), (b,) = shapes, bounds
        if axis is not None and not shape:
            return None
        res = np.empty(shape).sum(axis=axis, keepdims=keepdims).shape
        n = int(np.prod(shape)) if axis is None else shape[axis]
        b = bound(b, n)
        return (res, b) if b <= CAP else None
    return out


def _shape_op(fn):
    """Op whose output shape is NumPy's on an empty array; bound unchanged."""
    def out(shapes, bounds, params):
        try:
            return np.shape(fn(np, *[np.zeros(s) for s in shapes], **params)), max(bounds)
        except (IndexError, ValueError):
            return None
    return out


def _matmul_out(shapes, bounds, params):
    sa, sb = shapes
    if not sa or not sb or sa[-1] != sb[0 if len(sb) == 1 else -2]:
        return None
    b = bounds[0] * bounds[1] * sa[-1]
    return (np.empty(sa) @ np.empty(sb)).shape, b if b <= CAP else None


def _concat_out(shapes, bounds, params):
    sa, sb = shapes
    if not sa or len(sa) != len(sb) or sa[1:] != sb[1:]:
        return None
    return (sa[0] + sb[0],) + sa[1:], max(bounds)


def _stack_out(shapes, bounds, params):
    return ((2,) + shapes[0], max(bounds)) if shapes[0] == shapes[1] else None


ONE = lambda *b, **p: 1.0            # noqa: E731

OPS = {
    # bounded elementwise functions
    "sin": Op(1, lambda xp, a: xp.sin(a), _elementwise(ONE)),
    "cos": Op(1, lambda xp, a: xp.cos(a), _elementwise(ONE)),
    "tanh": Op(1, lambda xp, a: xp.tanh(a), _elementwise(ONE)),
    "arctan": Op(1, lambda xp, a: xp.arctan(a), _elementwise(lambda b: math.pi / 2)),
    "logistic": Op(1, lambda xp, a: 1.0 / (1.0 + xp.exp(-a)), _elementwise(ONE)),
    "gauss": Op(1, lambda xp, a: xp.exp(-a * a), _elementwise(ONE)),
    "recip_sq1": Op(1, lambda xp, a: 1.0 / (a * a + 1.0), _elementwise(ONE)),
    # growing ones, limited by the bounds
    "exp": Op(1, lambda xp, a: xp.exp(a), _elementwise(lambda b: math.exp(min(b, 50)))),
    "expm1": Op(1, lambda xp, a: xp.expm1(a), _elementwise(lambda b: math.exp(min(b, 50)))),
    "sinh": Op(1, lambda xp, a: xp.sinh(a), _elementwise(lambda b: math.sinh(min(b, 50)))),
    "square": Op(1, lambda xp, a: a ** 2, _elementwise(lambda b: b * b)),
    "cube": Op(1, lambda xp, a: xp.power(a, 3), _elementwise(lambda b: b ** 3)),
    "neg": Op(1, lambda xp, a: -a, _elementwise(lambda b: b)),
    "scale": Op(1, lambda xp, a, c: a * c, _elementwise(lambda b, c: b * abs(c))),
    "shift": Op(1, lambda xp, a, c: a + c, _elementwise(lambda b, c: b + abs(c))),
    "arcsinh": Op(1, lambda xp, a: xp.arcsinh(a), _elementwise(lambda b: math.asinh(b))),
    "softplus": Op(1, lambda xp, a: xp.logaddexp(a, 0.0), _elementwise(lambda b: b + 1.0)),
    # functions with a restricted domain, applied only inside it
    "log_sq1": Op(1, lambda xp, a: xp.log(a * a + 1.0), _elementwise(lambda b: math.log1p(b * b))),
    "log_exp": Op(1, lambda xp, a: xp.log(xp.exp(a) + 0.5), _needs(
        lambda s, b: b[0] <= 30, _elementwise(lambda b: b + 1.0))),
    "sqrt_sq": Op(1, lambda xp, a: xp.sqrt(a * a + 0.5), _elementwise(lambda b: b + 1.0)),
    "cbrt_sq": Op(1, lambda xp, a: xp.cbrt(a * a + 0.5), _elementwise(lambda b: b + 1.0)),
    "pow_pos": Op(1, lambda xp, a, c: (a * a + 1.0) ** c,
                  _elementwise(lambda b, c: (b * b + 1.0) ** max(c, 0.0))),
    "arcsin_tanh": Op(1, lambda xp, a: xp.arcsin(xp.tanh(a) * 0.9), _elementwise(lambda b: 1.2)),
    # broadcasting binary ops (operands may be the same value)
    "add": Op(2, lambda xp, a, b: a + b, _elementwise(lambda x, y: x + y)),
    "sub": Op(2, lambda xp, a, b: a - b, _elementwise(lambda x, y: x + y)),
    "mul": Op(2, lambda xp, a, b: a * b, _elementwise(lambda x, y: x * y)),
    "div": Op(2, lambda xp, a, b: a / (b * b + 1.0), _elementwise(lambda x, y: x)),
    "maximum": Op(2, lambda xp, a, b: xp.maximum(a, b), _elementwise(max)),
    "minimum": Op(2, lambda xp, a, b: xp.minimum(a, b), _elementwise(max)),
    "logaddexp": Op(2, lambda xp, a, b: xp.logaddexp(a, b),
                    _elementwise(lambda x, y: max(x, y) + 1)),
    "arctan2": Op(2, lambda xp, a, b: xp.arctan2(a, b * b + 1.0), _elementwise(lambda x, y: 2.0)),
    "where": Op(2, lambda xp, a, b: xp.where(a > b, a * b, b),
                _elementwise(lambda x, y: x * y + y)),
    # reductions
    "sum": Op(1, lambda xp, a: xp.sum(a), _reduce(None)),
    "sum0": Op(1, lambda xp, a: a.sum(axis=0), _reduce(0)),
    "mean_last": Op(1, lambda xp, a: xp.mean(a, axis=-1, keepdims=True),
                    _reduce(-1, True, lambda b, n: b)),
    "max0": Op(1, lambda xp, a: xp.max(a, axis=0), _reduce(0, bound=lambda b, n: b)),
    "min_all": Op(1, lambda xp, a: a.min(), _reduce(None, bound=lambda b, n: b)),
    "var0": Op(1, lambda xp, a: xp.var(a, axis=0), _reduce(0, bound=lambda b, n: b * b)),
    "prod0": Op(1, lambda xp, a: xp.prod(a, axis=0), _reduce(0, bound=lambda b, n: b ** n)),
    "cumsum0": Op(1, lambda xp, a: xp.cumsum(a, axis=0), _needs(
        lambda s, b: len(s[0]) >= 1, _elementwise(lambda b: b * 3))),
    # indexing and shapes
    "reverse": Op(1, lambda xp, a: a[..., ::-1], _needs(lambda s, b: len(s[0]) >= 1,
                                                        _shape_op(lambda xp, a: a[..., ::-1]))),
    "take": Op(1, lambda xp, a, idx: a[np.array(idx)],
               _shape_op(lambda xp, a, idx: a[np.array(idx)])),
    "first": Op(1, lambda xp, a: a[0], _shape_op(lambda xp, a: a[0])),
    "last_col": Op(1, lambda xp, a: a[:, -1], _shape_op(lambda xp, a: a[:, -1])),
    "mask": Op(1, lambda xp, a, mask: a[np.array(mask)],
               _shape_op(lambda xp, a, mask: a[np.array(mask)])),
    "tail": Op(1, lambda xp, a: a[1:], _needs(lambda s, b: len(s[0]) >= 1 and s[0][0] >= 2,
                                              _shape_op(lambda xp, a: a[1:]))),
    "newaxis": Op(1, lambda xp, a: a[None, ..., None], _needs(
        lambda s, b: len(s[0]) <= 1, _shape_op(lambda xp, a: a[None, ..., None]))),
    "T": Op(1, lambda xp, a: a.T,
            _needs(lambda s, b: len(s[0]) == 2, _shape_op(lambda xp, a: a.T))),
    "flatten": Op(1, lambda xp, a: a.reshape(-1), _needs(
        lambda s, b: len(s[0]) == 2, _shape_op(lambda xp, a: a.reshape(-1)))),
    "broadcast": Op(1, lambda xp, a: xp.broadcast_to(a, (2,) + a.shape), _needs(
        lambda s, b: len(s[0]) <= 2, _shape_op(lambda xp, a: np.broadcast_to(a, (2,) + a.shape)))),
    "matmul": Op(2, lambda xp, a, b: a @ b, _matmul_out),
    "einsum_outer": Op(2, lambda xp, a, b: xp.einsum("i,j->ij", a.reshape(-1), b.reshape(-1)),
                       _needs(lambda s, b: np.prod(s[0]) * np.prod(s[1]) <= 9
                              and b[0] * b[1] <= CAP,
                              lambda s, b, p: ((int(np.prod(s[0])), int(np.prod(s[1]))),
                                               b[0] * b[1]))),
    "concat": Op(2, lambda xp, a, b: xp.concatenate([a, b], axis=0), _concat_out),
    "stack": Op(2, lambda xp, a, b: xp.stack([a, b]), _stack_out),
}
NAMES = sorted(OPS)


class Instr(NamedTuple):
    op: str
    args: tuple
    params: dict

    def __repr__(self):
        ps = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"{self.op}({', '.join(f'v{i}' for i in self.args)}{ps})"


class Program(NamedTuple):
    xp: str
    seed: int
    inputs: tuple             # shapes
    instrs: tuple

    def __repr__(self):
        ins = ", ".join(f"f64[{','.join(map(str, s))}]" for s in self.inputs)
        n = len(self.inputs)
        body = "".join(f"\n  v{n + k} = {ins_!r}" for k, ins_ in enumerate(self.instrs))
        return (f"Program(xp={self.xp}, seed={self.seed}, inputs=[{ins}]){body}"
                f"\n  return v{n + len(self.instrs) - 1}")

    def args(self):
        rng = np.random.default_rng(self.seed)
        return tuple(rng.uniform(-2.0, 2.0, s) for s in self.inputs)

    def run(self, xp, *args):
        vals = list(args)
        for ins in self.instrs:
            vals.append(OPS[ins.op].fn(xp, *[vals[i] for i in ins.args], **ins.params))
        return vals[-1]

    def fun(self):
        xp = {"fnp": fnp, "np": np}[self.xp]
        return lambda *args: self.run(xp, *args)


def _draw_params(draw, name, shapes):
    if name in ("scale", "shift"):
        return {"c": draw(st.sampled_from([-2.0, -0.5, 0.5, 1.5, 3.0]))}
    if name == "pow_pos":
        return {"c": draw(st.sampled_from([-1.5, -0.5, 0.5, 1.5]))}
    if name == "take":
        n = shapes[0][0] if shapes[0] else 0
        if not n:
            return {"idx": []}
        return {"idx": draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))}
    if name == "mask":
        n = shapes[0][0] if shapes[0] else 0
        mask = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return {"mask": mask if any(mask) else [True] + mask[1:]}
    return {}


def _draw_instr(draw, shapes, bounds):
    """One applicable instruction over the values so far (None if the draw does not fit)."""
    # the last value is an operand more often, so programs are deep as well as wide
    first = draw(st.sampled_from([len(shapes) - 1]) | st.integers(0, len(shapes) - 1))
    name = draw(st.sampled_from(NAMES))
    op = OPS[name]
    operands = [first] + [draw(st.integers(0, len(shapes) - 1)) for _ in range(op.arity - 1)]
    op_shapes = [shapes[i] for i in operands]
    if (name in ("take", "mask", "first") and not op_shapes[0]) or (
            name == "last_col" and len(op_shapes[0]) < 2):
        return None
    params = _draw_params(draw, name, op_shapes)
    res = op.out(op_shapes, [bounds[i] for i in operands], params)
    if res is None or res[1] is None or np.prod(res[0]) == 0:
        return None
    return Instr(name, tuple(operands), params), tuple(res[0]), float(res[1])


@st.composite
def programs(draw, min_ops=1, max_ops=14):
    n_in = draw(st.integers(1, 3))
    inputs = tuple(draw(st.sampled_from(SHAPES)) for _ in range(n_in))
    shapes, bounds = list(inputs), [2.0] * n_in
    instrs = []
    for _ in range(draw(st.integers(min_ops, max_ops))):
        for _attempt in range(4):
            step = _draw_instr(draw, shapes, bounds)
            if step is not None:
                instrs.append(step[0])
                shapes.append(step[1])
                bounds.append(step[2])
                break
    if not instrs:
        instrs.append(Instr("sin", (len(inputs) - 1,), {}))
    return Program(draw(st.sampled_from(["fnp", "np"])), draw(st.integers(0, 2 ** 16)),
                   inputs, tuple(instrs))


@examples(20)
@given(prog=programs())
def test_random_programs(prog):
    args, f = prog.args(), prog.fun()
    ref = prog.run(np, *args)                    # NumPy's own answer
    value = f(*args)
    assert np.shape(value) == np.shape(ref) and np.asarray(value).dtype == np.float64
    np.testing.assert_allclose(value, ref, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(ref))))
    # finite differences vs jvp; vjp vs both (inner products); and the same for the jvp
    # and vjp maps themselves (second order)
    check_grads(f, args, order=2)
    # second order: jvp∘grad (the Hessian-vector product) vs finite differences of grad,
    # and grad∘grad (vjp of grad) vs jvp∘grad
    w = np.random.default_rng(prog.seed + 1).standard_normal(np.shape(ref))
    loss = lambda *a: fnp.sum(f(*a) * w)
    check_grads(fxad.grad(loss, argnums=tuple(range(len(args)))), args, order=1)


@examples(0.4)                   # each program compiles a few kernels (~0.3 s each)
@given(prog=programs(min_ops=3))
def test_random_programs_under_jit(prog):
    """`jit` of `grad` (whose program contains the value's) agrees with the interpreter,
    both when `jit` interprets (first call) and compiled, with every fusable run compiled
    into a kernel (the size threshold off), so the lowering's rewrites (CSE, merged
    scatter-adds, strided reads and stores, kernels pulling equations forward) all get
    exercised."""
    import fxad.lowering
    args, f = prog.args(), prog.fun()
    w = np.random.default_rng(prog.seed + 1).standard_normal(np.shape(prog.run(np, *args)))
    loss = lambda *a: fnp.sum(f(*a) * w)                        # noqa: E731
    threshold, fxad.lowering.MIN_KERNEL_SIZE = fxad.lowering.MIN_KERNEL_SIZE, 1
    try:
        grads = fxad.grad(loss, argnums=tuple(range(len(args))))
        eager, jitted = grads(*args), fxad.jit(grads)
        for _ in range(2):                                      # interpreted, compiled
            for got, want in zip(jitted(*args), eager):
                scale = max(1.0, float(np.max(np.abs(want))))
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * scale)
    finally:
        fxad.lowering.MIN_KERNEL_SIZE = threshold


def test_programs_are_readable_data():
    prog = Program("fnp", 0, ((3,), (2, 3)), (Instr("sin", (0,), {}), Instr("mul", (2, 1), {}),
                                             Instr("take", (3,), {"idx": [1, 1]})))
    assert repr(prog).splitlines() == [
        "Program(xp=fnp, seed=0, inputs=[f64[3], f64[2,3]])",
        "  v2 = sin(v0)", "  v3 = mul(v2, v1)", "  v4 = take(v3, idx=[1, 1])", "  return v4"]
    np.testing.assert_allclose(prog.run(fnp, *prog.args()), prog.run(np, *prog.args()))
