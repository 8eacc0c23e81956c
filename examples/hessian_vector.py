"""Hessian-vector products: forward mode over reverse mode, on a pytree of parameters.

`fxad.jvp(fxad.grad(loss), (params,), (v,))` pushes the direction `v` through the
gradient function, giving `H @ v` without ever forming the Hessian `H`. We check it
against central finite differences of the gradient: (grad(p + eps v) - grad(p - eps v)) / 2eps.
"""
import numpy as np

import fxad
from fxad.tree_util import tree_map, tree_leaves


def loss(params, x, y):
    """A tiny two-layer network's squared error."""
    hidden = np.tanh(x @ params["w1"] + params["b1"])
    pred = hidden @ params["w2"]
    return np.mean((pred - y) ** 2)


def hvp(f, params, v):
    """H(params) @ v for scalar `f`, where params and v are pytrees of one structure."""
    return fxad.jvp(fxad.grad(f), (params,), (v,))[1]


def main():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    params = {"w1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "w2": rng.normal(size=4)}
    v = tree_map(lambda p: rng.normal(size=p.shape), params)
    f = lambda p: loss(p, x, y)

    hv = hvp(f, params, v)

    eps = 1e-5
    g_plus = fxad.grad(f)(tree_map(lambda p, d: p + eps * d, params, v))
    g_minus = fxad.grad(f)(tree_map(lambda p, d: p - eps * d, params, v))
    fd = tree_map(lambda a, b: (a - b) / (2 * eps), g_plus, g_minus)

    print("Hessian-vector product of a 2-layer network's loss, by jvp of grad")
    for name in hv:
        err = np.max(np.abs(hv[name] - fd[name]))
        print(f"  {name:>3}: shape {str(hv[name].shape):7} max |jvp(grad) - finite diff| = {err:.1e}")
    worst = max(np.max(np.abs(a - b)) for a, b in zip(tree_leaves(hv), tree_leaves(fd)))
    assert worst < 1e-6, worst
    print(f"  agree to {worst:.1e}")
    return hv, fd


if __name__ == "__main__":
    main()
