"""Grading catalogue of 09_recurrent: realistic bugs and valid alternatives.

Bugs from issue 25: BPTT that forgets the gradient from the next step; dh not
accumulated across outputs; the tanh derivative at the wrong state; h0's
gradient dropped; truncation off by one; cache aliasing across steps; a wrong
gate nonlinearity; the forget gate applied to the candidate; tanh(C) missing
in h; the cell-state gradient not carried through f; torch's gate order
confused and one of its two bias vectors dropped; the lecture notes' LSTM
"fixed" instead of implemented as printed; Jacobians multiplied in the wrong
order or measured with the Frobenius norm; per-array clipping; a classifier
that reads the first step or is not batch_first; a training loop that goes to
CUDA whenever it exists. Valid alternatives: per-step loops instead of einsum,
truncation as chunks, four separate gate products, torch.chunk, einsum,
singular values, torch's own clipping, a classifier on h_n.

Most variants are the solution with one edit (``edit``), so that each bug is
exactly the mistake its name says; ``edit`` fails loudly if the solution no
longer contains the text it replaces.
"""
import json
from pathlib import Path

from . import Variant, tests_of

SOLUTION = {c["id"]: "".join(c["source"]) for c in json.loads(
    (Path(__file__).parents[2] / "solutions" / "09_recurrent" / "09_recurrent.ipynb").read_text())["cells"]}

ELMAN = tests_of("elman_rnn")
LSTM = tests_of("lstm")
MAP = tests_of("lstm_params_from_torch")
NOTES = tests_of("notes_lstm_step")
JAC = tests_of("jacobians")
CLIP = tests_of("clip_by_norm")
CLF = tests_of("sequence_classifier")
TRAIN = tests_of("train_epoch")
# Locked cells that use what SequenceClassifier returns: every model the text allows must run through them.
MODEL_CELLS = ("main_run", "accuracy_visible", "accuracy_hidden", "fmnist_compare", "clip_experiment")


def edit(cell, *pairs):
    """The solution of ``cell`` with each (old, new) replacement made; old must occur."""
    source = SOLUTION[cell]
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert old in source, f"{cell}: {old!r} is not in the solution"
        source = source.replace(old, new)
    return source


def bug(name, cell, tests, *pairs, **extra):
    return Variant(name, cell, edit(cell, *pairs), tests, **extra)


BUGS = [
    # --- Elman RNN and BPTT
    bug("BPTT forgets the gradient from the next step", "elman_rnn", ELMAN,
        "(dh[:, t] + carried)", "dh[:, t]"),
    bug("dh not accumulated across outputs: only the last step's loss", "elman_rnn", ELMAN,
        "(dh[:, t] + carried)", "((dh[:, t] if t == T - 1 else 0.0) + carried)"),
    bug("tanh derivative as 1 - h instead of 1 - h^2", "elman_rnn", ELMAN,
        "(1.0 - h[:, t] ** 2)", "(1.0 - h[:, t])"),
    bug("tanh derivative taken at h_{t-1}", "elman_rnn", ELMAN,
        "(1.0 - h[:, t] ** 2)", "(1.0 - previous[:, t] ** 2)"),
    bug("dU from h_t instead of h_{t-1}", "elman_rnn", ELMAN,
        '"U": np.einsum("bth,btk->hk", da, previous)', '"U": np.einsum("bth,btk->hk", da, h)'),
    bug("dU transposed", "elman_rnn", ELMAN,
        '"U": np.einsum("bth,btk->hk", da, previous)', '"U": np.einsum("bth,btk->kh", da, previous)'),
    bug("db averaged over the batch", "elman_rnn", ELMAN,
        '"b": da.sum(axis=(0, 1))', '"b": da.sum(axis=(0, 1)) / x.shape[0]'),
    bug("h0 gradient dropped (zeros)", "elman_rnn", ELMAN,
        'return da @ self.params["W"], carried', 'return da @ self.params["W"], np.zeros_like(h0)'),
    bug("truncation off by one (cut after step k+1)", "elman_rnn", ELMAN,
        "t > 0 and t % truncate == 0", "(t + 1) % truncate == 0"),
    bug("truncation also cuts h0's gradient", "elman_rnn", ELMAN,
        "t > 0 and t % truncate == 0", "t % truncate == 0"),
    bug("forward multiplies by U instead of U.T", "elman_rnn", ELMAN,
        "previous = np.tanh(inputs[:, t] + previous @ U.T)", "previous = np.tanh(inputs[:, t] + previous @ U)"),
    bug("cache aliasing: every step's state is one buffer", "elman_rnn", ELMAN,
        """        previous = h0
        for t in range(x.shape[1]):
            previous = np.tanh(inputs[:, t] + previous @ U.T)
            h[:, t] = previous
        self.cache = (x, h0, h)""",
        """        state, states = h0.copy(), []
        for t in range(x.shape[1]):
            state[:] = np.tanh(inputs[:, t] + state @ U.T)
            states.append(state)
        h = np.stack(states, axis=1)
        self.cache = (x, h0, h)"""),
    bug("backward adds to grads instead of overwriting them", "elman_rnn", ELMAN,
        'self.grads = {"W": np.einsum', 'new = {"W": np.einsum',
        '"b": da.sum(axis=(0, 1))}', '"b": da.sum(axis=(0, 1))}\n        self.grads = {k: self.grads.get(k, 0.0) + v for k, v in new.items()}'),
    # --- LSTM
    bug("LSTM: candidate through a sigmoid instead of tanh", "lstm", LSTM,
        "g[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])", "g[:, 2 * H:3 * H] = 1.0 / (1.0 + np.exp(-a[:, 2 * H:3 * H]))"),
    bug("LSTM: output gate through tanh", "lstm", LSTM,
        "g[:, 3 * H:] = 1.0 / (1.0 + np.exp(-a[:, 3 * H:]))", "g[:, 3 * H:] = np.tanh(a[:, 3 * H:])"),
    bug("LSTM: forget gate applied to the candidate (gates swapped)", "lstm", LSTM,
        "c[:, t] = g[:, H:2 * H] * c_prev + g[:, :H] * g[:, 2 * H:3 * H]",
        "c[:, t] = g[:, :H] * c_prev + g[:, H:2 * H] * g[:, 2 * H:3 * H]"),
    bug("LSTM: tanh(C) missing in h", "lstm", LSTM,
        "h[:, t] = g[:, 3 * H:] * np.tanh(c[:, t])", "h[:, t] = g[:, 3 * H:] * c[:, t]",
        "tanh_c = np.tanh(c[:, t])", "tanh_c = c[:, t]"),
    bug("LSTM backward: cell-state gradient not multiplied by f", "lstm", LSTM,
        "dc_next = dct * f", "dc_next = dct"),
    bug("LSTM backward: no tanh' on the path from h to C", "lstm", LSTM,
        "dct = dc_next + dht * o * (1.0 - tanh_c ** 2)", "dct = dc_next + dht * o"),
    bug("LSTM backward: the cell-state gradient from step t+1 dropped", "lstm", LSTM,
        "dct = dc_next + dht", "dct = dht"),
    bug("LSTM backward: df from C_t instead of C_{t-1}", "lstm", LSTM,
        "dct * c_before[:, t] * f", "dct * c[:, t] * f"),
    bug("LSTM backward: output gate without the sigmoid derivative", "lstm", LSTM,
        "da[:, t, 3 * H:] = dht * tanh_c * o * (1.0 - o)", "da[:, t, 3 * H:] = dht * tanh_c"),
    bug("LSTM backward: dh0 and dc0 swapped", "lstm", LSTM,
        "return da @ I, dh_next, dc_next", "return da @ I, dc_next, dh_next"),
    bug("LSTM: forget_bias ignored", "lstm", LSTM,
        'np.full(n_hidden, forget_bias if gate == "f" else 0.0)', "np.zeros(n_hidden)"),
    # --- the torch mapping
    bug("torch gate order taken as i, f, o, g", "lstm_params_from_torch", MAP,
        'enumerate(("u", "f", "c", "o"))', 'enumerate(("u", "f", "o", "c"))'),
    bug("torch gate order taken as f, i, g, o", "lstm_params_from_torch", MAP,
        'enumerate(("u", "f", "c", "o"))', 'enumerate(("f", "u", "c", "o"))'),
    bug("only bias_ih (torch's second bias dropped)", "lstm_params_from_torch", MAP,
        "(lstm.bias_ih_l0 + lstm.bias_hh_l0)", "lstm.bias_ih_l0"),
    bug("mapping returns views of torch's weights", "lstm_params_from_torch", MAP,
        'params["I_" + gate] = weight_ih[rows].copy()', 'params["I_" + gate] = weight_ih[rows]'),
    # --- the lecture notes as printed
    bug("notes: the row-vector reading x_t @ I instead of I @ x_t", "notes_lstm_step", NOTES,
        *[pair for g in "ufco" for pair in (f'p["I_{g}"] @ x_t', f'x_t @ p["I_{g}"]')]),
    bug("notes: the shape 'fixed' with I.T @ x_t", "notes_lstm_step", NOTES,
        *[pair for g in "ufco" for pair in (f'p["I_{g}"] @ x_t', f'p["I_{g}"].T @ x_t')]),
    bug("notes: the error caught and zeros returned", "notes_lstm_step", NOTES,
        "    sigmoid = lambda", "    if p['I_u'].shape[0] != p['I_u'].shape[1]:\n        return np.zeros_like(h_prev), np.zeros_like(c_prev)\n    sigmoid = lambda"),
    # --- Jacobians
    bug("Jacobian product in the reverse order", "jacobians", JAC,
        "product = product @ jacobians[T - k]", "product = jacobians[T - k] @ product"),
    bug("Frobenius norm instead of the spectral norm", "jacobians", JAC,
        "np.linalg.norm(product, 2)", "np.linalg.norm(product)"),
    bug("step Jacobian without the tanh derivative", "jacobians", JAC,
        "return (1.0 - h ** 2)[:, :, None] * U[None, :, :]", "return np.repeat(U[None], len(h), axis=0)"),
    bug("step Jacobian U diag(1 - h^2) (derivative on the columns)", "jacobians", JAC,
        "return (1.0 - h ** 2)[:, :, None] * U[None, :, :]", "return (1.0 - h ** 2)[:, None, :] * U[None, :, :]"),
    bug("norms without the identity entry (T entries)", "jacobians", JAC,
        "norms = [1.0]", "norms = []"),
    # --- clipping
    bug("clipping each array by its own norm", "clip_by_norm", CLIP,
        """    total = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values()))
    scale = max_norm / total if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}""",
        """    out = {}
    for k, g in grads.items():
        norm = np.linalg.norm(g)
        out[k] = g * (max_norm / norm) if norm > max_norm else g.copy()
    return out"""),
    bug("clipping always rescales to max_norm", "clip_by_norm", CLIP,
        "scale = max_norm / total if total > max_norm else 1.0", "scale = max_norm / total"),
    bug("clipping divides by a zero norm (nan for zero gradients)", "clip_by_norm", CLIP,
        "scale = max_norm / total if total > max_norm else 1.0",
        "scale = np.float64(max_norm) / np.float64(total) if total > max_norm or total == 0 else 1.0"),
    # --- the sequence classifier
    bug("classifier reads the first step's state", "sequence_classifier", CLF + ("main_run", "accuracy_hidden"),
        "self.head(states[:, -1])", "self.head(states[:, 0])", must_fail=CLF[1:], must_pass=("main_run", "accuracy_hidden")),
    bug("classifier averages the states over time", "sequence_classifier", CLF,
        "self.head(states[:, -1])", "self.head(states.mean(dim=1))"),
    bug("classifier not batch_first", "sequence_classifier", CLF,
        "layers[cell](n_inputs, n_hidden, batch_first=True)", "layers[cell](n_inputs, n_hidden)"),
    bug("classifier RNN with ReLU", "sequence_classifier", CLF,
        'layers = {"rnn": nn.RNN,', 'layers = {"rnn": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k),'),
    bug("classifier LSTM reads the cell state c_n", "sequence_classifier", CLF,
        """        states, _ = self.recurrent(x)
        return self.head(states[:, -1])""",
        """        states, hidden = self.recurrent(x)
        last = hidden[1][-1] if isinstance(hidden, tuple) else hidden[-1]
        return self.head(last)"""),
    bug("classifier: an unknown cell silently becomes an RNN", "sequence_classifier", CLF,
        """        if cell not in layers:
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
        self.recurrent = layers[cell](""", "        self.recurrent = layers.get(cell, nn.RNN)("),
    # --- training loop
    bug("train_epoch goes to CUDA whenever it exists", "train_epoch", TRAIN,
        """    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)""",
        """    model.train()
    total_loss, correct, count = 0.0, 0, 0
    target = torch.device("cuda") if torch.cuda.is_available() else device
    for x, y in batches:
        x, y = x.to(target), y.to(target)"""),
    bug("evaluate left in training mode", "train_epoch", TRAIN,
        "    model.eval()\n", ""),
    bug("train_epoch's loss averaged over batches, not samples", "train_epoch", TRAIN,
        "total_loss += loss.item() * len(y)", "total_loss += loss.item()",
        "    return total_loss / count, correct / count\n    ### END SOLUTION\n\n\ndef evaluate",
        "    return total_loss / len(batches), correct / count\n    ### END SOLUTION\n\n\ndef evaluate"),
]

ALTERNATIVES = [
    Variant("Elman: per-step weight gradients accumulated in the loop", "elman_rnn", edit(
        "elman_rnn",
        """        da = np.empty_like(h)
        carried = np.zeros_like(h0)                                      # gradient arriving from step t+1
        for t in reversed(range(T)):
            da[:, t] = (dh[:, t] + carried) * (1.0 - h[:, t] ** 2)
            carried = da[:, t] @ self.params["U"]
            if truncate is not None and t > 0 and t % truncate == 0:
                carried = np.zeros_like(carried)                         # the chunk starts here: h_{t-1} is a constant
        self.grads = {"W": np.einsum("bth,btn->hn", da, x),
                      "U": np.einsum("bth,btk->hk", da, previous),
                      "b": da.sum(axis=(0, 1))}
        return da @ self.params["W"], carried""",
        """        W, U = self.params["W"], self.params["U"]
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(self.params["b"])
        dx = np.zeros_like(x)
        carried = np.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            da = (dh[:, t] + carried) * (1.0 - h[:, t] * h[:, t])
            dW += da.T @ x[:, t]
            dU += da.T @ previous[:, t]
            db += da.sum(axis=0)
            dx[:, t] = da @ W
            carried = da @ U
            if truncate and t and t % truncate == 0:
                carried = 0 * carried
        self.grads = {"W": dW, "U": dU, "b": db}
        return dx, carried"""), ELMAN),
    Variant("Elman: input term per step, states in a list", "elman_rnn", edit(
        "elman_rnn",
        """        inputs = x @ W.T + b                      # (B, T, H): the input term of every step at once
        h = np.empty(inputs.shape, dtype=np.result_type(x, h0, W))
        previous = h0
        for t in range(x.shape[1]):
            previous = np.tanh(inputs[:, t] + previous @ U.T)
            h[:, t] = previous
        self.cache = (x, h0, h)""",
        """        states, state = [], h0
        for t in range(x.shape[1]):
            state = np.tanh(x[:, t] @ W.T + state @ U.T + b)
            states.append(state)
        h = np.stack(states, axis=1)
        self.cache = (x.copy(), h0.copy(), h)"""), ELMAN),
    Variant("LSTM: four separate gate products, no stacking", "lstm", edit(
        "lstm",
        """            a = inputs[:, t] + h_prev @ W.T
            g = gates[:, t]""",
        """            p_ = self.params
            a = np.concatenate([x[:, t] @ p_["I_" + k].T + h_prev @ p_["W_" + k].T + p_["b_" + k] for k in self.GATES], axis=1)
            g = gates[:, t]"""), LSTM),
    Variant("LSTM: sigmoid written as (1 + tanh(a/2)) / 2", "lstm", edit(
        "lstm",
        "g[:, :2 * H] = 1.0 / (1.0 + np.exp(-a[:, :2 * H]))", "g[:, :2 * H] = 0.5 * (1.0 + np.tanh(0.5 * a[:, :2 * H]))",
        "g[:, 3 * H:] = 1.0 / (1.0 + np.exp(-a[:, 3 * H:]))", "g[:, 3 * H:] = 0.5 * (1.0 + np.tanh(0.5 * a[:, 3 * H:]))"), LSTM),
    Variant("mapping with torch.chunk", "lstm_params_from_torch", '''
def lstm_params_from_torch(lstm):
    with torch.no_grad():
        blocks = {"I": lstm.weight_ih_l0.chunk(4), "W": lstm.weight_hh_l0.chunk(4),
                  "b": (lstm.bias_ih_l0 + lstm.bias_hh_l0).chunk(4)}
        return {f"{kind}_{gate}": blocks[kind][k].double().cpu().numpy().copy()
                for kind in "IWb" for k, gate in enumerate("ufco")}
''', MAP),
    Variant("notes step with einsum, as printed", "notes_lstm_step", '''
def notes_lstm_step(x_t, h_prev, c_prev, p):
    def gate(name, f):
        return f(np.einsum("ij,j->i", p["W_" + name], h_prev) + np.einsum("ij,j->i", p["I_" + name], x_t) + p["b_" + name])
    sig = lambda a: 0.5 * (1 + np.tanh(a / 2))
    c_t = gate("f", sig) * c_prev + gate("u", sig) * gate("c", np.tanh)
    return gate("o", sig) * np.tanh(c_t), c_t
''', NOTES),
    Variant("Jacobians with einsum and the largest singular value", "jacobians", '''
def rnn_step_jacobians(U, h):
    return np.einsum("ti,ij->tij", 1.0 - h * h, U)


def jacobian_norms(jacobians):
    T = len(jacobians)
    out = np.ones(T + 1)
    product = np.eye(jacobians.shape[1])
    for k in range(1, T + 1):
        product = np.matmul(product, jacobians[T - k])
        out[k] = np.linalg.svd(product, compute_uv=False)[0]
    return out
''', JAC),
    Variant("clipping with torch's clip_grad_norm_", "clip_by_norm", '''
def clip_by_norm(grads, max_norm):
    tensors = {k: torch.tensor(np.array(g, dtype=np.float64)) for k, g in grads.items()}
    for t in tensors.values():
        t.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
    return {k: t.grad.numpy() for k, t in tensors.items()}
''', CLIP),
    Variant("classifier on h_n, other attribute names", "sequence_classifier", '''
class SequenceClassifier(nn.Module):
    def __init__(self, cell, n_inputs, n_hidden, n_classes):
        super().__init__()
        if cell == "rnn":
            self.rnn = nn.RNN(n_inputs, n_hidden, nonlinearity="tanh", batch_first=True)
        elif cell == "lstm":
            self.rnn = nn.LSTM(n_inputs, n_hidden, batch_first=True)
        else:
            raise ValueError(f"unknown cell {cell!r}: use 'rnn' or 'lstm'")
        self.fc = nn.Linear(n_hidden, n_classes)

    def forward(self, x):
        _, hidden = self.rnn(x)
        h_n = hidden[0] if isinstance(hidden, tuple) else hidden
        return self.fc(h_n[-1])
''', CLF + MODEL_CELLS),
    Variant("train_epoch with the loss summed per batch, evaluate under a decorator", "train_epoch", '''
def train_epoch(model, batches, optimizer, device):
    model.train()
    total, correct, count = 0.0, 0, 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y, reduction="sum")
        (loss / len(y)).backward()
        optimizer.step()
        total += loss.item()
        correct += (logits.argmax(1) == y).sum().item()
        count += y.numel()
    return total / count, correct / count


@torch.no_grad()
def evaluate(model, batches, device):
    model.eval()
    losses, hits = [], []
    for x, y in batches:
        logits = model(x.to(device))
        y = y.to(device)
        losses.append(F.cross_entropy(logits, y, reduction="none"))
        hits.append(logits.argmax(1) == y)
    return torch.cat(losses).mean().item(), torch.cat(hits).float().mean().item()
''', TRAIN + MODEL_CELLS),
]
