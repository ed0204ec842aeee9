import numpy as np
import pytest

from seqlib.training.optim import SGD, Adagrad, Adam


def _setup():
    params = {"W": np.array([[1.0, -2.0], [0.5, 0.0]]), "b": np.array([3.0])}
    grads = {"W": np.array([[0.1, -0.2], [4.0, 0.0]]), "b": np.array([-1.0])}
    return params, grads


def test_sgd_one_step():
    params, grads = _setup()
    W = params["W"]
    SGD(lr=0.5).step(params, grads)
    assert params["W"] is W  # in place
    np.testing.assert_allclose(params["W"], [[0.95, -1.9], [-1.5, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(params["b"], [3.5], rtol=1e-15)


def test_sgd_momentum_two_steps():
    params = {"w": np.array([1.0])}
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(params, {"w": np.array([2.0])})  # v = 2, w = 1 - 0.2 = 0.8
    np.testing.assert_allclose(params["w"], [0.8], rtol=1e-15)
    opt.step(params, {"w": np.array([1.0])})  # v = 0.9*2 + 1 = 2.8, w = 0.8 - 0.28 = 0.52
    np.testing.assert_allclose(params["w"], [0.52], rtol=1e-14)


def test_adagrad_two_steps():
    params = {"w": np.array([1.0, 1.0])}
    opt = Adagrad(lr=0.1, eps=1e-8)
    opt.step(params, {"w": np.array([3.0, -4.0])})  # G = (9, 16): step = 0.1 * (3/3, -4/4)
    np.testing.assert_allclose(params["w"], [0.9, 1.1], rtol=1e-8)
    opt.step(params, {"w": np.array([4.0, 3.0])})  # G = (25, 25): step = 0.1 * (4/5, 3/5)
    np.testing.assert_allclose(params["w"], [0.82, 1.04], rtol=1e-8)


def test_adam_one_step_by_hand():
    params, grads = _setup()
    p0 = {k: v.copy() for k, v in params.items()}
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-3
    Adam(lr, b1, b2, eps).step(params, grads)
    for k in params:
        g = grads[k]
        m, v = (1 - b1) * g, (1 - b2) * g**2
        expect = p0[k] - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
        np.testing.assert_allclose(params[k], expect, rtol=1e-14)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_adam_first_step_is_lr_sign_g(scale):
    params, grads = _setup()
    grads = {k: scale * g for k, g in grads.items()}
    p0 = {k: v.copy() for k, v in params.items()}
    Adam(lr=0.05).step(params, grads)
    for k in params:
        np.testing.assert_allclose(p0[k] - params[k], 0.05 * np.sign(grads[k]), rtol=1e-4, atol=0)


def test_adam_second_step_by_hand():
    params = {"w": np.array([0.0])}
    opt = Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step(params, {"w": np.array([1.0])})
    opt.step(params, {"w": np.array([-2.0])})
    m = 0.9 * 0.1 + 0.1 * -2.0
    v = 0.999 * 0.001 + 0.001 * 4.0
    step2 = 0.1 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(params["w"], [-0.1 / (1 + 1e-8) - step2], rtol=1e-12)
    assert opt.t == {"w": 2}


@pytest.mark.parametrize(
    "make, steps",
    [
        (lambda: SGD(lr=0.1), 300),
        (lambda: SGD(lr=0.05, momentum=0.9), 300),
        (lambda: Adagrad(lr=1.0), 500),
        (lambda: Adam(lr=0.05), 2000),
    ],
)
def test_converges_on_quadratic(make, steps):
    # f(x) = 0.5 (x - c)^T A (x - c), A positive definite, condition number 5
    A = np.diag([1.0, 2.0, 5.0])
    c = np.array([1.0, -2.0, 0.5])
    params = {"x": np.zeros(3)}
    opt = make()
    for _ in range(steps):
        opt.step(params, {"x": A @ (params["x"] - c)})
    np.testing.assert_allclose(params["x"], c, atol=1e-4)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, 0.9), lambda: Adagrad(0.1), lambda: Adam(0.1)])
def test_float32_stays_float32(make):
    params = {"w": np.ones((2, 3), np.float32)}
    opt = make()
    for g in (np.ones((2, 3), np.float32), np.ones((2, 3))):  # float64 grads are cast on update
        opt.step(params, {"w": g})
    assert params["w"].dtype == np.float32
    state = [a for d in vars(opt).values() if isinstance(d, dict) for a in d.values() if isinstance(a, np.ndarray)]
    assert state and all(a.dtype == np.float32 for a in state)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, 0.9), lambda: Adagrad(0.1), lambda: Adam(0.1)])
def test_mismatched_keys_and_shapes(make):
    opt = make()
    params = {"W": np.ones((2, 3)), "b": np.ones(3)}
    with pytest.raises(ValueError, match=r"missing from grads: \['b'\], not in params: \[\]"):
        opt.step(params, {"W": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"missing from grads: \[\], not in params: \['c'\]"):
        opt.step(params, {"W": np.ones((2, 3)), "b": np.ones(3), "c": np.ones(1)})
    with pytest.raises(ValueError, match=r"grads\['W'\] has shape \(3, 2\) but params\['W'\] has shape \(2, 3\)"):
        opt.step(params, {"W": np.ones((3, 2)), "b": np.ones(3)})
    with pytest.raises(ValueError, match=r"grads\['b'\] must be finite"):
        opt.step(params, {"W": np.ones((2, 3)), "b": np.array([1.0, np.nan, 1.0])})
    with pytest.raises(TypeError, match=r"params\['W'\] must be a float ndarray"):
        opt.step({"W": [[1.0]]}, {"W": np.ones((1, 1))})
    # nothing was updated by the failed steps
    np.testing.assert_array_equal(params["W"], np.ones((2, 3)))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(0.0), r"lr must be finite and in \(0, inf\), got 0.0"),
        (lambda: SGD(-1.0), "lr must be"),
        (lambda: SGD(np.nan), "lr must be"),
        (lambda: SGD(0.1, momentum=1.0), r"momentum must be finite and in \[0, 1\), got 1.0"),
        (lambda: SGD(0.1, momentum=-0.1), "momentum must be"),
        (lambda: Adagrad(np.inf), "lr must be"),
        (lambda: Adagrad(0.1, eps=0.0), "eps must be"),
        (lambda: Adam(beta1=1.0), r"beta1 must be finite and in \[0, 1\)"),
        (lambda: Adam(beta2=1.5), r"beta2 must be finite and in \[0, 1\)"),
        (lambda: Adam(eps=-1e-8), "eps must be"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_hyperparameter_types():
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        SGD("0.1")
    with pytest.raises(TypeError, match="lr must be a real number, got NoneType"):
        Adam(lr=None)


def test_repr():
    assert repr(SGD(0.1, 0.9)) == "SGD(lr=0.1, momentum=0.9)"
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)"
