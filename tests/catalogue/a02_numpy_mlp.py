"""Grading catalogue of 02_numpy_mlp: realistic bugs and valid alternatives."""
from . import Variant, tests_of

LINEAR = tests_of("linear_module")
RELU = tests_of("relu_module")
SOFTMAX = tests_of("softmax_module")
CE = tests_of("cross_entropy_module")
DROPOUT = tests_of("dropout_module")
MLP_TESTS = tests_of("mlp")
WD = tests_of("weight_decay")
STEP = tests_of("train_step")
# Retrain the notebook's `model` with the variant, then grade it on the test set.
ACCURACY = ("strong_train", "accuracy_visible", "accuracy_hidden")
# A mistake is charged where it is made: the later exercises judge with the grader's parts
# (MLP with its modules, train_step with its MLP, softmax, cross-entropy and sgd_step), and the
# accuracy test does not charge a model trained with parts that already fail on a small network.
ACCURACY_HIDDEN = ("strong_train", "accuracy_hidden")
AFTER_MODULES = ("mlp_hidden", "train_step_hidden", *ACCURACY_HIDDEN)
AFTER_MLP = ("train_step_hidden", *ACCURACY_HIDDEN)


def linear(init="rng.normal(0.0, init_std, size=(out_features, in_features))", bias="np.zeros(out_features)",
           forward="x @ self.params['weight'].T + self.params['bias']",
           dW="self.grads['weight'] = dout.T @ self.x", db="self.grads['bias'] = dout.sum(axis=0)",
           dx="return dout @ self.params['weight']"):
    return f'''
class LinearModule:
    def __init__(self, in_features, out_features, rng, init_std=1e-4):
        self.params = {{"weight": {init}, "bias": {bias}}}
        self.grads = {{}}
        self.x = None

    def forward(self, x):
        self.x = x
        return {forward}

    def backward(self, dout):
        {dW}
        {db}
        {dx}
'''


def relu(forward="self.mask = x > 0\n        return np.where(self.mask, x, 0.0)",
         backward="return np.where(self.mask, dout, 0.0)"):
    return f'''
class ReLUModule:
    def __init__(self):
        self.params, self.grads = {{}}, {{}}

    def forward(self, x):
        self.x = x
        {forward}

    def backward(self, dout):
        {backward}
'''


def softmax(forward="e = np.exp(x - x.max(axis=1, keepdims=True))\n        self.out = e / e.sum(axis=1, keepdims=True)",
            backward="s = self.out\n        return s * (dout - np.sum(dout * s, axis=1, keepdims=True))"):
    return f'''
class SoftMaxModule:
    def __init__(self):
        self.params, self.grads = {{}}, {{}}

    def forward(self, x):
        {forward}
        return self.out

    def backward(self, dout):
        {backward}
'''


def cross_entropy(forward="return float(-np.mean(np.log(probs[rows, targets])))",
                  backward="d = np.zeros_like(probs)\n        d[rows, targets] = -1.0 / (len(targets) * probs[rows, targets])\n        return d"):
    return f'''
class CrossEntropyModule:
    def forward(self, probs, targets):
        rows = np.arange(len(targets))
        {forward}

    def backward(self, probs, targets):
        rows = np.arange(len(targets))
        {backward}
'''


def dropout(forward="if not self.training or self.p == 0:\n            self.scale = None\n            return x\n"
                    "        self.scale = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)\n        return x * self.scale",
            backward="return dout if self.scale is None else dout * self.scale"):
    return f'''
class DropoutModule:
    def __init__(self, p, rng):
        self.p, self.rng = p, rng
        self.params, self.grads = {{}}, {{}}
        self.training = True

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        {forward}

    def backward(self, dout):
        {backward}
'''


MLP_BACKWARD = """        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout"""


def mlp(build, backward=MLP_BACKWARD):
    return f'''
class MLP:
    def __init__(self, n_inputs, n_hidden, n_classes, rng, init_std=1e-4, dropout=0.0):
{build}

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
{backward}

    @property
    def params(self):
        return {{f"{{i}}.{{name}}": p for i, layer in enumerate(self.layers) for name, p in layer.params.items()}}

    @property
    def grads(self):
        return {{f"{{i}}.{{name}}": g for i, layer in enumerate(self.layers) for name, g in layer.grads.items()}}

    def train(self):
        for layer in self.layers:
            if hasattr(layer, "train"):
                layer.train()

    def eval(self):
        for layer in self.layers:
            if hasattr(layer, "eval"):
                layer.eval()
'''


MLP_OK = """        self.layers = []
        sizes = [n_inputs, *n_hidden]
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.layers += [LinearModule(fan_in, fan_out, rng, init_std), ReLUModule()]
            if dropout > 0:
                self.layers.append(DropoutModule(dropout, rng))
        self.layers.append(LinearModule(sizes[-1], n_classes, rng, init_std))"""


def weight_decay(penalty="return 0.5 * weight_decay * float(sum(np.sum(p * p) for n, p in params.items() if n.endswith('weight')))",
                 step="for name, p in params.items():\n        s = grads[name] + weight_decay * p if name.endswith('weight') else grads[name]\n        p -= lr * s"):
    return f'''
def weight_decay_penalty(params, weight_decay):
    {penalty}


def sgd_step(params, grads, lr, weight_decay=0.0):
    {step}
'''


def train_step(body):
    return f'''
def train_step(mlp, x, y, lr, weight_decay=0.0):
    softmax, cross_entropy = SoftMaxModule(), CrossEntropyModule()
{body}
'''


STEP_OK = """    probs = softmax.forward(mlp.forward(x))
    loss = cross_entropy.forward(probs, y)
    mlp.backward(softmax.backward(cross_entropy.backward(probs, y)))
    sgd_step(mlp.params, mlp.grads, lr, weight_decay)
    return loss, probs"""

BUGS = [
    # ---- linear
    Variant("linear: bias gradient summed over the wrong axis", "linear_module",
            linear(db="self.grads['bias'] = dout.sum(axis=1)"), LINEAR, must_fail=("linear_module_hidden",)),
    Variant("linear: dW of the summed loss (times batch size)", "linear_module",
            linear(dW="self.grads['weight'] = len(dout) * dout.T @ self.x"), LINEAR),
    Variant("linear: grads accumulate over backward calls", "linear_module",
            linear(dW="self.grads['weight'] = self.grads.get('weight', 0) + dout.T @ self.x",
                   db="self.grads['bias'] = self.grads.get('bias', 0) + dout.sum(axis=0)"),
            LINEAR, must_fail=("linear_module_hidden",)),
    Variant("linear: backward forgets to return dx", "linear_module", linear(dx="pass"), LINEAR),
    Variant("linear: dx uses the weights' transpose' sum (dout summed)", "linear_module",
            linear(dx="return np.tile(dout.sum(axis=0) @ self.params['weight'], (len(dout), 1))"), LINEAR),
    Variant("linear: init_std used as a variance", "linear_module",
            linear(init="rng.normal(0.0, init_std ** 2, size=(out_features, in_features))"), LINEAR,
            must_fail=("linear_module_hidden",)),
    Variant("linear: random biases", "linear_module",
            linear(bias="rng.normal(0.0, init_std, size=out_features)"), LINEAR, must_fail=("linear_module_hidden",)),
    Variant("linear: forward returns a list", "linear_module",
            linear(forward="(x @ self.params['weight'].T + self.params['bias']).tolist()"), LINEAR,
            must_fail=("linear_module_hidden",)),
    Variant("linear: weights from np.random's global state (the rng given is ignored)", "linear_module",
            linear(init="np.random.normal(0.0, init_std, size=(out_features, in_features))"), LINEAR,
            must_fail=("linear_module_hidden",)),  # new check linear_module_init_from_rng; the old ones passed it
    Variant("linear: a generator of its own with a fixed seed", "linear_module",
            linear(init="np.random.default_rng(0).normal(0.0, init_std, size=(out_features, in_features))"), LINEAR,
            must_fail=("linear_module_hidden",)),  # new check linear_module_init_from_rng
    Variant("linear: draws from a copy of the generator (every layer the same weights)", "linear_module",
            "import copy\n" + linear(init="copy.deepcopy(rng).normal(0.0, init_std, size=(out_features, in_features))"),
            LINEAR, must_fail=("linear_module_hidden",)),  # new check linear_module_init_from_rng
    Variant("linear: backward returns a buffer it keeps and refills", "linear_module", linear(
        dx="if getattr(self, 'buffer', None) is None or self.buffer.shape != (len(dout), self.x.shape[1]):\n"
           "            self.buffer = np.empty((len(dout), self.x.shape[1]), dtype=np.result_type(dout, self.x))\n"
           "        return np.matmul(dout, self.params['weight'], out=self.buffer)"),
            LINEAR, must_fail=("linear_module_hidden",)),  # new: dx changed by the caller, second backward
    # ---- charged once: a mistake in a module costs that module's points only
    Variant("charged once: linear dW of the summed loss, MLP, train_step and accuracy keep their points",
            "linear_module", linear(dW="self.grads['weight'] = len(dout) * dout.T @ self.x"), LINEAR,
            must_fail=("linear_module_hidden",), must_pass=AFTER_MODULES),
    # ---- relu
    Variant("relu: masks by the sign of the output gradient", "relu_module",
            relu(backward="return np.where(dout > 0, dout, 0.0)"), RELU),
    Variant("relu: forward clips the input in place", "relu_module",
            relu(forward="self.mask = x > 0\n        return np.maximum(x, 0, out=x)"), RELU,
            must_fail=("relu_module_hidden",)),
    Variant("relu: backward returns the mask, not the masked gradient", "relu_module",
            relu(backward="return self.mask.astype(dout.dtype)"), RELU),
    Variant("relu: backward multiplies its cached mask in place and returns it", "relu_module",
            relu(forward="self.mask = (x > 0).astype(x.dtype)\n        return x * self.mask",
                 backward="self.mask *= dout\n        return self.mask"),
            RELU, must_fail=("relu_module_hidden",)),  # new: a second backward; the old checks passed it
    Variant("relu: the mask kept in a variable all ReLU modules share", "relu_module",
            relu(forward="global _relu_mask\n        _relu_mask = x > 0\n        return np.where(_relu_mask, x, 0.0)",
                 backward="return np.where(_relu_mask, dout, 0.0)"),
            RELU, must_fail=("relu_module_hidden",)),  # new check relu_module_two_in_turn; the old ones passed it
    # strong_train raises (the two hidden layers' masks differ in shape): the accuracy test does not charge
    # the untrained model, since the parts' network (two hidden layers too) shows the mistake
    Variant("charged once: relu mask shared by all ReLU modules, MLP, train_step and accuracy keep their points",
            "relu_module", relu(forward="global _relu_mask\n        _relu_mask = x > 0\n        return np.where(_relu_mask, x, 0.0)",
                                backward="return np.where(_relu_mask, dout, 0.0)"),
            RELU + ("strong_train",), must_fail=("relu_module_hidden",),
            must_pass=("mlp_hidden", "train_step_hidden", "accuracy_hidden")),
    Variant("charged once: relu masks by the sign of dout, MLP, train_step and accuracy keep their points",
            "relu_module", relu(backward="return np.where(dout > 0, dout, 0.0)"), RELU,
            must_fail=("relu_module_hidden",), must_pass=AFTER_MODULES),
    # ---- softmax
    Variant("softmax: no max subtraction", "softmax_module",
            softmax(forward="e = np.exp(x)\n        self.out = e / e.sum(axis=1, keepdims=True)"), SOFTMAX,
            must_fail=("softmax_module_hidden",)),
    Variant("softmax: backward uses only the Jacobian's diagonal", "softmax_module",
            softmax(backward="return self.out * (1 - self.out) * dout"), SOFTMAX),
    Variant("softmax: normalized over the batch axis", "softmax_module",
            softmax(forward="e = np.exp(x - x.max())\n        self.out = e / e.sum(axis=0, keepdims=True)"), SOFTMAX),
    Variant("softmax: subtracts the max from its input in place", "softmax_module",
            softmax(forward="x -= x.max(axis=1, keepdims=True)\n        e = np.exp(x)\n        self.out = e / e.sum(axis=1, keepdims=True)"),
            SOFTMAX, must_fail=("softmax_module_hidden",)),
    Variant("softmax: backward computed in place in the cached output", "softmax_module",
            softmax(backward="s = self.out\n        s *= dout - np.sum(dout * s, axis=1, keepdims=True)\n        return s"),
            SOFTMAX, must_fail=("softmax_module_hidden",)),  # new: a second backward; the old checks passed it
    Variant("charged once: softmax backward with the Jacobian's diagonal only, train_step and accuracy keep "
            "their points", "softmax_module", softmax(backward="return self.out * (1 - self.out) * dout"), SOFTMAX,
            must_fail=("softmax_module_hidden",), must_pass=AFTER_MLP),
    # ---- cross-entropy
    Variant("cross-entropy: summed over the batch (factor B)", "cross_entropy_module",
            cross_entropy(forward="return float(-np.sum(np.log(probs[rows, targets])))",
                          backward="d = np.zeros_like(probs)\n        d[rows, targets] = -1.0 / probs[rows, targets]\n        return d"),
            CE, must_fail=("cross_entropy_module_hidden",)),
    Variant("cross-entropy: gradient of the summed loss only", "cross_entropy_module",
            cross_entropy(backward="d = np.zeros_like(probs)\n        d[rows, targets] = -1.0 / probs[rows, targets]\n        return d"),
            CE, must_fail=("cross_entropy_module_hidden",)),
    Variant("cross-entropy: mean over all B*C entries", "cross_entropy_module",
            cross_entropy(forward="t = np.zeros_like(probs); t[rows, targets] = 1\n        return float(-np.mean(t * np.log(probs)))"),
            CE, must_fail=("cross_entropy_module_hidden",)),
    Variant("charged once: cross-entropy gradient of the summed loss, train_step keeps its points",
            "cross_entropy_module", cross_entropy(
                backward="d = np.zeros_like(probs)\n        d[rows, targets] = -1.0 / probs[rows, targets]\n        return d"),
            CE, must_fail=("cross_entropy_module_hidden",), must_pass=("train_step_hidden",)),
    # ---- dropout
    Variant("dropout: no rescaling (not inverted)", "dropout_module",
            dropout(forward="if not self.training:\n            self.scale = None\n            return x\n"
                            "        self.scale = (self.rng.random(x.shape) >= self.p).astype(x.dtype)\n        return x * self.scale"),
            DROPOUT),
    Variant("dropout: active in eval mode", "dropout_module",
            dropout(forward="self.scale = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)\n        return x * self.scale"),
            DROPOUT),
    Variant("dropout: p used as the keep probability", "dropout_module",
            dropout(forward="if not self.training or self.p == 0:\n            self.scale = None\n            return x\n"
                            "        self.scale = (self.rng.random(x.shape) < self.p) / self.p\n        return x * self.scale"),
            DROPOUT, must_fail=("dropout_module_hidden",)),
    Variant("dropout: backward draws a new mask", "dropout_module",
            dropout(backward="return dout if self.scale is None else dout * (self.rng.random(dout.shape) >= self.p) / (1 - self.p)"),
            DROPOUT),
    Variant("dropout: one mask drawn once and reused on every pass", "dropout_module",
            dropout(forward="if not self.training or self.p == 0:\n            self.scale = None\n            return x\n"
                            "        if getattr(self, 'mask', None) is None or self.mask.shape != x.shape:\n"
                            "            self.mask = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)\n"
                            "        self.scale = self.mask\n        return x * self.scale"),
            DROPOUT, must_fail=("dropout_module_hidden",)),
    Variant("dropout: mask from np.random's global state (self.rng ignored)", "dropout_module",
            dropout(forward="if not self.training or self.p == 0:\n            self.scale = None\n            return x\n"
                            "        self.scale = (np.random.random(x.shape) >= self.p) / (1.0 - self.p)\n        return x * self.scale"),
            DROPOUT, must_fail=("dropout_module_hidden",)),  # new check dropout_module_masks_from_rng
    Variant("dropout: a new unseeded generator for every mask", "dropout_module",
            dropout(forward="if not self.training or self.p == 0:\n            self.scale = None\n            return x\n"
                            "        self.scale = (np.random.default_rng().random(x.shape) >= self.p) / (1.0 - self.p)\n"
                            "        return x * self.scale"),
            DROPOUT, must_fail=("dropout_module_hidden",)),  # new check dropout_module_masks_from_rng
    Variant("dropout: mask kept in a variable all modules share (several dropout layers)", "dropout_module",
            dropout(forward="global _dropout_scale\n        if not self.training or self.p == 0:\n"
                            "            _dropout_scale = None\n            return x\n"
                            "        _dropout_scale = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)\n"
                            "        return x * _dropout_scale",
                    backward="return dout if _dropout_scale is None else dout * _dropout_scale"),
            DROPOUT, must_fail=("dropout_module_hidden",)),  # new check dropout_module_two_in_turn
    Variant("dropout: backward multiplies into the cached mask and returns it", "dropout_module",
            dropout(backward="if self.scale is None:\n            return dout\n"
                             "        np.multiply(dout, self.scale, out=self.scale)\n        return self.scale"),
            DROPOUT, must_fail=("dropout_module_hidden",)),  # new: dx changed by the caller, second backward
    Variant("charged once: dropout active in eval mode, MLP keeps its points", "dropout_module",
            dropout(forward="self.scale = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)\n        return x * self.scale"),
            DROPOUT, must_fail=("dropout_module_hidden",), must_pass=("mlp_hidden",)),
    # ---- MLP
    Variant("mlp: ReLU after the output layer too", "mlp",
            mlp(MLP_OK + "\n        self.layers.append(ReLUModule())"), MLP_TESTS, must_fail=("mlp_hidden",)),
    Variant("mlp: init_std not passed on", "mlp",
            mlp(MLP_OK.replace("rng, init_std)", "rng)")), MLP_TESTS, must_fail=("mlp_hidden",)),
    Variant("mlp: dropout on the input as well", "mlp", mlp("""        self.layers = []
        sizes = [n_inputs, *n_hidden]
        if dropout > 0:
            self.layers.append(DropoutModule(dropout, rng))
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.layers += [LinearModule(fan_in, fan_out, rng, init_std), ReLUModule()]
            if dropout > 0:
                self.layers.append(DropoutModule(dropout, rng))
        self.layers.append(LinearModule(sizes[-1], n_classes, rng, init_std))"""), MLP_TESTS, must_fail=("mlp_hidden",)),
    Variant("mlp: one DropoutModule instance after every ReLU", "mlp", mlp("""        self.layers = []
        sizes = [n_inputs, *n_hidden]
        drop = DropoutModule(dropout, rng) if dropout > 0 else None
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.layers += [LinearModule(fan_in, fan_out, rng, init_std), ReLUModule()]
            if drop is not None:
                self.layers.append(drop)
        self.layers.append(LinearModule(sizes[-1], n_classes, rng, init_std))"""), MLP_TESTS,
            must_fail=("mlp_hidden",)),  # new check mlp_dropout_train_backward_and_eval; the old ones passed it
    Variant("mlp: backward skips the dropout modules", "mlp", mlp(MLP_OK, backward="""        for layer in reversed(self.layers):
            if not isinstance(layer, DropoutModule):
                dout = layer.backward(dout)
        return dout"""), MLP_TESTS, must_fail=("mlp_hidden",)),  # new check mlp_dropout_train_backward_and_eval
    Variant("mlp: a fresh generator with a fixed seed for every linear layer", "mlp",
            mlp(MLP_OK.replace("LinearModule(fan_in, fan_out, rng, init_std)",
                               "LinearModule(fan_in, fan_out, np.random.default_rng(0), init_std)")), MLP_TESTS,
            must_fail=("mlp_hidden",)),  # new check mlp_weights_and_masks_from_rng
    Variant("mlp: dropout modules get a new generator instead of rng", "mlp",
            mlp(MLP_OK.replace("DropoutModule(dropout, rng)", "DropoutModule(dropout, np.random.default_rng())")),
            MLP_TESTS, must_fail=("mlp_hidden",)),  # new check mlp_weights_and_masks_from_rng
    Variant("charged once: ReLU after the output layer, train_step and accuracy keep their points", "mlp",
            mlp(MLP_OK + "\n        self.layers.append(ReLUModule())"), MLP_TESTS, must_fail=("mlp_hidden",),
            must_pass=AFTER_MLP),
    # ---- weight decay and SGD
    Variant("weight decay applied to biases too", "weight_decay",
            weight_decay(step="for name, p in params.items():\n        p -= lr * (grads[name] + weight_decay * p)"), WD),
    Variant("weight decay penalty without the 1/2", "weight_decay",
            weight_decay(penalty="return weight_decay * float(sum(np.sum(p * p) for n, p in params.items() if n.endswith('weight')))"), WD),
    Variant("sgd_step updates a copy", "weight_decay",
            weight_decay(step="for name, p in list(params.items()):\n        s = grads[name] + weight_decay * p if name.endswith('weight') else grads[name]\n        params[name] = p - lr * s"), WD),
    Variant("sgd_step ascends (wrong sign)", "weight_decay",
            weight_decay(step="for name, p in params.items():\n        s = grads[name] + weight_decay * p if name.endswith('weight') else grads[name]\n        p += lr * s"), WD),
    # ---- train step
    Variant("train_step: returns the loss after the update", "train_step", train_step("""    probs = softmax.forward(mlp.forward(x))
    mlp.backward(softmax.backward(cross_entropy.backward(probs, y)))
    sgd_step(mlp.params, mlp.grads, lr, weight_decay)
    probs = softmax.forward(mlp.forward(x))
    return cross_entropy.forward(probs, y), probs"""), STEP, must_fail=("train_step_hidden",)),
    Variant("train_step: forgets the weight decay", "train_step",
            train_step(STEP_OK.replace("lr, weight_decay)", "lr)")), STEP, must_fail=("train_step_hidden",)),
    Variant("train_step: returns the probabilities after the update", "train_step",
            train_step(STEP_OK.replace("return loss, probs", "return loss, softmax.forward(mlp.forward(x))")), STEP,
            must_fail=("train_step_hidden",)),
    # ---- a mistake that breaks training is charged where it is made, not again by the accuracy test
    Variant("charged once: train_step with the gradient of the summed loss (x B), accuracy keeps its points",
            "train_step", train_step(STEP_OK.replace("mlp.backward(softmax", "mlp.backward(len(y) * softmax")),
            STEP, must_fail=("train_step_hidden",), must_pass=ACCURACY_HIDDEN),
    Variant("charged once: sgd_step with the wrong sign, train_step and accuracy keep their points", "weight_decay",
            weight_decay(step="for name, p in params.items():\n        p += lr * grads[name]"), WD,
            must_fail=("weight_decay_hidden",), must_pass=AFTER_MLP),
]

ALTERNATIVES = [
    Variant("linear: einsum", "linear_module", linear(
        forward="np.einsum('bi,oi->bo', x, self.params['weight']) + self.params['bias']",
        dW="self.grads['weight'] = np.einsum('bo,bi->oi', dout, self.x)",
        db="self.grads['bias'] = np.einsum('bo->o', dout)",
        dx="return np.einsum('bo,oi->bi', dout, self.params['weight'])"), LINEAR),
    Variant("linear: loop over the batch for the parameter gradients", "linear_module", linear(
        dW="self.grads['weight'] = sum(np.outer(g, xb) for g, xb in zip(dout, self.x))",
        db="self.grads['bias'] = sum(g for g in dout)"), LINEAR),
    Variant("linear: standard_normal times init_std, np.matmul", "linear_module", linear(
        init="init_std * rng.standard_normal((out_features, in_features))",
        forward="np.matmul(x, self.params['weight'].T) + self.params['bias']"), LINEAR),
    Variant("relu: mask x >= 0", "relu_module", relu(forward="self.mask = x >= 0\n        return np.where(self.mask, x, 0.0)"), RELU),
    Variant("relu: multiply by a boolean mask, keeps float32", "relu_module", relu(
        forward="return x * (x > 0)", backward="return dout * (self.x > 0)"), RELU),
    Variant("softmax: log-sum-exp", "softmax_module", softmax(
        forward="m = x.max(axis=1, keepdims=True)\n        lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))\n        self.out = np.exp(x - lse)"), SOFTMAX),
    Variant("softmax: scipy.special.softmax", "softmax_module", softmax(
        forward="from scipy.special import softmax as _scipy_softmax\n        self.out = _scipy_softmax(x, axis=1)"), SOFTMAX),
    Variant("softmax: explicit Jacobian with einsum", "softmax_module", softmax(
        backward="s = self.out\n        J = np.einsum('bi,ij->bij', s, np.eye(s.shape[1])) - np.einsum('bi,bj->bij', s, s)\n        return np.einsum('bij,bi->bj', J, dout)"), SOFTMAX),
    Variant("cross-entropy: the loss as a NumPy scalar (no float())", "cross_entropy_module", cross_entropy(
        forward="return -np.mean(np.log(probs[rows, targets]))"), CE),
    Variant("cross-entropy: one-hot targets", "cross_entropy_module", cross_entropy(
        forward="t = np.eye(probs.shape[1])[targets]\n        return float(-np.sum(t * np.log(np.clip(probs, 1e-300, None))) / len(targets))",
        backward="t = np.eye(probs.shape[1])[targets]\n        return -t / (len(targets) * np.where(t > 0, probs, 1.0))"), CE),
    Variant("dropout: binomial mask", "dropout_module", dropout(
        forward="if not self.training:\n            self.scale = None\n            return x\n"
                "        self.scale = self.rng.binomial(1, 1 - self.p, size=x.shape) / (1 - self.p)\n        return x * self.scale"), DROPOUT),
    Variant("mlp: layers built with an index loop", "mlp", mlp("""        self.layers = []
        sizes = [n_inputs] + list(n_hidden) + [n_classes]
        for i in range(len(sizes) - 1):
            self.layers.append(LinearModule(sizes[i], sizes[i + 1], rng, init_std=init_std))
            if i < len(sizes) - 2:
                self.layers.append(ReLUModule())
                if dropout:
                    self.layers.append(DropoutModule(dropout, rng))"""), MLP_TESTS),
    Variant("weight decay: multiplicative shrink form", "weight_decay", weight_decay(
        step="for name, p in params.items():\n        if name.endswith('weight'):\n            p *= 1 - lr * weight_decay\n        np.subtract(p, lr * grads[name], out=p)"), WD),
    Variant("train_step: fused softmax-cross-entropy gradient", "train_step", train_step("""    probs = softmax.forward(mlp.forward(x))
    loss = cross_entropy.forward(probs, y)
    dscores = probs.copy()
    dscores[np.arange(len(y)), y] -= 1
    mlp.backward(dscores / len(y))
    sgd_step(mlp.params, mlp.grads, lr, weight_decay)
    return loss, probs"""), STEP + ACCURACY),
]
