"""Every example in examples/ runs, and the flagship examples reach their stated results."""
import pathlib
import runpy

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run_main(name, **kwargs):
    return runpy.run_path(str(EXAMPLES / name))["main"](**kwargs)


def test_every_example_is_tested():
    tested = {"seed.py", "hessian_vector.py", "linear_regression.py", "train_mlp.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_seed_values():
    out = run_main("seed.py")
    assert (float(out["y"]), float(out["dy_da"]), float(out["dy_db"])) == (113.0, 81.0, 64.0)
    assert float(out["stopped"]) == 0.0
    np.testing.assert_allclose(out["mse"], 1 / 3, rtol=1e-15)
    np.testing.assert_allclose(out["dmse_dy"], [-2 / 3, 0, 0], rtol=1e-15)
    np.testing.assert_allclose(out["dmse_dpred"], [2 / 3, 0, 0], rtol=1e-15)


@pytest.mark.parametrize("name", ["hessian_vector.py", "linear_regression.py"])
def test_example_runs(name):
    run_main(name)


def test_train_mlp_reaches_stated_accuracy():
    pytest.importorskip("sklearn")
    assert run_main("train_mlp.py", verbose=False) >= 0.95
