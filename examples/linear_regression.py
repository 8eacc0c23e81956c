"""Linear regression by plain gradient descent, with the parameters in a dict.

`fxad.grad(loss)(params, ...)` returns a dict of the same structure as `params`, so one
`tree_map` updates every parameter.
"""
import numpy as np

import fxad
from fxad.tree_util import tree_map


def predict(params, x):
    return x @ params["w"] + params["b"]


def loss(params, x, y):
    return np.mean((predict(params, x) - y) ** 2)


def main(steps=100, lr=0.05):
    rng = np.random.default_rng(0)
    true_w, true_b = np.array([2.0, -3.0, 0.5]), 1.0
    x = rng.normal(size=(100, 3))
    y = x @ true_w + true_b + 0.01 * rng.normal(size=100)

    params = {"w": np.zeros(3), "b": 0.0}
    loss_and_grad = fxad.value_and_grad(loss)
    losses = []
    for step in range(steps):
        value, grads = loss_and_grad(params, x, y)
        params = tree_map(lambda p, g: p - lr * g, params, grads)
        losses.append(float(value))
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step:3d}  loss {value:.6f}")

    print("learned w =", np.round(params["w"], 3), " b =", np.round(params["b"], 3))
    print("true    w =", true_w, " b =", true_b)
    assert losses[-1] < 1e-3 < losses[0]
    assert np.allclose(params["w"], true_w, atol=0.01) and abs(params["b"] - true_b) < 0.01
    return params, losses


if __name__ == "__main__":
    main()
