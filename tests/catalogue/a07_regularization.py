"""Grading catalogue of 07_regularization: realistic bugs and valid alternatives.

Every bug the issue's Grading section lists is here: L2 applied after Adam's
normalization (AdamW where Adam + L2 is asked) and the reverse; decay applied
to the biases; early stopping that returns the last epoch instead of the
best, resets its patience on any change instead of an improvement larger than
min_delta, or never stops on nan; crop offsets off by one (never the last
position), flips applied to the labels or to the whole batch at once,
augmentation that modifies its input in place; random search sampling a log
dimension uniformly; grid search exceeding its budget; successive halving
keeping the worst half; dropout without rescaling, with a scaling at
evaluation, one mask for the whole batch, or p taken as the keep
probability. Plus more of the same kind (the thesis's MAP lambda,
Adam's step count per array, min_delta ignored, ties taken as improvements,
the float trap of int(n ** (1 / d)), ...), and the valid alternatives:
vectorized crops, np.flip, endpoint=True, a shared Adam helper, a history
list for early stopping, 10 ** uniform(log10 ...) and rng.choice, an argsort
that puts nan last, dropout through np.where and a boolean mask.
"""
from . import Variant, tests_of

MAP = tests_of("map_weight_decay")
ADAM = tests_of("adam_l2_step")
ADAMW = tests_of("adamw_step")
EARLY = tests_of("early_stopping")
AUGMENT = tests_of("augmentation") + ("augmentation_erase_hidden", "augmentation_stats_hidden")
GRID = tests_of("grid_search")
RANDOM = tests_of("random_search")
HALVING = tests_of("successive_halving")
DROPOUT = tests_of("dropout") + ("dropout_stats_hidden",)


# ------------------------------------------------------------------ templates: the solution, in parts

def map_weight_decay(expression="sigma ** 2 / (2.0 * n * tau ** 2)"):
    return f'''
def map_weight_decay(sigma, tau, n):
    return {expression}
'''


L2_DECAY = '''if not k.endswith("bias"):
            g = g + weight_decay * params[k]'''
W_DECAY = '''if not k.endswith("bias"):
            params[k] *= 1 - lr * weight_decay'''


def adam(name="adam_l2_step", decay=L2_DECAY, after="", count='state["t"] = state.get("t", 0) + 1\n    t = state["t"]',
         count_inside="", s_hat="s / (1 - beta1 ** t)", r_hat="r / (1 - beta2 ** t)",
         update="params[k] -= lr * s_hat / (np.sqrt(r_hat) + eps)"):
    return f'''
def {name}(params, grads, state, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    {count}
    for k in params:
        {count_inside}
        g = grads[k]
        {decay}
        s = state.setdefault("s_" + k, np.zeros_like(params[k]))
        r = state.setdefault("r_" + k, np.zeros_like(params[k]))
        s *= beta1
        s += (1 - beta1) * g
        r *= beta2
        r += (1 - beta2) * g * g
        s_hat = {s_hat}
        r_hat = {r_hat}
        {update}
        {after}
'''


def early(improved_min="value < self.best - self.min_delta", improved_max="value > self.best + self.min_delta",
          nan_check="if not math.isfinite(value):\n            return True", on_improve="self.best, self.best_epoch, self.wait = value, self.epoch, 0",
          otherwise="self.wait += 1", stop="self.wait >= self.patience", extra=""):
    return f'''
class EarlyStopping:
    def __init__(self, patience=5, min_delta=0.0, mode="min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {{mode!r}}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best, self.best_epoch = None, None
        self.wait, self.epoch = 0, -1
        self.last = None

    def step(self, value):
        self.epoch += 1
        value = float(value)
        {nan_check}
        if self.best is None:
            improved = True
        elif self.mode == "min":
            improved = {improved_min}
        else:
            improved = {improved_max}
        if improved:
            {on_improve}
        else:
            {otherwise}
        {extra}
        self.last = value
        return {stop}
'''


CROP = '''
def random_crop(x, pad, rng):
    B, C, H, W = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = rng.integers(0, 2 * pad + 1, size=(B, 2))
    out = np.empty_like(x)
    for b, (i, j) in enumerate(offsets):
        out[b] = padded[b, :, i:i + H, j:j + W]
    return out
'''
FLIP = '''
def random_flip(x, rng, p=0.5):
    flips = rng.random(x.shape[0]) < p
    out = x.copy()
    out[flips] = x[flips][..., ::-1]
    return out
'''
ERASE = '''
def random_erase(x, size, rng, p=0.5, value=0.0):
    B, C, H, W = x.shape
    erase = rng.random(B) < p
    tops = rng.integers(0, H - size + 1, size=B)
    lefts = rng.integers(0, W - size + 1, size=B)
    out = x.copy()
    for b in np.flatnonzero(erase):
        out[b, :, tops[b]:tops[b] + size, lefts[b]:lefts[b] + size] = value
    return out
'''
BATCH = '''
def augment_batch(x, y, rng, pad=2, erase_size=0):
    out = random_flip(random_crop(x, pad, rng), rng, p=0.5)
    if erase_size > 0:
        out = random_erase(out, erase_size, rng, p=0.5, value=0.0)
    return out, y
'''


def augmentation(crop=CROP, flip=FLIP, erase=ERASE, batch=BATCH):
    return crop + flip + erase + batch


def dropout(train="keep = self.rng.random(x.shape) >= self.p\n        self.scale = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)\n        return x * self.scale",
            evaluate="return x", backward_train="return dout * self.scale", backward_eval="return dout"):
    return f'''
class Dropout:
    def __init__(self, p, rng):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"the drop probability p must be in [0, 1), got {{p}}")
        self.p, self.rng = p, rng
        self.training = True
        self.params, self.grads = {{}}, {{}}
        self.scale = None

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, x):
        if not self.training:
            {evaluate}
        {train}

    def backward(self, dout):
        if not self.training:
            {backward_eval}
        {backward_train}
'''


def grid(k_loop="while (k + 1) ** len(continuous) * n_choices <= budget:\n            k += 1",
         log_axis="np.geomspace(dim[1], dim[2], k) if k > 1 else [math.sqrt(dim[1] * dim[2])]",
         points="itertools.islice(itertools.product(*axes), budget)",
         best="min(trials, key=lambda trial: (math.isnan(trial[1]), trial[1]))",
         record="trials.append((params, float(objective(params))))"):
    return f'''
def grid_search(objective, space, budget):
    continuous = [name for name, dim in space.items() if dim[0] in ("log", "uniform")]
    n_choices = math.prod(len(dim[1]) for dim in space.values() if dim[0] == "choice")
    k = 1
    if continuous:
        {k_loop}
    axes = []
    for name, dim in space.items():
        if dim[0] == "log":
            axes.append({log_axis})
        elif dim[0] == "uniform":
            axes.append(np.linspace(dim[1], dim[2], k) if k > 1 else [(dim[1] + dim[2]) / 2])
        else:
            axes.append(list(dim[1]))
    trials = []
    for values in {points}:
        params = {{name: float(v) if space[name][0] != "choice" else v for name, v in zip(space, values)}}
        {record}
    best = {best}
    return trials, best
'''


def random(log="float(math.exp(rng.uniform(math.log(dim[1]), math.log(dim[2]))))",
           uniform="float(rng.uniform(dim[1], dim[2]))", choice="dim[1][int(rng.integers(len(dim[1])))]",
           count="range(budget)", best="min(trials, key=lambda trial: (math.isnan(trial[1]), trial[1]))"):
    return f'''
def random_search(objective, space, budget, rng):
    trials = []
    for _ in {count}:
        params = {{}}
        for name, dim in space.items():
            if dim[0] == "log":
                params[name] = {log}
            elif dim[0] == "uniform":
                params[name] = {uniform}
            else:
                params[name] = {choice}
        trials.append((params, float(objective(params))))
    best = {best}
    return trials, best
'''


def halving(score="math.inf if math.isnan(value) else value", select="sorted(survivors, key=lambda i: scores[i])[:keep]",
            keep="max(1, len(survivors) // eta)", grow="epochs *= eta", evaluated="survivors"):
    return f'''
def successive_halving(evaluate, configs, min_epochs=1, eta=2):
    survivors = list(range(len(configs)))
    epochs = min_epochs
    history = []
    while True:
        scores = {{}}
        for i in {evaluated}:
            value = float(evaluate(configs[i], epochs))
            history.append((i, epochs, value))
            scores[i] = {score}
        keep = {keep}
        survivors = sorted({select})
        if len(survivors) == 1:
            return survivors[0], history
        {grow}
'''


def nested_adam_helper(name):
    # An Adam update with its moments in nested dicts, as a cell-local helper called `name`.
    return f'''
def {name}(params, grads, state, lr, beta1, beta2, eps):
    state["t"] = state.get("t", 0) + 1
    moments = state.setdefault("moments", {{}})
    for k, g in grads.items():
        m, v = moments.get(k, (0.0, 0.0))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        moments[k] = (m, v)
        m_hat, v_hat = m / (1 - beta1 ** state["t"]), v / (1 - beta2 ** state["t"])
        np.subtract(params[k], lr * m_hat / (np.sqrt(v_hat) + eps), out=params[k], casting="unsafe")
'''


BUGS = [
    # ---- the MAP weight decay
    Variant("MAP lambda = sigma^2 / tau^2 (the thesis's eq. 1.1.16)", "map_weight_decay",
            map_weight_decay("sigma ** 2 / tau ** 2"), MAP),
    Variant("MAP lambda without the 1/2", "map_weight_decay", map_weight_decay("sigma ** 2 / (n * tau ** 2)"), MAP),
    Variant("MAP lambda without the 1/n", "map_weight_decay", map_weight_decay("sigma ** 2 / (2 * tau ** 2)"), MAP),
    # ---- Adam + L2
    Variant("Adam + L2: the decay applied after Adam's normalization (AdamW)", "adam_l2_step",
            adam(decay=W_DECAY), ADAM),
    Variant("Adam + L2: the penalty on the biases too", "adam_l2_step",
            adam(decay="g = g + weight_decay * params[k]"), ADAM),
    Variant("Adam + L2: gradient 2 lambda w of lambda ||w||^2", "adam_l2_step",
            adam(decay=L2_DECAY.replace("weight_decay * params[k]", "2 * weight_decay * params[k]")), ADAM),
    Variant("Adam + L2 without bias correction", "adam_l2_step", adam(s_hat="s", r_hat="r"), ADAM),
    Variant("Adam + L2: the step count incremented once per array", "adam_l2_step",
            adam(count="", count_inside='state["t"] = state.get("t", 0) + 1\n        t = state["t"]'), ADAM),
    Variant("Adam + L2 adds the decay into the caller's grads in place (g = grads[k]; g += ...)", "adam_l2_step",
            adam(decay=L2_DECAY.replace("g = g + weight_decay", "g += weight_decay")), ADAM),
    Variant("Adam + L2: the L2 term added to the update instead of the gradient (lr * wd * w outside Adam)",
            "adam_l2_step", adam(decay="", update="params[k] -= lr * s_hat / (np.sqrt(r_hat) + eps)\n"
                                                   "        if not k.endswith('bias'):\n"
                                                   "            params[k] -= lr * weight_decay * params[k]"), ADAM),
    # ---- AdamW
    Variant("AdamW: the decay fed through Adam as an L2 gradient (Adam + L2)", "adamw_step",
            adam(name="adamw_step", decay=L2_DECAY), ADAMW),
    Variant("AdamW: the biases decayed too", "adamw_step",
            adam(name="adamw_step", decay="params[k] *= 1 - lr * weight_decay"), ADAMW),
    Variant("AdamW: w *= 1 - weight_decay, without the learning rate", "adamw_step",
            adam(name="adamw_step", decay=W_DECAY.replace("1 - lr * weight_decay", "1 - weight_decay")), ADAMW),
    Variant("AdamW: the decay applied after the Adam step (to the updated weights)", "adamw_step",
            adam(name="adamw_step", decay="", after=W_DECAY), ADAMW),
    Variant("AdamW: a new array instead of an in-place update", "adamw_step",
            adam(name="adamw_step", decay=W_DECAY.replace("params[k] *= 1 - lr * weight_decay",
                                                          "params[k] = params[k] * (1 - lr * weight_decay)")), ADAMW),
    # ---- early stopping
    Variant("early stopping returns the last epoch instead of the best", "early_stopping",
            early(otherwise="self.wait += 1\n            self.best_epoch = self.epoch"), EARLY),
    Variant("early stopping resets its patience on any change, not on an improvement > min_delta", "early_stopping",
            early(otherwise="self.wait = 0 if value != self.last else self.wait + 1"), EARLY),
    Variant("early stopping never stops on nan (no finiteness check)", "early_stopping", early(nan_check=""), EARLY),
    Variant("early stopping on nan: skips the epoch instead of stopping", "early_stopping",
            early(nan_check="if math.isnan(value):\n            return False"), EARLY),
    Variant("early stopping ignores min_delta", "early_stopping",
            early(improved_min="value < self.best", improved_max="value > self.best"), EARLY),
    Variant("early stopping takes a tie as an improvement (<=)", "early_stopping",
            early(improved_min="value <= self.best - self.min_delta", improved_max="value >= self.best + self.min_delta"),
            EARLY),
    Variant("early stopping one epoch late (wait > patience)", "early_stopping", early(stop="self.wait > self.patience"),
            EARLY),
    Variant("early stopping ignores mode='max'", "early_stopping", early(improved_max="value < self.best - self.min_delta"),
            EARLY),
    # ---- augmentation
    Variant("crop offsets off by one: rng.integers(0, 2 * pad) never gives the last position", "augmentation",
            augmentation(crop=CROP.replace("rng.integers(0, 2 * pad + 1", "rng.integers(0, 2 * pad")), AUGMENT),
    Variant("flip: one draw for the whole batch", "augmentation",
            augmentation(flip='''
def random_flip(x, rng, p=0.5):
    if rng.random() < p:
        return x[..., ::-1].copy()
    return x.copy()
'''), AUGMENT),
    Variant("flip upside down (axis 2) instead of left-right", "augmentation",
            augmentation(flip=FLIP.replace("x[flips][..., ::-1]", "x[flips][:, :, ::-1, :]")), AUGMENT),
    Variant("flip with np.flip and no axis (mirrors the batch and channel axes too)", "augmentation",
            augmentation(flip=FLIP.replace("x[flips][..., ::-1]", "np.flip(x[flips])")), AUGMENT),
    Variant("flips applied to the labels too (augment_batch reverses y)", "augmentation",
            augmentation(batch=BATCH.replace("return out, y", "return out, y[::-1]")), AUGMENT),
    Variant("flip modifies its input in place", "augmentation",
            augmentation(flip='''
def random_flip(x, rng, p=0.5):
    flips = rng.random(x.shape[0]) < p
    x[flips] = x[flips][..., ::-1]
    return x
'''), AUGMENT),
    Variant("random erasing modifies its input in place", "augmentation",
            augmentation(erase=ERASE.replace("out = x.copy()", "out = x")), AUGMENT),
    Variant("crop returns float64 (np.zeros) whatever the input dtype", "augmentation",
            augmentation(crop=CROP.replace("out = np.empty_like(x)", "out = np.zeros(x.shape)")), AUGMENT),
    Variant("erase draws lefts before tops", "augmentation",
            augmentation(erase=ERASE.replace(
                "tops = rng.integers(0, H - size + 1, size=B)\n    lefts = rng.integers(0, W - size + 1, size=B)",
                "lefts = rng.integers(0, W - size + 1, size=B)\n    tops = rng.integers(0, H - size + 1, size=B)")), AUGMENT),
    Variant("augment_batch skips the crop", "augmentation",
            augmentation(batch=BATCH.replace("random_flip(random_crop(x, pad, rng), rng, p=0.5)", "random_flip(x, rng, p=0.5)")),
            AUGMENT),
    # ---- grid search
    Variant("grid search exceeds the budget (k = ceil(budget ** (1 / d)))", "grid_search",
            grid(k_loop="k = math.ceil(budget ** (1 / len(continuous)) / n_choices ** (1 / len(continuous)))"), GRID),
    Variant("grid search with k = int(budget ** (1 / d)) (the float trap: 64 ** (1/3) < 4)", "grid_search",
            grid(k_loop="k = max(1, int((budget / n_choices) ** (1 / len(continuous))))"), GRID),
    Variant("grid search with k = round(budget ** (1 / d))", "grid_search",
            grid(k_loop="k = max(1, round((budget / n_choices) ** (1 / len(continuous))))"), GRID),
    Variant("grid search: a log dimension on a linear grid", "grid_search",
            grid(log_axis="np.linspace(dim[1], dim[2], k) if k > 1 else [(dim[1] + dim[2]) / 2]"), GRID),
    Variant("grid search: no truncation when the choices alone exceed the budget", "grid_search",
            grid(points="itertools.product(*axes)"), GRID),
    Variant("grid search calls the objective twice per trial", "grid_search",
            grid(record="objective(params)\n        trials.append((params, float(objective(params))))"), GRID),
    Variant("grid search returns the highest value as the best", "grid_search",
            grid(best="max(trials, key=lambda trial: trial[1])"), GRID),
    Variant("grid search lets a nan trial win (min with key=value keeps a nan that comes first)", "grid_search",
            grid(best="min(trials, key=lambda trial: trial[1])"), GRID),
    Variant("grid search with k = 1 takes np.linspace / np.geomspace(low, high, 1), the low end, not the midpoint",
            "grid_search", grid(log_axis="np.geomspace(dim[1], dim[2], k)"), GRID),
    # ---- random search
    Variant("random search samples a log dimension uniformly", "random_search",
            random(log="float(rng.uniform(dim[1], dim[2]))"), RANDOM),
    Variant("random search draws from np.random, not the generator given", "random_search",
            random(log="float(math.exp(np.random.uniform(math.log(dim[1]), math.log(dim[2]))))"), RANDOM),
    Variant("random search never draws the last choice (integers(len - 1))", "random_search",
            random(choice="dim[1][int(rng.integers(len(dim[1]) - 1))] if len(dim[1]) > 1 else dim[1][0]"), RANDOM),
    Variant("random search runs budget - 1 trials", "random_search", random(count="range(1, budget)"), RANDOM),
    Variant("random search returns the last trial as the best", "random_search", random(best="trials[-1]"), RANDOM),
    # ---- successive halving
    Variant("successive halving keeps the worst half", "successive_halving",
            halving(select="sorted(survivors, key=lambda i: scores[i])[-keep:]"), HALVING),
    Variant("successive halving never increases the epochs", "successive_halving", halving(grow="pass"), HALVING),
    Variant("successive halving keeps ceil(n / eta)", "successive_halving",
            halving(keep="max(1, -(-len(survivors) // eta))"), HALVING),
    Variant("successive halving evaluates every configuration in every rung", "successive_halving",
            halving(evaluated="range(len(configs))",
                    select="sorted(survivors, key=lambda i: scores[i])[:keep]"), HALVING),
    Variant("successive halving treats nan as the best (as -inf)", "successive_halving",
            halving(score="-math.inf if math.isnan(value) else value"), HALVING),
    Variant("successive halving sorts the values with nan in them (sorted(key=value) keeps a nan that comes first)",
            "successive_halving", halving(score="value"), HALVING),
    # ---- dropout
    Variant("dropout: no rescaling (the kept entries are not divided by 1 - p)", "dropout",
            dropout(train="keep = self.rng.random(x.shape) >= self.p\n        self.scale = keep.astype(x.dtype)\n"
                          "        return x * self.scale"), DROPOUT),
    Variant("dropout: a scaling in evaluation mode (x * (1 - p)) on top of the inverted training", "dropout",
            dropout(evaluate="return x * (1 - self.p)"), DROPOUT),
    Variant("dropout: the original, not inverted (unscaled in training, x * (1 - p) in evaluation)", "dropout",
            dropout(train="self.scale = (self.rng.random(x.shape) >= self.p).astype(x.dtype)\n        return x * self.scale",
                    evaluate="return x * (1 - self.p)", backward_eval="return dout * (1 - self.p)"), DROPOUT),
    Variant("dropout: one mask for the whole batch (rng.random(x.shape[1:]))", "dropout",
            dropout(train="keep = self.rng.random(x.shape[1:]) >= self.p\n"
                          "        self.scale = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)\n        return x * self.scale"),
            DROPOUT),
    Variant("dropout: p taken as the keep probability (keep where u < p)", "dropout",
            dropout(train="keep = self.rng.random(x.shape) < self.p\n"
                          "        self.scale = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)\n        return x * self.scale"),
            DROPOUT),
    Variant("dropout: backward without the mask", "dropout", dropout(backward_train="return dout"), DROPOUT),
    Variant("dropout: a new mask drawn in backward", "dropout",
            dropout(backward_train="return dout * (self.rng.random(dout.shape) >= self.p) / (1 - self.p)"), DROPOUT),
    Variant("dropout: evaluation mode draws a mask it does not use", "dropout",
            dropout(evaluate="self.rng.random(x.shape)\n            return x"), DROPOUT),
    Variant("dropout: a float64 mask makes a float32 batch float64", "dropout",
            dropout(train="self.scale = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)\n        return x * self.scale"),
            DROPOUT),
    Variant("dropout changes its input in place (x *= mask)", "dropout",
            dropout(train="keep = self.rng.random(x.shape) >= self.p\n"
                          "        self.scale = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)\n"
                          "        x *= self.scale\n        return x"), DROPOUT),
]

ALTERNATIVES = [
    Variant("dropout through np.where, a boolean mask kept for backward, no draw at p = 0, a copy in evaluation",
            "dropout", dropout(
                train="if self.p == 0:\n            self.keep = np.ones(x.shape, dtype=bool)\n            return x.copy()\n"
                      "        self.keep = self.rng.random(x.shape) > self.p\n"
                      "        return np.where(self.keep, x / (1 - self.p), 0).astype(x.dtype)",
                evaluate="return x.copy()",
                backward_train="return np.where(self.keep, dout / (1 - self.p), 0).astype(dout.dtype)"), DROPOUT),
    Variant("MAP lambda as (sigma / tau)^2 / (2 n)", "map_weight_decay",
            map_weight_decay("(sigma / tau) ** 2 / (2 * n)"), MAP),
    Variant("Adam + L2 through a shared helper, moments in nested dicts", "adam_l2_step", nested_adam_helper('_adam_update') + '''

def adam_l2_step(params, grads, state, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    total = {k: g if k.endswith("bias") else g + weight_decay * params[k] for k, g in grads.items()}
    _adam_update(params, total, state, lr, beta1, beta2, eps)
''', ADAM),
    Variant("AdamW with params[k] -= lr * wd * params[k] and a helper of its own", "adamw_step", nested_adam_helper('_adamw_update') + '''

def adamw_step(params, grads, state, lr, weight_decay, beta1=0.9, beta2=0.999, eps=1e-8):
    for k in params:
        if not k.endswith("bias"):
            params[k] -= lr * weight_decay * params[k]
    _adamw_update(params, grads, state, lr, beta1, beta2, eps)
''', ADAMW),
    Variant("early stopping from a history list, max mode by negation", "early_stopping", '''
class EarlyStopping:
    def __init__(self, patience=5, min_delta=0.0, mode="min"):
        if mode not in ("min", "max"):
            raise ValueError(mode)
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best, self.best_epoch = None, None
        self.wait, self.epoch = 0, -1
        self.history = []

    def step(self, value):
        self.epoch += 1
        if np.isnan(value) or np.isinf(value):
            return True
        signed = -value if self.mode == "max" else value
        self.history.append(signed)
        if self.best_epoch is None or signed < (-self.best if self.mode == "max" else self.best) - self.min_delta:
            self.best_epoch, self.best = self.epoch, value
        self.wait = self.epoch - self.best_epoch
        return bool(self.wait >= self.patience)
''', EARLY),
    Variant("augmentation: vectorized crop with fancy indexing, np.flip(axis=3), endpoint=True, masked erase",
            "augmentation", '''
def random_crop(x, pad, rng):
    B, C, H, W = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    offsets = rng.integers(0, 2 * pad, size=(B, 2), endpoint=True)
    rows = offsets[:, 0, None] + np.arange(H)          # (B, H)
    cols = offsets[:, 1, None] + np.arange(W)          # (B, W)
    b = np.arange(B)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    return padded[b, c, rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(x, rng, p=0.5):
    flips = rng.uniform(size=x.shape[0]) < p
    return np.where(flips[:, None, None, None], np.flip(x, axis=3), x)


def random_erase(x, size, rng, p=0.5, value=0.0):
    B, C, H, W = x.shape
    erase = rng.random(B) < p
    tops = rng.integers(0, H - size + 1, size=B)
    lefts = rng.integers(0, W - size + 1, size=B)
    rows = (np.arange(H)[None, :] >= tops[:, None]) & (np.arange(H)[None, :] < tops[:, None] + size)
    cols = (np.arange(W)[None, :] >= lefts[:, None]) & (np.arange(W)[None, :] < lefts[:, None] + size)
    mask = erase[:, None, None] & rows[:, :, None] & cols[:, None, :]
    return np.where(mask[:, None], np.asarray(value, dtype=x.dtype), x)


def augment_batch(x, y, rng, pad=2, erase_size=0):
    x = random_crop(x, pad, rng)
    x = random_flip(x, rng)
    if erase_size:
        x = random_erase(x, erase_size, rng)
    return x, np.array(y, copy=True)
''', AUGMENT),
    Variant("grid search with explicit recursion, 10 ** linspace of the logs", "grid_search", '''
def grid_search(objective, space, budget):
    names = list(space)
    d = sum(space[n][0] != "choice" for n in names)
    c = 1
    for n in names:
        if space[n][0] == "choice":
            c *= len(space[n][1])
    k = 1
    while d and (k + 1) ** d * c <= budget:
        k += 1

    def values(dim):
        kind = dim[0]
        if kind == "choice":
            return list(dim[1])
        if kind == "log":
            lo, hi = math.log10(dim[1]), math.log10(dim[2])
            return [10.0 ** ((lo + hi) / 2)] if k == 1 else [10.0 ** v for v in np.linspace(lo, hi, k)]
        return [(dim[1] + dim[2]) / 2] if k == 1 else list(np.linspace(dim[1], dim[2], k))

    points = [{}]
    for n in names:
        points = [{**p, n: v} for p in points for v in values(space[n])]
    trials = []
    for params in points[:budget]:
        params = {n: float(v) if space[n][0] != "choice" else v for n, v in params.items()}
        trials.append((params, objective(params)))
    best = trials[0]
    for trial in trials[1:]:
        if trial[1] < best[1] or (math.isnan(best[1]) and not math.isnan(trial[1])):
            best = trial
    return trials, best
''', GRID),
    Variant("random search with 10 ** uniform(log10 ...) and rng.choice", "random_search",
            random(log="10.0 ** rng.uniform(np.log10(dim[1]), np.log10(dim[2]))",
                   choice="dim[1][rng.choice(len(dim[1]))]"), RANDOM),
    Variant("successive halving with a stable argsort, nan as inf", "successive_halving", '''
def successive_halving(evaluate, configs, min_epochs=1, eta=2):
    alive = np.arange(len(configs))
    epochs, history = min_epochs, []
    while True:
        values = np.array([evaluate(configs[i], epochs) for i in alive], dtype=float)
        history += [(int(i), epochs, float(v)) for i, v in zip(alive, values)]
        order = np.argsort(np.nan_to_num(values, nan=np.inf), kind="stable")
        alive = np.sort(alive[order[:max(1, len(alive) // eta)]])
        if len(alive) == 1:
            return int(alive[0]), history
        epochs = epochs * eta
''', HALVING),
]
