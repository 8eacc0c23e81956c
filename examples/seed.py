"""The flagship example: gradients of a polynomial and of a mean squared error.

Run it from the repository root with `python examples/seed.py` (after `pip install .`).
"""
import numpy as np

import fxad


def poly(a, b):
    return 3 * a**3 + 2 * b**4


def mse(y, pred):
    return np.mean((y - pred) ** 2)          # plain NumPy works on traced values


def show(x):
    """A float or an array as text with 6 significant digits (`+ 0.0` turns -0.0 into 0)."""
    x = np.asarray(x, dtype=float) + 0.0
    if x.ndim == 0:
        return f"{x:.6g}"
    return "[" + ", ".join(f"{v:.6g}" for v in x) + "]"


def main():
    a, b = 3.0, 2.0
    y, dy_da = fxad.value_and_grad(poly)(a, b)             # derivative wrt a (argnums=0)
    dy_da, dy_db = fxad.grad(poly, argnums=(0, 1))(a, b)    # both derivatives
    stopped = fxad.grad(lambda a, b: fxad.stop_gradient(poly(a, b)))(a, b)

    print(f"y = 3*a**3 + 2*b**4 at a = {a}, b = {b}")
    print(f"  y                      = {show(y)}")
    print(f"  dy/da                  = {show(dy_da)}")
    print(f"  dy/db                  = {show(dy_db)}")
    print(f"  d stop_gradient(y)/da  = {show(stopped)}")
    print("\nthe program fxad traced for y (fxad.make_jaxpr):")
    print(fxad.make_jaxpr(poly)(a, b))

    y_true, pred = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 3.0])
    loss, (d_true, d_pred) = fxad.value_and_grad(mse, argnums=(0, 1))(y_true, pred)
    print(f"\nmse = mean((y - pred)**2) at y = {show(y_true)}, pred = {show(pred)}")
    print(f"  mse                    = {show(loss)}")
    print(f"  d mse/dy               = {show(d_true)}")
    print(f"  d mse/dpred            = {show(d_pred)}")

    return {"y": y, "dy_da": dy_da, "dy_db": dy_db, "stopped": stopped,
            "mse": loss, "dmse_dy": d_true, "dmse_dpred": d_pred}


if __name__ == "__main__":
    main()
