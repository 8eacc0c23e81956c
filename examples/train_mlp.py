"""Train a small MLP on scikit-learn's bundled handwritten digits with a jitted Adam step.

    pip install ".[examples]" && python examples/train_mlp.py

The digits (8x8 images, 1797 samples) ship inside scikit-learn: nothing is downloaded.
The whole training step -- forward pass, gradient, Adam update -- is one `fxad.jit`
program, compiled on its second call and fast from then on. Reaches >= 95% test accuracy.
"""
import time

import numpy as np

import fxad
import fxad.numpy as fnp
from fxad.tree_util import tree_map


def init_params(rng, sizes):
    return [{"w": rng.normal(0.0, np.sqrt(2.0 / m), (m, n)), "b": np.zeros(n)}
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for layer in params[:-1]:
        x = fnp.maximum(x @ layer["w"] + layer["b"], 0.0)
    return x @ params[-1]["w"] + params[-1]["b"]


def loss(params, x, onehot):
    logits = predict(params, x)
    shifted = logits - fnp.max(logits, axis=1, keepdims=True)
    log_probs = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.mean(fnp.sum(onehot * log_probs, axis=1))


def adam_step(params, state, x, onehot, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update; `state` = (step count, first moments, second moments)."""
    t, m, v = state
    value, g = fxad.value_and_grad(loss)(params, x, onehot)
    t = t + 1.0
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    scale = lr * fnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    params = tree_map(lambda p, m, v: p - scale * m / (fnp.sqrt(v) + eps), params, m, v)
    return params, (t, m, v), value


def load_digits():
    try:
        from sklearn.datasets import load_digits as sk_load
    except ImportError:
        raise SystemExit("This example needs scikit-learn's bundled digits: "
                         'pip install ".[examples]"') from None
    data = sk_load()
    x = data.data / 16.0
    return x, data.target


def main(epochs=20, batch=64, seed=0, verbose=True):
    x, y = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_test = len(x) // 5
    test, train = order[:n_test], order[n_test:]
    onehot = np.eye(10)[y]
    params = init_params(rng, [64, 128, 10])
    state = (np.float64(0.0), tree_map(np.zeros_like, params), tree_map(np.zeros_like, params))
    step = fxad.jit(adam_step)
    accuracy = fxad.jit(lambda p, x, y: fnp.mean(fnp.argmax(predict(p, x), axis=1) == y))
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        perm = rng.permutation(train)
        losses = []
        for i in range(0, len(perm) - batch + 1, batch):
            idx = perm[i:i + batch]
            params, state, value = step(params, state, x[idx], onehot[idx])
            losses.append(float(value))
        seconds = time.perf_counter() - start
        acc = float(accuracy(params, x[test], y[test]))
        if verbose:
            print(f"epoch {epoch:2d}  loss {np.mean(losses):.4f}  test accuracy {acc:.3f}  "
                  f"({seconds * 1e3:.0f} ms)")
    return acc


if __name__ == "__main__":
    final = main()
    print(f"final test accuracy: {final:.3f} (target >= 0.95)")
