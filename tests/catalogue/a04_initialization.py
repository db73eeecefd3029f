from . import Variant, tests_of


def _header(name):
    return f"def {name}(shape, rng):\n"


GU, GN, KN, KU, SN, LS = (tests_of(n) for n in ("glorot_uniform", "glorot_normal", "kaiming_normal",
                                               "kaiming_uniform", "scaled_normal",
                                               "layer_statistics"))
SN_HEADER = "def scaled_normal(shape, std, rng):\n"
LS_HEADER = "def layer_statistics(x, weights, activation, dout):\n"

# A correct layer_statistics with hooks for one mistake each: FORWARD / BACKWARD / STATS bodies.
LS_PARTS = dict(
    derivative="""
    def f(z):
        return {"linear": z, "relu": np.maximum(z, 0), "tanh": np.tanh(z)}[activation]
    def f_prime(z, h):
        return {"linear": np.ones_like(z), "relu": (z > 0) * 1.0, "tanh": 1 - h ** 2}[activation]
""",
    forward="""
    h, pre, acts = x, [], []
    for W in weights:
        z = h @ W.T
        h = f(z)
        pre.append(z)
        acts.append(h)
""",
    backward="""
    g, grads = dout, []
    for W, z, a in zip(weights[::-1], pre[::-1], acts[::-1]):
        g = (g * f_prime(z, a)) @ W
        grads.append(g)
    grads = grads[::-1]
""",
    stats="""
    return np.array([a.std() for a in acts]), np.array([g.std() for g in grads]), acts
""",
)


def _ls(**replace):
    parts = {**LS_PARTS, **replace}
    return LS_HEADER + parts["derivative"] + parts["forward"] + parts["backward"] + parts["stats"]


BUGS = [
    # --- initializers
    Variant("Kaiming with fan_out where fan_in is asked", "kaiming_normal", _header("kaiming_normal") + """
    return rng.normal(0.0, np.sqrt(2.0 / shape[0]), size=shape)
""", KN, must_fail=("kaiming_normal_hidden",)),
    Variant("Kaiming uniform with fan_out", "kaiming_uniform", _header("kaiming_uniform") + """
    bound = np.sqrt(6.0 / shape[0])
    return rng.uniform(-bound, bound, size=shape)
""", KU, must_fail=("kaiming_uniform_hidden",)),
    Variant("Glorot with sqrt(6)/(m+n) instead of sqrt(6/(m+n))", "glorot_uniform",
            _header("glorot_uniform") + """
    bound = np.sqrt(6.0) / (shape[0] + shape[1])
    return rng.uniform(-bound, bound, size=shape)
""", GU),
    Variant("Kaiming normal without the ReLU gain 2", "kaiming_normal", _header("kaiming_normal") + """
    return rng.normal(0.0, np.sqrt(1.0 / shape[1]), size=shape)
""", KN),
    Variant("Kaiming uniform without the ReLU gain 2", "kaiming_uniform", _header("kaiming_uniform") + """
    bound = np.sqrt(3.0 / shape[1])
    return rng.uniform(-bound, bound, size=shape)
""", KU),
    Variant("uniform bound from the variance instead of the std", "kaiming_uniform",
            _header("kaiming_uniform") + """
    bound = 6.0 / shape[1]
    return rng.uniform(-bound, bound, size=shape)
""", KU),
    Variant("Glorot uniform bound = std (forgot the sqrt(3))", "glorot_uniform",
            _header("glorot_uniform") + """
    bound = np.sqrt(2.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, size=shape)
""", GU),
    Variant("normal initializer returning uniform samples of the right variance", "glorot_normal",
            _header("glorot_normal") + """
    a = np.sqrt(3.0) * np.sqrt(2.0 / (shape[0] + shape[1]))
    return rng.uniform(-a, a, size=shape)
""", GN),
    Variant("Kaiming normal returning uniform samples of the right variance", "kaiming_normal",
            _header("kaiming_normal") + """
    a = np.sqrt(6.0 / shape[1])
    return rng.uniform(-a, a, size=shape)
""", KN),
    Variant("uniform initializer returning normal samples of the right variance", "kaiming_uniform",
            _header("kaiming_uniform") + """
    return rng.normal(0.0, np.sqrt(2.0 / shape[1]), size=shape)
""", KU),
    Variant("Glorot normal with the variance as std", "glorot_normal", _header("glorot_normal") + """
    return rng.normal(0.0, 2.0 / (shape[0] + shape[1]), size=shape)
""", GN),
    Variant("Glorot normal with 1/(m+n)", "glorot_normal", _header("glorot_normal") + """
    return rng.normal(0.0, np.sqrt(1.0 / (shape[0] + shape[1])), size=shape)
""", GN),
    Variant("initializer ignoring the rng (np.random global)", "glorot_uniform",
            _header("glorot_uniform") + """
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return np.random.uniform(-bound, bound, size=shape)
""", GU),
    Variant("initializer seeding its own generator", "glorot_normal", _header("glorot_normal") + """
    own = np.random.default_rng(0)
    return own.normal(0.0, np.sqrt(2.0 / (shape[0] + shape[1])), size=shape)
""", GN),
    Variant("initializer reseeding the global generator", "kaiming_normal", _header("kaiming_normal") + """
    np.random.seed(0)
    return np.random.normal(0.0, np.sqrt(2.0 / shape[1]), size=shape)
""", KN),
    Variant("transposed shape (in, out)", "kaiming_uniform", _header("kaiming_uniform") + """
    fan_in = shape[1]
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=(shape[1], shape[0]))
""", KU, must_fail=("kaiming_uniform_hidden",)),
    Variant("fans unpacked in the wrong order (fan_in, fan_out = shape)", "kaiming_normal",
            _header("kaiming_normal") + """
    fan_in, fan_out = shape
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
""", KN, must_fail=("kaiming_normal_hidden",)),
    Variant("one-sided uniform U(0, a)", "glorot_uniform", _header("glorot_uniform") + """
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(0, bound, size=shape)
""", GU),
    Variant("uniform on [-a/2, a/2] (range 2a read as a)", "kaiming_uniform",
            _header("kaiming_uniform") + """
    bound = np.sqrt(6.0 / shape[1])
    return rng.uniform(-bound / 2, bound / 2, size=shape)
""", KU),
    Variant("Glorot with the mean of the fans instead of the sum", "glorot_uniform",
            _header("glorot_uniform") + """
    bound = np.sqrt(6.0 / ((shape[0] + shape[1]) / 2))
    return rng.uniform(-bound, bound, size=shape)
""", GU),
    Variant("integer weights (rng.integers)", "glorot_uniform", _header("glorot_uniform") + """
    return rng.integers(-1, 2, size=shape)
""", GU),
    Variant("returns a torch tensor", "kaiming_normal", _header("kaiming_normal") + """
    return torch.from_numpy(rng.normal(0.0, np.sqrt(2.0 / shape[1]), size=shape))
""", KN),
    Variant("scaled_normal with std used as the variance", "scaled_normal", SN_HEADER + """
    return rng.normal(0.0, np.sqrt(std), size=shape)
""", SN),
    Variant("scaled_normal ignoring the rng", "scaled_normal", SN_HEADER + """
    return np.random.default_rng().normal(0.0, std, size=shape)
""", SN),
    Variant("scaled_normal returning uniform samples", "scaled_normal", SN_HEADER + """
    return rng.uniform(-np.sqrt(3.0) * std, np.sqrt(3.0) * std, size=shape)
""", SN),
    Variant("scaled_normal scaled by fan_in", "scaled_normal", SN_HEADER + """
    return rng.normal(0.0, std / np.sqrt(shape[1]), size=shape)
""", SN),
    # --- layer_statistics
    Variant("records the pre-activation std instead of the post-activation", "layer_statistics",
            _ls(stats="""
    return np.array([z.std() for z in pre]), np.array([g.std() for g in grads]), acts
"""), LS),
    Variant("gradient stds in the wrong layer order", "layer_statistics", _ls(stats="""
    return np.array([a.std() for a in acts]), np.array([g.std() for g in grads[::-1]]), acts
"""), LS),
    Variant("gradient w.r.t. the pre-activation instead of the layer input", "layer_statistics",
            _ls(backward="""
    g, grads = dout, []
    for W, z, a in zip(weights[::-1], pre[::-1], acts[::-1]):
        delta = g * f_prime(z, a)
        grads.append(delta)
        g = delta @ W
    grads = grads[::-1]
"""), LS),
    Variant("gradient w.r.t. the layer output (off by one layer)", "layer_statistics",
            _ls(backward="""
    g, grads = dout, []
    for W, z, a in zip(weights[::-1], pre[::-1], acts[::-1]):
        grads.append(g)
        g = (g * f_prime(z, a)) @ W
    grads = grads[::-1]
"""), LS),
    Variant("backward ignores the activation's derivative", "layer_statistics", _ls(backward="""
    g, grads = dout, []
    for W in weights[::-1]:
        g = g @ W
        grads.append(g)
    grads = grads[::-1]
"""), LS),
    Variant("tanh derivative 1 - z**2 instead of 1 - tanh(z)**2", "layer_statistics",
            _ls(derivative="""
    def f(z):
        return {"linear": z, "relu": np.maximum(z, 0), "tanh": np.tanh(z)}[activation]
    def f_prime(z, h):
        return {"linear": np.ones_like(z), "relu": (z > 0) * 1.0, "tanh": 1 - z ** 2}[activation]
"""), LS, must_fail=("layer_statistics_hidden",)),
    Variant("ReLU mask taken from the gradient's sign", "layer_statistics", _ls(backward="""
    g, grads = dout, []
    for W, z, a in zip(weights[::-1], pre[::-1], acts[::-1]):
        mask = (g > 0) * 1.0 if activation == "relu" else f_prime(z, a)
        g = (g * mask) @ W
        grads.append(g)
    grads = grads[::-1]
"""), LS),
    Variant("forward with W instead of W.T", "layer_statistics", _ls(forward="""
    h, pre, acts = x, [], []
    for W in weights:
        z = h @ W
        h = f(z)
        pre.append(z)
        acts.append(h)
"""), LS, must_fail=("layer_statistics_hidden",)),
    Variant("backward with W.T instead of W", "layer_statistics", _ls(backward="""
    g, grads = dout, []
    for W, z, a in zip(weights[::-1], pre[::-1], acts[::-1]):
        g = (g * f_prime(z, a)) @ W.T
        grads.append(g)
    grads = grads[::-1]
"""), LS, must_fail=("layer_statistics_hidden",)),
    Variant("no activation after the last layer", "layer_statistics", _ls(forward="""
    h, pre, acts = x, [], []
    for i, W in enumerate(weights):
        z = h @ W.T
        h = f(z) if i < len(weights) - 1 else z
        pre.append(z)
        acts.append(h)
""", backward="""
    g, grads = dout, []
    for i, (W, z, a) in enumerate(zip(weights[::-1], pre[::-1], acts[::-1])):
        g = (g * (f_prime(z, a) if i > 0 else 1.0)) @ W
        grads.append(g)
    grads = grads[::-1]
"""), LS, must_fail=("layer_statistics_hidden",)),
    Variant("unbiased std (ddof=1)", "layer_statistics", _ls(stats="""
    return (np.array([a.std(ddof=1) for a in acts]), np.array([g.std(ddof=1) for g in grads]), acts)
"""), LS, must_fail=("layer_statistics_hidden",)),
    Variant("std per unit over the batch, then averaged", "layer_statistics", _ls(stats="""
    return (np.array([a.std(axis=0).mean() for a in acts]),
            np.array([g.std(axis=0).mean() for g in grads]), acts)
"""), LS),
    Variant("the input counted as a layer (L + 1 entries)", "layer_statistics", _ls(stats="""
    return (np.array([a.std() for a in [x] + acts]), np.array([g.std() for g in grads] + [dout.std()]),
            [x] + acts)
"""), LS),
    Variant("mean absolute value instead of the std", "layer_statistics", _ls(stats="""
    return np.array([np.abs(a).mean() for a in acts]), np.array([np.abs(g).mean() for g in grads]), acts
"""), LS),
    Variant("activations list holds pre-activations", "layer_statistics", _ls(stats="""
    return np.array([a.std() for a in acts]), np.array([g.std() for g in grads]), pre
"""), LS),
    Variant("ReLU applied in place to the input batch", "layer_statistics", _ls(forward="""
    h, pre, acts = x, [], []
    if activation == "relu":
        np.maximum(x, 0, out=x)
    for W in weights:
        z = h @ W.T
        h = f(z)
        pre.append(z)
        acts.append(h)
"""), LS),
]

ALTERNATIVES = [
    # --- initializers
    Variant("a*(2*rng.random(size)-1)", "glorot_uniform", _header("glorot_uniform") + """
    a = (6 / (shape[0] + shape[1])) ** 0.5
    return a * (2 * rng.random(size=shape) - 1)
""", GU),
    Variant("float32 output", "kaiming_uniform", _header("kaiming_uniform") + """
    bound = np.float32(np.sqrt(6.0 / shape[1]))
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)
""", KU),
    Variant("float32 via rng.random(dtype=float32)", "glorot_uniform", _header("glorot_uniform") + """
    a = np.float32(np.sqrt(6.0 / (shape[0] + shape[1])))
    return a * (2 * rng.random(size=shape, dtype=np.float32) - 1)
""", GU),
    Variant("standard normal times std, math.sqrt, tuple unpacking", "glorot_normal",
            _header("glorot_normal") + """
    import math
    fan_out, fan_in = shape
    return math.sqrt(2 / (fan_in + fan_out)) * rng.standard_normal(shape)
""", GN),
    Variant("float32 standard normal", "kaiming_normal", _header("kaiming_normal") + """
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / shape[1]))
""", KN),
    Variant("torch.nn.init with a generator seeded from rng", "kaiming_normal",
            _header("kaiming_normal") + """
    generator = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
    w = torch.empty(shape)
    torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=generator)
    return w.numpy()
""", KN),
    Variant("torch.nn.init.xavier_uniform_ seeded from rng", "glorot_uniform",
            _header("glorot_uniform") + """
    generator = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
    return torch.nn.init.xavier_uniform_(torch.empty(shape, dtype=torch.float64),
                                         generator=generator).numpy()
""", GU),
    Variant("kaiming_uniform as sqrt(3) times the Kaiming std", "kaiming_uniform",
            _header("kaiming_uniform") + """
    std = np.sqrt(2.0) / np.sqrt(shape[-1])
    return rng.uniform(-np.sqrt(3.0) * std, np.sqrt(3.0) * std, size=tuple(shape))
""", KU),
    Variant("scaled_normal via standard_normal", "scaled_normal", SN_HEADER + """
    return std * rng.standard_normal(size=shape)
""", SN),
    Variant("scaled_normal via torch.nn.init.normal_ seeded from rng", "scaled_normal", SN_HEADER + """
    generator = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
    return torch.nn.init.normal_(torch.empty(shape, dtype=torch.float64), 0.0, std,
                                 generator=generator).numpy()
""", SN),
    # --- layer_statistics
    Variant("float32 computation", "layer_statistics", LS_HEADER + """
    x32, d32 = x.astype(np.float32), dout.astype(np.float32)
    ws = [W.astype(np.float32) for W in weights]
    f = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    hs, zs = [x32], []
    for W in ws:
        zs.append(hs[-1] @ W.T)
        hs.append(f(zs[-1]))
    g = d32
    grad_std = [0.0] * len(ws)
    for l in reversed(range(len(ws))):
        if activation == "relu":
            g = g * (zs[l] > 0)
        elif activation == "tanh":
            g = g * (1 - hs[l + 1] ** 2)
        g = g @ ws[l]
        grad_std[l] = float(g.std())
    return np.array([h.std() for h in hs[1:]], dtype=np.float32), np.array(grad_std, dtype=np.float32), hs[1:]
""", LS),
    Variant("torch autograd", "layer_statistics", LS_HEADER + """
    f = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh}[activation]
    h = torch.tensor(x, requires_grad=True)
    inputs, outputs = [], []
    for W in weights:
        if not h.is_leaf:
            h.retain_grad()
        inputs.append(h)
        h = f(h @ torch.tensor(W).T)
        outputs.append(h)
    h.backward(torch.tensor(dout))
    return ([o.std(unbiased=False).item() for o in outputs],
            [i.grad.std(unbiased=False).item() for i in inputs],
            [o.detach().numpy() for o in outputs])
""", LS),
    Variant("ReLU derivative at 0 taken as 1, einsum, tanh' as 1/cosh^2", "layer_statistics",
            LS_HEADER + """
    zs, hs = [], []
    h = x
    for W in weights:
        z = np.einsum("bi,oi->bo", h, W)
        h = z if activation == "linear" else (np.where(z > 0, z, 0.0) if activation == "relu" else np.tanh(z))
        zs.append(z)
        hs.append(h)
    g = dout
    grad_std = np.empty(len(weights))
    for l in range(len(weights) - 1, -1, -1):
        if activation == "relu":
            g = g * (zs[l] >= 0)
        elif activation == "tanh":
            g = g / np.cosh(zs[l]) ** 2
        g = np.einsum("bo,oi->bi", g, weights[l])
        grad_std[l] = np.sqrt(np.mean((g - g.mean()) ** 2))
    act_std = np.array([np.sqrt(np.mean((a - a.mean()) ** 2)) for a in hs])
    return act_std, grad_std, hs
""", LS),
    Variant("explicit loops over the batch with tuples", "layer_statistics", LS_HEADER + """
    f = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    d = {"linear": lambda z: np.ones_like(z), "relu": lambda z: (z > 0).astype(float),
         "tanh": lambda z: 1 - np.tanh(z) ** 2}[activation]
    hs, zs = [np.asarray(x, dtype=float)], []
    for W in weights:
        zs.append(np.stack([W @ row for row in hs[-1]]))
        hs.append(f(zs[-1]))
    g = np.asarray(dout, dtype=float)
    grads = []
    for W, z in zip(reversed(weights), reversed(zs)):
        g = np.stack([W.T @ row for row in g * d(z)])
        grads.insert(0, g)
    return tuple(np.std(a) for a in hs[1:]), tuple(np.std(a) for a in grads), tuple(hs[1:])
""", LS),
]


# ---------------------------------------------------------------- the seeds' formulas, measured
NOTES_GLOROT = tests_of("notes_glorot_uniform")
ESTIMATE = tests_of("lecture_gradient_estimate")
NOTES_HEADER = "def notes_glorot_uniform(shape, rng):\n    fan_out, fan_in = shape\n"


def estimate(delta_loop="for W in weights[:0:-1]:\n        delta = delta @ W", lecture="L", corrected="L - 1",
             scale="dout.std() * x.std()", sigma="np.concatenate([W.ravel() for W in weights]).std()"):
    return f"""
def lecture_gradient_estimate(weights, x, dout):
    delta = dout
    {delta_loop}
    measured = np.outer(delta, x).std()
    n, L = weights[0].shape[1], len(weights)
    sigma = {sigma}
    scale = {scale}
    return np.array([measured, scale * (np.sqrt(n) * sigma) ** ({lecture}), scale * (np.sqrt(n) * sigma) ** ({corrected})])
"""


BUGS += [
    Variant("the lecture notes' Glorot: the right bound sqrt(6 / (m + n)) instead of the formula as printed", "notes_glorot_uniform",
            NOTES_HEADER + "    bound = np.sqrt(6.0 / (fan_in + fan_out))\n    return rng.uniform(-bound, bound, size=shape)\n",
            NOTES_GLOROT),
    Variant("the lecture notes' Glorot: sqrt(6) / fan_in", "notes_glorot_uniform",
            NOTES_HEADER + "    bound = np.sqrt(6.0) / fan_in\n    return rng.uniform(-bound, bound, size=shape)\n",
            NOTES_GLOROT, must_fail=("notes_glorot_uniform_hidden",)),
    Variant("the lecture notes' Glorot: drawn from np.random, not rng", "notes_glorot_uniform",
            NOTES_HEADER + "    bound = np.sqrt(6.0) / (fan_in + fan_out)\n    return np.random.uniform(-bound, bound, size=shape)\n",
            NOTES_GLOROT),
    Variant("lecture estimate: delta_1 taken back through all L matrices (W_1 too)", "lecture_gradient_estimate",
            estimate(delta_loop="for W in weights[::-1]:\n        delta = delta @ W"), ESTIMATE),
    Variant("lecture estimate: the corrected estimate with L factors too", "lecture_gradient_estimate",
            estimate(corrected="L"), ESTIMATE),
    Variant("lecture estimate: the optimization lecture's estimate with L - 1 factors", "lecture_gradient_estimate",
            estimate(lecture="L - 1"), ESTIMATE, must_fail=("lecture_gradient_estimate_hidden",)),
    Variant("lecture estimate: sigma is the weights' variance", "lecture_gradient_estimate",
            estimate(sigma="np.concatenate([W.ravel() for W in weights]).var()"), ESTIMATE),
    Variant("lecture estimate: the input's spread left out", "lecture_gradient_estimate",
            estimate(scale="dout.std()"), ESTIMATE, must_fail=("lecture_gradient_estimate_hidden",)),
]
ALTERNATIVES += [
    Variant("the lecture notes' Glorot: c * (2 U(0, 1) - 1)", "notes_glorot_uniform",
            NOTES_HEADER + "    c = 6 ** 0.5 / (fan_in + fan_out)\n    return c * (2.0 * rng.random(shape) - 1.0)\n", NOTES_GLOROT),
    Variant("lecture estimate with multi_dot and float64 casts", "lecture_gradient_estimate", """
def lecture_gradient_estimate(weights, x, dout):
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    back = np.linalg.multi_dot([dout[None, :]] + weights[:0:-1])[0] if len(weights) > 2 else dout @ weights[1]
    grad = back[:, None] * x[None, :]
    n, L = x.size, len(weights)
    factor = np.sqrt(n) * np.std(np.stack(weights))
    spread = np.std(dout) * np.std(x)
    return np.array([grad.std(), spread * factor ** L, spread * factor ** (L - 1)])
""", ESTIMATE),
]
