"""Grading catalogue of 01_backprop: realistic bugs and valid alternatives."""
from . import Variant, tests_of


def hidden(cell):
    return (f"{cell}_hidden",)


# ---------------------------------------------------------------- numerical_gradient
NG = "def numerical_gradient(f, x, h=1e-5):\n"
NG_TESTS = tests_of("numerical_gradient")
NUMERICAL_GRADIENT_BUGS = [
    Variant("forward difference (f(x+h) - f(x)) / h", "numerical_gradient", NG + """
    grad = np.zeros_like(x)
    f0 = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - f0) / h
        x[i] = old
    return grad
""", NG_TESTS, must_fail=hidden("numerical_gradient")),
    Variant("forgets to restore x", "numerical_gradient", NG + """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad
""", NG_TESTS, must_fail=hidden("numerical_gradient")),
    Variant("ignores the h argument (always 1e-5)", "numerical_gradient", NG + """
    step = 1e-5
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + step
        fp = f(x)
        x[i] = old - step
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * step)
    return grad
""", NG_TESTS, must_fail=hidden("numerical_gradient")),
    Variant("divides by h instead of 2h", "numerical_gradient", NG + """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / h
    return grad
""", NG_TESTS, must_fail=hidden("numerical_gradient")),
    Variant("perturbs a flattened copy, so f never sees the change", "numerical_gradient", NG + """
    flat = x.flatten()
    grad = np.zeros(flat.shape)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad.reshape(x.shape)
""", NG_TESTS, must_fail=hidden("numerical_gradient")),
    Variant("result always float64 (np.zeros(x.shape)), whatever x's dtype", "numerical_gradient", NG + """
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad
""", NG_TESTS, must_fail=hidden("numerical_gradient")),
]
NUMERICAL_GRADIENT_ALTERNATIVES = [
    Variant("np.nditer with multi_index", "numerical_gradient", NG + """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        fm = f(x)
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
        it.iternext()
    return grad
""", NG_TESTS),
    Variant("perturbs copies of x, never x itself", "numerical_gradient", NG + """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad
""", NG_TESTS),
    Variant("flat view of x, restored by arithmetic (+h, -2h, +h)", "numerical_gradient", NG + """
    flat = x.reshape(-1)
    grad = np.zeros_like(x)
    flat_grad = grad.reshape(-1)
    for i in range(flat.size):
        flat[i] += h
        fp = f(x)
        flat[i] -= 2 * h
        fm = f(x)
        flat[i] += h
        flat_grad[i] = (fp - fm) / (2 * h)
    return grad
""", NG_TESTS),
]

# ---------------------------------------------------------------- softmax
SM = "def softmax(z):\n"
SM_TESTS = tests_of("softmax")
SOFTMAX_BUGS = [
    Variant("no max subtraction (nan at logits of 1000)", "softmax", SM + """
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
""", SM_TESTS, must_fail=hidden("softmax")),
    # Charged once: the fused gradient's tests run with a correct softmax in place of the student's.
    Variant("charged once: no max subtraction, the fused gradient keeps its points", "softmax", SM + """
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
""", SM_TESTS, must_fail=hidden("softmax"), must_pass=hidden("softmax_cross_entropy_grad")),
    Variant("subtracts the global max instead of each row's", "softmax", SM + """
    e = np.exp(z - np.max(z))
    return e / e.sum(axis=1, keepdims=True)
""", SM_TESTS, must_fail=hidden("softmax")),
    Variant("normalizes the columns (axis=0)", "softmax", SM + """
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
""", SM_TESTS, must_fail=hidden("softmax")),
    Variant("subtracts the max in place (modifies z)", "softmax", SM + """
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
""", SM_TESTS, must_fail=hidden("softmax")),
]
SOFTMAX_ALTERNATIVES = [
    Variant("via log-sum-exp", "softmax", SM + """
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return np.exp(z - lse)
""", SM_TESTS),
    Variant("torch.softmax on the array", "softmax", SM + """
    import torch
    return torch.softmax(torch.from_numpy(np.asarray(z)), dim=1).numpy()
""", SM_TESTS),
    Variant("computed in float32", "softmax", SM + """
    z32 = np.asarray(z, dtype=np.float32)
    e = np.exp(z32 - z32.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
""", SM_TESTS),
    Variant("python loop over rows", "softmax", SM + """
    out = np.empty_like(z)
    for i, row in enumerate(z):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out
""", SM_TESTS),
]
SOFTMAX_ALTERNATIVES.append(Variant("scipy.special.softmax", "softmax", SM + """
    import scipy.special
    return scipy.special.softmax(z, axis=1)
""", SM_TESTS))

# ---------------------------------------------------------------- cross_entropy
CE = "def cross_entropy(probs, targets):\n"
CE_TESTS = tests_of("cross_entropy")
CROSS_ENTROPY_BUGS = [
    Variant("sum over the batch instead of the mean", "cross_entropy", CE + """
    return -np.sum(np.log(np.sum(targets * probs, axis=1)))
""", CE_TESTS, must_fail=hidden("cross_entropy")),
    Variant("mean over all N*C entries", "cross_entropy", CE + """
    return -np.mean(targets * np.log(np.clip(probs, 1e-12, None)))
""", CE_TESTS, must_fail=hidden("cross_entropy")),
    Variant("t * log(p) unguarded: nan where a wrong class has probability 0", "cross_entropy", CE + """
    return -np.sum(targets * np.log(probs)) / probs.shape[0]
""", CE_TESTS, must_fail=hidden("cross_entropy")),
    Variant("target probabilities summed over the batch axis: inf for a class that is never the target",
            "cross_entropy", CE + """
    return -np.mean(np.log(np.sum(targets * probs, axis=0)))
""", CE_TESTS, must_fail=hidden("cross_entropy")),
    Variant("returns the per-sample losses", "cross_entropy", CE + """
    return -np.log(np.sum(targets * probs, axis=1))
""", CE_TESTS, must_fail=hidden("cross_entropy")),
    Variant("missing minus sign", "cross_entropy", CE + """
    return np.mean(np.log(np.sum(targets * probs, axis=1)))
""", CE_TESTS, must_fail=hidden("cross_entropy")),
]
CROSS_ENTROPY_ALTERNATIVES = [
    Variant("clip probabilities at 1e-12", "cross_entropy", CE + """
    return float(-np.sum(targets * np.log(np.clip(probs, 1e-12, 1.0))) / probs.shape[0])
""", CE_TESTS),
    Variant("index the target column with argmax", "cross_entropy", CE + """
    n = probs.shape[0]
    return -np.log(probs[np.arange(n), np.argmax(targets, axis=1)]).mean()
""", CE_TESTS),
    Variant("computed in float32, returned as a Python float", "cross_entropy", CE + """
    p = np.asarray(probs, dtype=np.float32)
    t = np.asarray(targets, dtype=np.float32)
    return float(-np.mean(np.log(np.sum(t * p, axis=1))))
""", CE_TESTS),
    Variant("np.where guard and a loop", "cross_entropy", CE + """
    total = 0.0
    for p, t in zip(probs, targets):
        total -= np.sum(np.where(t > 0, t * np.log(np.where(t > 0, p, 1.0)), 0.0))
    return total / len(probs)
""", CE_TESTS),
]

# ---------------------------------------------------------------- cross_entropy_grad
CG = "def cross_entropy_grad(probs, targets):\n"
CG_TESTS = tests_of("cross_entropy_grad")
CROSS_ENTROPY_GRAD_BUGS = [
    Variant("gradient of the summed loss (no 1/N)", "cross_entropy_grad", CG + """
    out = np.zeros_like(probs)
    m = targets != 0
    out[m] = -targets[m] / probs[m]
    return out
""", CG_TESTS, must_fail=hidden("cross_entropy_grad")),
    Variant("-t / (N p) unguarded: nan where p = t = 0", "cross_entropy_grad", CG + """
    return -targets / (probs.shape[0] * probs)
""", CG_TESTS, must_fail=hidden("cross_entropy_grad")),
    Variant("wrong sign", "cross_entropy_grad", CG + """
    out = np.zeros_like(probs)
    m = targets != 0
    out[m] = targets[m] / (probs.shape[0] * probs[m])
    return out
""", CG_TESTS, must_fail=hidden("cross_entropy_grad")),
    Variant("-1 / (N p) for every class (targets ignored)", "cross_entropy_grad", CG + """
    return -1.0 / (probs.shape[0] * probs)
""", CG_TESTS, must_fail=hidden("cross_entropy_grad")),
]
CROSS_ENTROPY_GRAD_ALTERNATIVES = [
    Variant("clip probabilities at 1e-12", "cross_entropy_grad", CG + """
    return -targets / (probs.shape[0] * np.clip(probs, 1e-12, None))
""", CG_TESTS),
    Variant("np.where guard", "cross_entropy_grad", CG + """
    safe = np.where(targets > 0, probs, 1.0)
    return np.where(targets > 0, -targets / (len(probs) * safe), 0.0)
""", CG_TESTS),
    Variant("computed in float32", "cross_entropy_grad", CG + """
    p = np.asarray(probs, dtype=np.float32)
    t = np.asarray(targets, dtype=np.float32)
    return np.where(t > 0, -t / (p.shape[0] * np.where(t > 0, p, np.float32(1))), np.float32(0)).astype(np.float32)
""", CG_TESTS),
]

# ---------------------------------------------------------------- softmax_jacobian
SJ = "def softmax_jacobian(s):\n"
SJ_TESTS = tests_of("softmax_jacobian")
SOFTMAX_JACOBIAN_BUGS = [
    Variant("diag(s) - s^T s (a scalar, not the outer product)", "softmax_jacobian", SJ + """
    return np.diag(s) - s.T @ s
""", SJ_TESTS, must_fail=hidden("softmax_jacobian")),
    Variant("missing diag(s)", "softmax_jacobian", SJ + """
    return -np.outer(s, s)
""", SJ_TESTS, must_fail=hidden("softmax_jacobian")),
    Variant("only the diagonal s(1 - s)", "softmax_jacobian", SJ + """
    return np.diag(s * (1 - s))
""", SJ_TESTS, must_fail=hidden("softmax_jacobian")),
    Variant("wrong sign s s^T - diag(s)", "softmax_jacobian", SJ + """
    return np.outer(s, s) - np.diag(s)
""", SJ_TESTS, must_fail=hidden("softmax_jacobian")),
]
SOFTMAX_JACOBIAN_ALTERNATIVES = [
    Variant("broadcasting s_i (delta_ij - s_j)", "softmax_jacobian", SJ + """
    return s[:, None] * (np.eye(len(s)) - s[None, :])
""", SJ_TESTS),
    Variant("einsum", "softmax_jacobian", SJ + """
    return np.einsum("i,ij->ij", s, np.eye(s.size)) - np.einsum("i,j->ij", s, s)
""", SJ_TESTS),
    Variant("double loop", "softmax_jacobian", SJ + """
    c = len(s)
    J = np.zeros((c, c))
    for i in range(c):
        for j in range(c):
            J[i, j] = s[i] * ((1.0 if i == j else 0.0) - s[j])
    return J
""", SJ_TESTS),
    Variant("computed in float32", "softmax_jacobian", SJ + """
    s32 = np.asarray(s, dtype=np.float32)
    return np.diag(s32) - np.outer(s32, s32)
""", SJ_TESTS),
]

# ---------------------------------------------------------------- softmax_cross_entropy_grad
SX = "def softmax_cross_entropy_grad(logits, targets):\n"
SX_TESTS = tests_of("softmax_cross_entropy_grad")
SOFTMAX_CE_GRAD_BUGS = [
    Variant("gradient of the summed loss (no 1/N)", "softmax_cross_entropy_grad", SX + """
    return softmax(logits) - targets
""", SX_TESTS, must_fail=hidden("softmax_cross_entropy_grad")),
    Variant("wrong sign (t - s) / N", "softmax_cross_entropy_grad", SX + """
    return (targets - softmax(logits)) / logits.shape[0]
""", SX_TESTS, must_fail=hidden("softmax_cross_entropy_grad")),
    Variant("inline softmax without max subtraction", "softmax_cross_entropy_grad", SX + """
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True) - targets) / logits.shape[0]
""", SX_TESTS, must_fail=hidden("softmax_cross_entropy_grad")),
    Variant("the long way: cross_entropy_grad times per-sample Jacobians (nan when p_target = 0)",
            "softmax_cross_entropy_grad", SX + """
    probs = softmax(logits)
    dprobs = cross_entropy_grad(probs, targets)
    return np.stack([softmax_jacobian(s).T @ g for s, g in zip(probs, dprobs)])
""", SX_TESTS, must_fail=hidden("softmax_cross_entropy_grad")),
    Variant("divides by the number of classes", "softmax_cross_entropy_grad", SX + """
    return (softmax(logits) - targets) / logits.shape[1]
""", SX_TESTS, must_fail=hidden("softmax_cross_entropy_grad")),
]
SOFTMAX_CE_GRAD_ALTERNATIVES = [
    Variant("through a stable log-softmax", "softmax_cross_entropy_grad", SX + """
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return (np.exp(log_probs) - targets) / len(logits)
""", SX_TESTS),
    Variant("computed in float32", "softmax_cross_entropy_grad", SX + """
    z = np.asarray(logits, dtype=np.float32)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return ((e / e.sum(axis=1, keepdims=True)) - targets.astype(np.float32)) / np.float32(z.shape[0])
""", SX_TESTS),
]

# ---------------------------------------------------------------- relu_jacobian
RJ = "def relu_jacobian(x):\n"
RJ_TESTS = tests_of("relu_jacobian")
RELU_JACOBIAN_BUGS = [
    Variant("indicator of x < 0 (a typo found in the report)", "relu_jacobian", RJ + """
    return np.diag((x < 0).astype(float))
""", RJ_TESTS, must_fail=hidden("relu_jacobian")),
    Variant("the mask as a vector, not a matrix", "relu_jacobian", RJ + """
    return (x > 0).astype(float)
""", RJ_TESTS, must_fail=hidden("relu_jacobian")),
    Variant("diag(relu(x)) instead of the derivative", "relu_jacobian", RJ + """
    return np.diag(np.maximum(x, 0))
""", RJ_TESTS, must_fail=hidden("relu_jacobian")),
    Variant("identity matrix", "relu_jacobian", RJ + """
    return np.eye(len(x))
""", RJ_TESTS, must_fail=hidden("relu_jacobian")),
]
RELU_JACOBIAN_ALTERNATIVES = [
    Variant("derivative 1 at x == 0 (x >= 0)", "relu_jacobian", RJ + """
    return np.diag((x >= 0).astype(float))
""", RJ_TESTS),
    Variant("eye times a broadcast mask", "relu_jacobian", RJ + """
    return np.eye(x.shape[0]) * (x > 0)
""", RJ_TESTS),
    Variant("boolean matrix np.diag(x > 0)", "relu_jacobian", RJ + """
    return np.diag(x > 0)
""", RJ_TESTS),
    Variant("float32 result", "relu_jacobian", RJ + """
    return np.diag(np.where(x > 0, 1, 0).astype(np.float32))
""", RJ_TESTS),
]

# ---------------------------------------------------------------- relu_backward
RB = "def relu_backward(dout, x):\n"
RB_TESTS = tests_of("relu_backward")
RELU_BACKWARD_BUGS = [
    Variant("masks with the sign of dout instead of x", "relu_backward", RB + """
    return dout * (dout > 0)
""", RB_TESTS, must_fail=hidden("relu_backward")),
    Variant("returns the mask, forgets dout", "relu_backward", RB + """
    return (x > 0).astype(float)
""", RB_TESTS, must_fail=hidden("relu_backward")),
    Variant("multiplies by relu(x) instead of its derivative", "relu_backward", RB + """
    return dout * np.maximum(x, 0)
""", RB_TESTS, must_fail=hidden("relu_backward")),
    Variant("zeroes dout in place and returns it", "relu_backward", RB + """
    dout[x <= 0] = 0
    return dout
""", RB_TESTS, must_fail=hidden("relu_backward")),
]
RELU_BACKWARD_ALTERNATIVES = [
    Variant("np.where with x >= 0 (gradient passes at 0)", "relu_backward", RB + """
    return np.where(x >= 0, dout, 0.0)
""", RB_TESTS),
    Variant("copy, then zero where x <= 0", "relu_backward", RB + """
    dx = np.array(dout, copy=True)
    dx[x <= 0] = 0
    return dx
""", RB_TESTS),
    Variant("computed in float32", "relu_backward", RB + """
    return (np.asarray(dout, dtype=np.float32) * (x > 0)).astype(np.float32)
""", RB_TESTS),
]

# ---------------------------------------------------------------- linear_backward
LB = "def linear_backward(dout, x, W):\n"
LB_TESTS = tests_of("linear_backward")
LINEAR_BACKWARD_BUGS = [
    Variant("db summed over the wrong axis (axis=1)", "linear_backward", LB + """
    return dout @ W, dout.T @ x, dout.sum(axis=1)
""", LB_TESTS, must_fail=hidden("linear_backward")),
    Variant("dW transposed (x.T @ dout)", "linear_backward", LB + """
    return dout @ W, x.T @ dout, dout.sum(axis=0)
""", LB_TESTS, must_fail=hidden("linear_backward")),
    Variant("dx transposed (W.T @ dout.T)", "linear_backward", LB + """
    return W.T @ dout.T, dout.T @ x, dout.sum(axis=0)
""", LB_TESTS, must_fail=hidden("linear_backward")),
    Variant("divides by the batch size again (mean instead of sum)", "linear_backward", LB + """
    n = x.shape[0]
    return dout @ W, dout.T @ x / n, dout.mean(axis=0)
""", LB_TESTS, must_fail=hidden("linear_backward")),
    Variant("db as the sum of all entries (a scalar)", "linear_backward", LB + """
    return dout @ W, dout.T @ x, dout.sum()
""", LB_TESTS, must_fail=hidden("linear_backward")),
]
LINEAR_BACKWARD_ALTERNATIVES = [
    Variant("einsum", "linear_backward", LB + """
    dx = np.einsum("nm,md->nd", dout, W)
    dW = np.einsum("nm,nd->md", dout, x)
    db = np.einsum("nm->m", dout)
    return dx, dW, db
""", LB_TESTS),
    Variant("loop over samples, summing outer products", "linear_backward", LB + """
    dx = np.zeros(x.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(W.shape[0])
    for n in range(x.shape[0]):
        dx[n] = W.T @ dout[n]
        dW += np.outer(dout[n], x[n])
        db += dout[n]
    return dx, dW, db
""", LB_TESTS),
    Variant("(x.T @ dout).T and np.dot", "linear_backward", LB + """
    return np.dot(dout, W), (x.T @ dout).T, np.sum(dout, axis=0)
""", LB_TESTS),
    Variant("returns a list [dx, dW, db]", "linear_backward", LB + """
    return [dout @ W, dout.T @ x, dout.sum(axis=0)]
""", LB_TESTS),
    Variant("computed in float32", "linear_backward", LB + """
    d, xx, w = (np.asarray(a, dtype=np.float32) for a in (dout, x, W))
    return d @ w, d.T @ xx, d.sum(axis=0)
""", LB_TESTS),
]

# ---------------------------------------------------------------- mse_grad
MG = "def mse_grad(pred, target):\n"
MG_TESTS = tests_of("mse_grad")
MSE_GRAD_BUGS = [
    Variant("gradient of the summed loss (no 1/N)", "mse_grad", MG + """
    return pred - target
""", MG_TESTS, must_fail=hidden("mse_grad")),
    Variant("mean over all N*K entries", "mse_grad", MG + """
    return (pred - target) / pred.size
""", MG_TESTS, must_fail=hidden("mse_grad")),
    Variant("forgets the 1/2 (factor 2)", "mse_grad", MG + """
    return 2 * (pred - target) / pred.shape[0]
""", MG_TESTS, must_fail=hidden("mse_grad")),
    Variant("F.mse_loss's convention 2 (pred - target) / (N K)", "mse_grad", MG + """
    return 2 * (pred - target) / pred.size
""", MG_TESTS, must_fail=hidden("mse_grad")),
    Variant("wrong sign (target - pred) / N", "mse_grad", MG + """
    return (target - pred) / pred.shape[0]
""", MG_TESTS, must_fail=hidden("mse_grad")),
]
MSE_GRAD_ALTERNATIVES = [
    Variant("np.subtract and len", "mse_grad", MG + """
    return np.subtract(pred, target) / len(pred)
""", MG_TESTS),
    Variant("computed in float32", "mse_grad", MG + """
    return (np.asarray(pred, dtype=np.float32) - np.asarray(target, dtype=np.float32)) / np.float32(len(pred))
""", MG_TESTS),
    Variant("torch autograd inside the function", "mse_grad", MG + """
    import torch
    p = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    (0.5 * ((p - torch.tensor(target, dtype=torch.float64)) ** 2).sum() / p.shape[0]).backward()
    return p.grad.numpy()
""", MG_TESTS),
]


# ---------------------------------------------------------------- activations (two cells of several functions)
def cell_source(bodies, defaults):
    """Source of a cell that defines several functions; `bodies` replaces some of them."""
    merged = {**defaults, **bodies}
    return "\n\n".join(merged.values()) + "\n"


SIGMOID_TANH = {
    "sigmoid": "def sigmoid(x):\n    return 0.5 * (1.0 + np.tanh(0.5 * x))",
    "sigmoid_grad": "def sigmoid_grad(x):\n    s = sigmoid(x)\n    return s * (1.0 - s)",
    "tanh": "def tanh(x):\n    return np.tanh(x)",
    "tanh_grad": "def tanh_grad(x):\n    return 1.0 - np.tanh(x) ** 2",
}
ST_TESTS = tests_of("sigmoid_tanh")


def st(name, must_fail=(), **bodies):
    return Variant(name, "sigmoid_tanh", cell_source(bodies, SIGMOID_TANH), ST_TESTS, must_fail)


SIGMOID_TANH_BUGS = [
    st("sigmoid_grad as sigmoid(x) * (1 + sigmoid(x))", hidden("sigmoid_tanh"),
       sigmoid_grad="def sigmoid_grad(x):\n    s = sigmoid(x)\n    return s * (1.0 + s)"),
    st("tanh_grad as 1 - tanh(x) (square missing)", hidden("sigmoid_tanh"),
       tanh_grad="def tanh_grad(x):\n    return 1.0 - np.tanh(x)"),
    st("tanh_grad as 1 - x**2 (the input instead of the output)", hidden("sigmoid_tanh"),
       tanh_grad="def tanh_grad(x):\n    return 1.0 - x ** 2"),
    st("sigmoid as 1 / (1 + exp(x))", hidden("sigmoid_tanh"),
       sigmoid="def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(x))"),
    st("sigmoid_grad as sigmoid(x) * (1 - x)", hidden("sigmoid_tanh"),
       sigmoid_grad="def sigmoid_grad(x):\n    return sigmoid(x) * (1.0 - x)"),
]
SIGMOID_TANH_ALTERNATIVES = [
    st("plain 1 / (1 + exp(-x)) and exp(-x) / (1 + exp(-x))**2",
       sigmoid="def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-x))",
       sigmoid_grad="def sigmoid_grad(x):\n    e = np.exp(-x)\n    return e / (1.0 + e) ** 2"),
    st("tanh as 2 sigmoid(2x) - 1, derivative from the student's own tanh",
       tanh="def tanh(x):\n    return 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0",
       tanh_grad="def tanh_grad(x):\n    t = tanh(x)\n    return 1.0 - t * t"),
    st("computed in float32",
       sigmoid="def sigmoid(x):\n    x = np.asarray(x, dtype=np.float32)\n    return 1 / (1 + np.exp(-x))",
       tanh="def tanh(x):\n    return np.tanh(np.asarray(x, dtype=np.float32))",
       tanh_grad="def tanh_grad(x):\n    return 1 - tanh(x) ** 2"),
]

RELU_FAMILY = {
    "relu": "def relu(x):\n    return np.maximum(x, 0)",
    "relu_grad": "def relu_grad(x):\n    return (x > 0).astype(x.dtype)",
    "leaky_relu": "def leaky_relu(x, alpha=0.01):\n    return np.where(x > 0, x, alpha * x)",
    "leaky_relu_grad": "def leaky_relu_grad(x, alpha=0.01):\n    return np.where(x > 0, 1.0, alpha)",
    "elu": "def elu(x, alpha=1.0):\n    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))",
    "elu_grad": "def elu_grad(x, alpha=1.0):\n    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))",
}
RF_TESTS = tests_of("relu_family")


def rf(name, must_fail=(), **bodies):
    return Variant(name, "relu_family", cell_source(bodies, RELU_FAMILY), RF_TESTS, must_fail)


RELU_FAMILY_BUGS = [
    rf("elu_grad = alpha for x < 0 (the leaky ReLU's slope)", hidden("relu_family"),
       elu_grad="def elu_grad(x, alpha=1.0):\n    return np.where(x > 0, 1.0, alpha)"),
    rf("elu_grad = exp(x) for x < 0, alpha forgotten", hidden("relu_family"),
       elu_grad="def elu_grad(x, alpha=1.0):\n    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))"),
    rf("elu as alpha * exp(x) - 1 (right only for alpha = 1)", hidden("relu_family"),
       elu="def elu(x, alpha=1.0):\n    return np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0)) - 1)"),
    rf("leaky_relu_grad = 0 for x < 0", hidden("relu_family"),
       leaky_relu_grad="def leaky_relu_grad(x, alpha=0.01):\n    return (x > 0).astype(float)"),
    rf("leaky_relu ignores its alpha argument", hidden("relu_family"),
       leaky_relu="def leaky_relu(x, alpha=0.01):\n    return np.where(x > 0, x, 0.01 * x)"),
    rf("relu_grad returns relu(x)", hidden("relu_family"),
       relu_grad="def relu_grad(x):\n    return np.maximum(x, 0)"),
]
RELU_FAMILY_ALTERNATIVES = [
    rf("derivatives take the right-hand value (1) at x == 0",
       relu_grad="def relu_grad(x):\n    return np.where(x >= 0, 1.0, 0.0)",
       leaky_relu_grad="def leaky_relu_grad(x, alpha=0.01):\n    return np.where(x >= 0, 1.0, alpha)",
       elu_grad="def elu_grad(x, alpha=1.0):\n    return np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0)))"),
    rf("boolean relu_grad, leaky_relu as maximum(x, alpha x), elu_grad as elu + alpha",
       relu_grad="def relu_grad(x):\n    return x > 0",
       leaky_relu="def leaky_relu(x, alpha=0.01):\n    return np.maximum(x, alpha * x)",
       elu_grad="def elu_grad(x, alpha=1.0):\n    return np.where(x > 0, 1.0, elu(x, alpha) + alpha)"),
    rf("naive np.exp in the unused branch (overflow warnings silenced by the tests)",
       elu="def elu(x, alpha=1.0):\n    return np.where(x > 0, x, alpha * (np.exp(x) - 1))",
       elu_grad="def elu_grad(x, alpha=1.0):\n    return np.where(x > 0, 1, alpha * np.exp(x))"),
    rf("computed in float32",
       relu="def relu(x):\n    return np.maximum(np.asarray(x, dtype=np.float32), 0)",
       leaky_relu="def leaky_relu(x, alpha=0.01):\n    x = np.asarray(x, dtype=np.float32)\n"
                  "    return np.where(x > 0, x, np.float32(alpha) * x)",
       elu="def elu(x, alpha=1.0):\n    x = np.asarray(x, dtype=np.float32)\n"
           "    return np.where(x > 0, x, np.float32(alpha) * np.expm1(np.minimum(x, 0)))"),
]


# ---------------------------------------------------------------- seed_gradient_errors
SEED_TESTS = tests_of("seed_gradient_errors")


def seed_errors(du_report="dh * (u < 0)", dW2_seed="dout.T @ u", u="x @ W1.T + b1", rel="relative_error",
                order="[{rel}(du_report, du_right), {rel}(dW2_seed, dW2_right)]"):
    return f"""
def seed_gradient_errors(x, W1, b1, W2, dout):
    u = {u}
    h = np.maximum(u, 0.0)
    dh = dout @ W2
    du_right, du_report = dh * (u > 0), {du_report}
    dW2_right, dW2_seed = dout.T @ h, {dW2_seed}
    return np.array({order.format(rel=rel)})
"""


SEED_ERRORS_BUGS = [
    Variant("seed errors: relative error divided by ||r|| only", "seed_gradient_errors",
            seed_errors(rel="(lambda a, r: np.linalg.norm(a - r) / np.linalg.norm(r))"), SEED_TESTS,
            must_fail=hidden("seed_gradient_errors")),
    Variant("seed errors: the two numbers swapped", "seed_gradient_errors",
            seed_errors(order="[{rel}(dW2_seed, dW2_right), {rel}(du_report, du_right)]"), SEED_TESTS,
            must_fail=hidden("seed_gradient_errors")),
    Variant("seed errors: pre-activation without the bias", "seed_gradient_errors",
            seed_errors(u="x @ W1.T"), SEED_TESTS),
    Variant("seed errors: the report's mask applied to dout @ W2 with the right sign (error 0)", "seed_gradient_errors",
            seed_errors(du_report="dh * (u > 0)"), SEED_TESTS),
    Variant("seed errors: seed dW2 with h of the report's inverted ReLU (min(u, 0))", "seed_gradient_errors",
            seed_errors(dW2_seed="dout.T @ np.minimum(u, 0.0)"), SEED_TESTS),
]
SEED_ERRORS_ALTERNATIVES = [
    Variant("seed errors with einsum and np.where", "seed_gradient_errors", """
def seed_gradient_errors(x, W1, b1, W2, dout):
    u = np.einsum("bd,md->bm", x, W1) + b1
    h = np.where(u > 0, u, 0.0)
    dh = np.einsum("bk,km->bm", dout, W2)
    right, report = np.where(u > 0, dh, 0.0), np.where(u < 0, dh, 0.0)
    rel = lambda a, r: np.sqrt(np.sum((a - r) ** 2)) / (np.sqrt(np.sum(a ** 2)) + np.sqrt(np.sum(r ** 2)))
    return np.array([rel(report, right), rel(np.einsum("bk,bm->km", dout, u), np.einsum("bk,bm->km", dout, h))])
""", SEED_TESTS),
    Variant("seed errors computed in float64 from float32 inputs", "seed_gradient_errors", """
def seed_gradient_errors(x, W1, b1, W2, dout):
    x, W1, b1, W2, dout = (np.asarray(a, dtype=np.float64) for a in (x, W1, b1, W2, dout))
    u = x @ W1.T + b1
    h = np.maximum(u, 0.0)
    dh = dout @ W2
    return np.array([relative_error(dh * (u < 0), dh * (u > 0)), relative_error(dout.T @ u, dout.T @ h)])
""", SEED_TESTS),
]

BUGS = (NUMERICAL_GRADIENT_BUGS + SOFTMAX_BUGS + CROSS_ENTROPY_BUGS + CROSS_ENTROPY_GRAD_BUGS
        + SOFTMAX_JACOBIAN_BUGS + SOFTMAX_CE_GRAD_BUGS + RELU_JACOBIAN_BUGS + RELU_BACKWARD_BUGS
        + LINEAR_BACKWARD_BUGS + MSE_GRAD_BUGS + SIGMOID_TANH_BUGS + RELU_FAMILY_BUGS + SEED_ERRORS_BUGS)
ALTERNATIVES = (NUMERICAL_GRADIENT_ALTERNATIVES + SOFTMAX_ALTERNATIVES + CROSS_ENTROPY_ALTERNATIVES
                + CROSS_ENTROPY_GRAD_ALTERNATIVES + SOFTMAX_JACOBIAN_ALTERNATIVES + SOFTMAX_CE_GRAD_ALTERNATIVES
                + RELU_JACOBIAN_ALTERNATIVES + RELU_BACKWARD_ALTERNATIVES + LINEAR_BACKWARD_ALTERNATIVES
                + MSE_GRAD_ALTERNATIVES + SIGMOID_TANH_ALTERNATIVES + RELU_FAMILY_ALTERNATIVES
                + SEED_ERRORS_ALTERNATIVES)
