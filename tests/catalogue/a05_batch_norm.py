"""Grading catalogue of 05_batch_norm: realistic bugs and valid alternatives.

Every bug the issue's Grading section lists is here: unbiased variance in the
normalization, evaluation with batch statistics, running statistics not
updated or updated in evaluation, the momentum convention reversed,
dgamma/dbeta summed over the wrong axis, the backward without the terms
through the mean or the variance (the thesis's eq. 1.3.19), eps outside the
square root, layer norm over the batch; BatchNorm2d with the statistics over
the wrong axes or the running variance's factor B/(B - 1) where n = B*H*W
belongs; the thesis's eq. 1.3.19 "corrected" where it should be as printed.
Bugs in one exercise must not cost a later one (``must_pass``): the grader's
BatchNormFunction and thesis_dx stand in for the student's. The valid
alternatives: staged vs compact backward, einsum, float32, the variance as
E[x^2] - E[x]^2, BatchNorm2d through the (B*H*W, C) view.
"""
from . import Variant, tests_of

STAGED = tests_of("batchnorm_backward_staged")
COMPACT = tests_of("batchnorm_backward_compact")
MODULE = tests_of("batchnorm_module")
MODULE_ALL = MODULE + ("batchnorm_module_backward_hidden",)
LAYER = tests_of("layer_norm_module")
AUTOGRAD = tests_of("batchnorm_autograd")
FUNCTION = tests_of("batchnorm_function")
MANUAL = tests_of("batchnorm_manual")
FORMULAS = tests_of("formula_errors")
THESIS = tests_of("thesis_dx")
BN2D = tests_of("batchnorm2d_module")
BN2D_ALL = BN2D + ("batchnorm2d_module_backward_hidden",)


# ------------------------------------------------------------------ templates: the solution, in parts

def staged(r="1.0 / np.sqrt(v + eps)", dc="dx_hat * r + dv * 2.0 * c / B", dx="dc + dmu / B",
           dv="dr * (-0.5) * (v + eps) ** -1.5"):
    return f'''
def batchnorm_backward_staged(dout, x, gamma, eps=1e-5):
    B = x.shape[0]
    mu = x.mean(axis=0)
    c = x - mu
    v = (c ** 2).mean(axis=0)
    r = {r}
    x_hat = c * r
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dr = (dx_hat * c).sum(axis=0)
    dv = {dv}
    dc = {dc}
    dmu = -dc.sum(axis=0)
    dx = {dx}
    return dx, dgamma, dbeta
'''


def compact(var="x.var(axis=0)", dbeta="dout.sum(axis=0)", dgamma="(dout * x_hat).sum(axis=0)",
            dx="(gamma * inv_std / B) * (B * dout - dbeta - x_hat * dgamma)", prelude=""):
    return f'''
def batchnorm_backward_compact(dout, x, gamma, eps=1e-5):
    {prelude}
    B = x.shape[0]
    mean = x.mean(axis=0)
    var = {var}
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dbeta = {dbeta}
    dgamma = {dgamma}
    dx = {dx}
    return dx, dgamma, dbeta
'''


TRAIN_STATS = '''B = x.shape[0]
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * B / (B - 1)'''
BACKWARD = '''x_hat, inv_std = self.x_hat, self.inv_std
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * x_hat).sum(axis=0)
        dx_hat = dout * self.params["gamma"]
        if not self.batch_stats:
            return dx_hat * inv_std
        return inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))'''


def module(train_stats=TRAIN_STATS, eval_stats="self.running_mean, self.running_var",
           inv_std="1.0 / np.sqrt(var + self.eps)", backward=BACKWARD, forward=None):
    forward = forward or f'''if self.training:
            {train_stats}
        else:
            mean, var = {eval_stats}
        self.x = x
        self.inv_std = {inv_std}
        self.x_hat = (x - mean) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"] * self.x_hat + self.params["beta"]'''
    return f'''
class BatchNormModule:
    def __init__(self, num_features, momentum=0.1, eps=1e-5):
        self.params = {{"gamma": np.ones(num_features), "beta": np.zeros(num_features)}}
        self.grads = {{}}
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.momentum, self.eps = momentum, eps
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


def layer_norm(axis="1", param_axis="0", forward=None, backward=None):
    forward = forward or f'''mean, var = x.mean(axis={axis}, keepdims=True), x.var(axis={axis}, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.params["gamma"] * self.x_hat + self.params["beta"]'''
    backward = backward or f'''x_hat = self.x_hat
        self.grads["beta"] = dout.sum(axis={param_axis})
        self.grads["gamma"] = (dout * x_hat).sum(axis={param_axis})
        g = dout * self.params["gamma"]
        return self.inv_std * (g - g.mean(axis={axis}, keepdims=True)
                               - x_hat * (g * x_hat).mean(axis={axis}, keepdims=True))'''
    return f'''
class LayerNormModule:
    def __init__(self, num_features, eps=1e-5):
        self.params = {{"gamma": np.ones(num_features), "beta": np.zeros(num_features)}}
        self.grads = {{}}
        self.eps = eps
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


def torch_module(name, forward):
    return f'''
class {name}(torch.nn.Module):
    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = torch.nn.Parameter(torch.ones(num_features))
        self.beta = torch.nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        {forward}
'''


AUTOGRAD_FORWARD = '''mean = x.mean(dim=0)
        var = {var}
        return self.gamma * (x - mean) / torch.sqrt(var + self.eps) + self.beta'''

FUNCTION_FORWARD = '''mean = x.mean(dim=0)
        var = x.var(dim=0, correction=0)
        inv_std = torch.rsqrt(var + eps)
        x_hat = (x - mean) * inv_std
        ctx.save_for_backward(x_hat, gamma, inv_std)
        return gamma * x_hat + beta'''
FUNCTION_BACKWARD = '''x_hat, gamma, inv_std = ctx.saved_tensors
        dgamma = (dout * x_hat).sum(dim=0)
        dbeta = dout.sum(dim=0)
        g = dout * gamma
        dx = {dx}
        return {returned}'''


def function(dx="inv_std * (g - g.mean(dim=0) - x_hat * (g * x_hat).mean(dim=0))",
             returned="dx, dgamma, dbeta, None", forward=FUNCTION_FORWARD, backward=None):
    backward = backward or FUNCTION_BACKWARD.format(dx=dx, returned=returned)
    return f'''
class BatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        {forward}

    @staticmethod
    def backward(ctx, dout):
        {backward}
'''


def thesis(sigma="x.std(axis=0)", dx="dout * gamma / (sigma + eps)"):
    return f'''
def thesis_dx(dout, x, gamma, eps=1e-5):
    sigma = {sigma}
    return {dx}
'''


BN2D_TRAIN = '''n = x.size // x.shape[1]
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)'''
BN2D_BACKWARD = '''x_hat, inv_std = self.x_hat, self.inv_std
        self.grads["beta"] = dout.sum(axis=axes)
        self.grads["gamma"] = (dout * x_hat).sum(axis=axes)
        g = dout * self.params["gamma"][:, None, None]
        if not self.batch_stats:
            return g * inv_std
        return inv_std * (g - g.mean(axis=axes, keepdims=True) - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))'''


def bn2d(axes="(0, 2, 3)", train_stats=BN2D_TRAIN, backward=BN2D_BACKWARD, forward=None):
    forward = forward or f'''if self.training:
            {train_stats}
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = (1.0 / np.sqrt(var + self.eps))[:, None, None]
        self.x_hat = (x - mean[:, None, None]) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"][:, None, None] * self.x_hat + self.params["beta"][:, None, None]'''
    return f'''
class BatchNorm2dModule:
    def __init__(self, num_channels, momentum=0.1, eps=1e-5):
        self.params = {{"gamma": np.ones(num_channels), "beta": np.zeros(num_channels)}}
        self.grads = {{}}
        self.running_mean = np.zeros(num_channels)
        self.running_var = np.ones(num_channels)
        self.momentum, self.eps = momentum, eps
        self.training = True

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        axes = {axes}
        {forward}

    def backward(self, dout):
        axes = {axes}
        {backward}
'''


def formulas(body):
    return f'''
def formula_errors(x, gamma, beta, dout, eps=1e-5):
    {body}
'''


FORMULAS_BODY = '''y, dx, dgamma, _ = torch_batchnorm(x, gamma, beta, dout, eps)
    return np.array([{rel}(thesis_dx(dout, x, gamma, eps), {dx}),
                     {rel}(thesis_dgamma(dout, x, gamma, eps), dgamma),
                     {rel}(report_dx(dout, x, gamma, eps), {dx}),
                     {rel}(report_forward(x, gamma, beta, eps), y)])'''


BUGS = [
    # --- the backward functions
    Variant("compact: dgamma, dbeta summed over the features (axis 1), hidden when B == D",
            "batchnorm_backward_compact",
            compact(dbeta="dout.sum(axis=1)", dgamma="(dout * x_hat).sum(axis=1)",
                    dx="gamma * inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))"),
            COMPACT, must_fail=("batchnorm_backward_compact_hidden",)),
    Variant("compact: the thesis's eq. 1.3.19 (no terms through the mean and the variance)",
            "batchnorm_backward_compact", compact(dx="dout * gamma * inv_std"), COMPACT),
    Variant("compact: the term through the mean missing", "batchnorm_backward_compact",
            compact(dx="(gamma * inv_std / B) * (B * dout - x_hat * dgamma)"), COMPACT),
    Variant("compact: the term through the variance missing", "batchnorm_backward_compact",
            compact(dx="(gamma * inv_std / B) * (B * dout - dbeta)"), COMPACT),
    Variant("compact: unbiased variance (B - 1) in the normalization", "batchnorm_backward_compact",
            compact(var="x.var(axis=0, ddof=1)"), COMPACT),
    Variant("compact: eps outside the square root", "batchnorm_backward_compact",
            compact(var="x.var(axis=0)", dx="(gamma / ((np.sqrt(var) + eps) * B)) * (B * dout - dbeta - x_hat * dgamma)")
            .replace("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / (np.sqrt(var) + eps)"), COMPACT),
    Variant("compact: gradient of the summed loss over the batch (dx times B)", "batchnorm_backward_compact",
            compact(dx="(gamma * inv_std) * (B * dout - dbeta - x_hat * dgamma)"), COMPACT),
    Variant("staged: the path from the variance into c forgotten (dc = dx_hat * r)",
            "batchnorm_backward_staged", staged(dc="dx_hat * r"), STAGED),
    Variant("staged: the path through the mean forgotten (dx = dc)", "batchnorm_backward_staged",
            staged(dx="dc"), STAGED),
    Variant("staged: eps outside the square root in the forward node", "batchnorm_backward_staged",
            staged(r="1.0 / (np.sqrt(v) + eps)"), STAGED),
    Variant("staged: local derivative of r with the wrong exponent (-1/2 instead of -3/2)",
            "batchnorm_backward_staged", staged(dv="dr * (-0.5) * (v + eps) ** -0.5"), STAGED),
    Variant("staged: dgamma, dbeta summed over the features", "batchnorm_backward_staged",
            staged().replace("dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=1)")
            .replace("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat).sum(axis=1)"),
            STAGED, must_fail=("batchnorm_backward_staged_hidden",)),

    # --- the module: forward, running statistics, modes
    Variant("module: unbiased variance (B - 1) in the normalization", "batchnorm_module",
            module(train_stats=TRAIN_STATS.replace("x.var(axis=0)", "x.var(axis=0, ddof=1)")
                   .replace("m * var * B / (B - 1)", "m * var")),
            MODULE, must_fail=("batchnorm_module_hidden",)),
    Variant("module: evaluation mode still uses the batch statistics", "batchnorm_module",
            module(eval_stats="x.mean(axis=0), x.var(axis=0)"), MODULE,
            must_fail=("batchnorm_module_hidden",)),
    Variant("module: running statistics never updated", "batchnorm_module",
            module(train_stats="mean, var = x.mean(axis=0), x.var(axis=0)"), MODULE,
            must_fail=("batchnorm_module_hidden",)),
    Variant("module: running statistics updated in evaluation mode too", "batchnorm_module", module(forward='''B = x.shape[0]
        mean, var = x.mean(axis=0), x.var(axis=0)
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * var * B / max(B - 1, 1)
        if not self.training:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"] * self.x_hat + self.params["beta"]'''), MODULE,
            must_fail=("batchnorm_module_hidden",)),
    Variant("module: momentum convention reversed (new batch weighted 1 - momentum)", "batchnorm_module",
            module(train_stats=TRAIN_STATS.replace("(1 - m) * self.running_mean + m * mean",
                                                   "m * self.running_mean + (1 - m) * mean")
                   .replace("(1 - m) * self.running_var + m * var * B / (B - 1)",
                            "m * self.running_var + (1 - m) * var * B / (B - 1)")),
            MODULE, must_fail=("batchnorm_module_hidden",)),
    Variant("module: running variance from the biased batch variance", "batchnorm_module",
            module(train_stats=TRAIN_STATS.replace("m * var * B / (B - 1)", "m * var")), MODULE,
            must_fail=("batchnorm_module_hidden",)),
    Variant("module: eps outside the square root, 1/(sigma + eps)", "batchnorm_module",
            module(inv_std="1.0 / (np.sqrt(var) + self.eps)"), MODULE, must_fail=("batchnorm_module_hidden",)),
    Variant("module: training mode normalizes with the running statistics", "batchnorm_module",
            module(train_stats=TRAIN_STATS + "\n            mean, var = self.running_mean, self.running_var"),
            MODULE, must_fail=("batchnorm_module_hidden",)),
    Variant("module: forward normalizes x in place (x -= mean)", "batchnorm_module", module(forward='''if self.training:
            B = x.shape[0]
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * B / (B - 1)
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        x -= mean
        x *= self.inv_std
        self.x_hat = x
        self.batch_stats = self.training
        return self.params["gamma"] * self.x_hat + self.params["beta"]'''), MODULE,
            must_fail=("batchnorm_module_hidden",)),
    # --- the module: backward
    Variant("module backward: the thesis's eq. 1.3.19 in training mode", "batchnorm_module",
            module(backward=BACKWARD.replace("if not self.batch_stats:", "if True:")), MODULE_ALL,
            must_fail=("batchnorm_module_backward_hidden",)),
    Variant("module backward: training-mode formula after an evaluation-mode forward", "batchnorm_module",
            module(backward=BACKWARD.replace("if not self.batch_stats:", "if False:")), MODULE_ALL,
            must_fail=("batchnorm_module_backward_hidden",)),
    Variant("module backward: grads accumulated over calls", "batchnorm_module",
            module(backward=BACKWARD.replace('self.grads["beta"] = dout.sum(axis=0)',
                                             'self.grads["beta"] = self.grads.get("beta", 0) + dout.sum(axis=0)')
                   .replace('self.grads["gamma"] = (dout * x_hat).sum(axis=0)',
                            'self.grads["gamma"] = self.grads.get("gamma", 0) + (dout * x_hat).sum(axis=0)')),
            MODULE_ALL, must_fail=("batchnorm_module_backward_hidden",)),

    # --- layer norm
    Variant("layer norm normalizing over the batch (axis 0)", "layer_norm_module", layer_norm(axis="0"), LAYER),
    Variant("layer norm: dgamma, dbeta summed over the features", "layer_norm_module",
            layer_norm(param_axis="1"), LAYER),
    Variant("layer norm: backward with gamma factored out as in batch norm", "layer_norm_module",
            layer_norm(backward='''x_hat = self.x_hat
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * x_hat).sum(axis=0)
        return self.params["gamma"] * self.inv_std * (dout - dout.mean(axis=1, keepdims=True)
                                                      - x_hat * (dout * x_hat).mean(axis=1, keepdims=True))'''),
            LAYER),
    Variant("layer norm: backward forgets gamma", "layer_norm_module", layer_norm(backward='''x_hat = self.x_hat
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * x_hat).sum(axis=0)
        g = dout
        return self.inv_std * (g - g.mean(axis=1, keepdims=True) - x_hat * (g * x_hat).mean(axis=1, keepdims=True))'''),
            LAYER, must_fail=("layer_norm_module_hidden",)),

    # --- BatchNorm2d
    Variant("BatchNorm2d: statistics over the batch axis only (one per channel and position)", "batchnorm2d_module",
            bn2d(forward='''if self.training:
            B = x.shape[0]
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean.mean(axis=(1, 2))
            self.running_var = (1 - m) * self.running_var + m * var.mean(axis=(1, 2)) * B / max(B - 1, 1)
        else:
            mean, var = self.running_mean[:, None, None], self.running_var[:, None, None]
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"][:, None, None] * self.x_hat + self.params["beta"][:, None, None]'''),
            BN2D, must_fail=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d: statistics per image and channel (instance norm)", "batchnorm2d_module",
            bn2d(forward='''if self.training:
            n = x.size // x.shape[1]
            mean, var = x.mean(axis=(2, 3), keepdims=True), x.var(axis=(2, 3), keepdims=True)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * x.mean(axis=axes)
            self.running_var = (1 - m) * self.running_var + m * x.var(axis=axes) * n / (n - 1)
        else:
            mean, var = self.running_mean[:, None, None], self.running_var[:, None, None]
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"][:, None, None] * self.x_hat + self.params["beta"][:, None, None]'''),
            BN2D, must_fail=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d: running variance with B/(B - 1) instead of n/(n - 1), n = B*H*W", "batchnorm2d_module",
            bn2d(train_stats=BN2D_TRAIN.replace("m * var * n / (n - 1)", "m * var * x.shape[0] / max(x.shape[0] - 1, 1)")),
            BN2D, must_fail=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d: running variance from the biased variance", "batchnorm2d_module",
            bn2d(train_stats=BN2D_TRAIN.replace("m * var * n / (n - 1)", "m * var")),
            BN2D, must_fail=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d: evaluation mode still uses the batch statistics", "batchnorm2d_module",
            bn2d(forward='''n = x.size // x.shape[1]
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        if self.training:
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        self.inv_std = (1.0 / np.sqrt(var + self.eps))[:, None, None]
        self.x_hat = (x - mean[:, None, None]) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"][:, None, None] * self.x_hat + self.params["beta"][:, None, None]'''),
            BN2D, must_fail=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d backward: the thesis's eq. 1.3.19 in training mode", "batchnorm2d_module",
            bn2d(backward=BN2D_BACKWARD.replace("if not self.batch_stats:", "if True:")), BN2D_ALL,
            must_fail=("batchnorm2d_module_backward_hidden",), must_pass=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d backward: dgamma, dbeta averaged over the positions", "batchnorm2d_module",
            bn2d(backward=BN2D_BACKWARD.replace('dout.sum(axis=axes)', 'dout.sum(axis=0).mean(axis=(1, 2))')
                 .replace('(dout * x_hat).sum(axis=axes)', '(dout * x_hat).sum(axis=0).mean(axis=(1, 2))')), BN2D_ALL,
            must_fail=("batchnorm2d_module_backward_hidden",), must_pass=("batchnorm2d_module_hidden",)),
    Variant("BatchNorm2d backward: means over the batch only in the compact formula", "batchnorm2d_module",
            bn2d(backward=BN2D_BACKWARD.replace("g.mean(axis=axes, keepdims=True)", "g.mean(axis=0, keepdims=True)")
                 .replace("(g * x_hat).mean(axis=axes, keepdims=True)", "(g * x_hat).mean(axis=0, keepdims=True)")),
            BN2D_ALL, must_fail=("batchnorm2d_module_backward_hidden",), must_pass=("batchnorm2d_module_hidden",)),

    # --- PyTorch
    Variant("autograd: torch.var's default (unbiased, B - 1)", "batchnorm_autograd",
            torch_module("BatchNormAutograd", AUTOGRAD_FORWARD.format(var="x.var(dim=0)")), AUTOGRAD),
    Variant("autograd: eps outside the square root", "batchnorm_autograd",
            torch_module("BatchNormAutograd", '''mean = x.mean(dim=0)
        return self.gamma * (x - mean) / (x.std(dim=0, correction=0) + self.eps) + self.beta'''), AUTOGRAD),
    Variant("Function: backward without the terms through the mean and the variance", "batchnorm_function",
            function(dx="g * inv_std"), FUNCTION, must_pass=("batchnorm_manual_hidden",)),
    Variant("Function: dgamma and dbeta returned in the wrong order", "batchnorm_function",
            function(returned="dx, dbeta, dgamma, None"), FUNCTION, must_pass=("batchnorm_manual_hidden",)),
    Variant("Function: forward with torch.var's default (unbiased, B - 1)", "batchnorm_function",
            function(forward=FUNCTION_FORWARD.replace("x.var(dim=0, correction=0)", "x.var(dim=0)")), FUNCTION,
            must_fail=("batchnorm_function_hidden",), must_pass=("batchnorm_manual_hidden",)),
    Variant("manual module that does not use the Function (autograd does the backward)", "batchnorm_manual",
            torch_module("BatchNormManual", AUTOGRAD_FORWARD.format(var="x.var(dim=0, correction=0)")), MANUAL),

    # --- find the error
    Variant("thesis_dx: eps inside the square root (the right frozen gradient, not as printed)", "thesis_dx",
            thesis(dx="dout * gamma / np.sqrt(x.var(axis=0) + eps)"), THESIS, must_pass=("formula_errors_hidden",)),
    Variant("thesis_dx: unbiased standard deviation (ddof=1)", "thesis_dx", thesis(sigma="x.std(axis=0, ddof=1)"),
            THESIS, must_fail=("thesis_dx_hidden",), must_pass=("formula_errors_hidden",)),
    Variant("thesis_dx: divides by the variance", "thesis_dx", thesis(sigma="x.var(axis=0)"), THESIS,
            must_pass=("formula_errors_hidden",)),
    Variant("thesis_dx: the right training-mode gradient instead of the formula as printed", "thesis_dx",
            thesis(dx="batchnorm_backward_compact(dout, x, gamma, eps)[0]"), THESIS, must_pass=("formula_errors_hidden",)),
    Variant("thesis_dx: sigma over the features (axis 1)", "thesis_dx",
            thesis(sigma="x.std(axis=1, keepdims=True)"), THESIS, must_pass=("formula_errors_hidden",)),
    Variant("formula_errors: relative error divided by ||r|| only", "formula_errors",
            formulas(FORMULAS_BODY.format(rel="(lambda a, r: np.linalg.norm(a - r) / np.linalg.norm(r))", dx="dx")),
            FORMULAS, must_fail=("formula_errors_hidden",)),
    Variant("formula_errors: evaluation-mode (frozen) gradient as the reference for dx", "formula_errors",
            formulas(FORMULAS_BODY.format(rel="relative_error", dx="frozen_dx(x, gamma, dout, eps)")), FORMULAS),
]

ALTERNATIVES = [
    Variant("compact with einsum", "batchnorm_backward_compact",
            compact(dbeta="np.einsum('bd->d', dout)", dgamma="np.einsum('bd,bd->d', dout, x_hat)"), COMPACT),
    Variant("compact with the variance as E[x^2] - E[x]^2", "batchnorm_backward_compact",
            compact(var="(x ** 2).mean(axis=0) - mean ** 2"), COMPACT),
    Variant("compact computed in float32", "batchnorm_backward_compact",
            compact(prelude="x, dout, gamma = (np.asarray(a, dtype=np.float32) for a in (x, dout, gamma))"), COMPACT),
    Variant("compact rearranged: means instead of sums", "batchnorm_backward_compact",
            compact(dx="gamma * inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))"), COMPACT),
    Variant("staged with the variance as E[x^2] - E[x]^2 (its own graph)", "batchnorm_backward_staged", '''
def batchnorm_backward_staged(dout, x, gamma, eps=1e-5):
    B = x.shape[0]
    mu = x.mean(axis=0)
    m2 = (x ** 2).mean(axis=0)
    v = m2 - mu ** 2
    r = (v + eps) ** -0.5
    x_hat = (x - mu) * r
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("bd,bd->d", dout, x_hat)
    dx_hat = dout * gamma
    dr = (dx_hat * (x - mu)).sum(axis=0)
    dv = -0.5 * dr * r ** 3
    dm2 = dv
    dmu = -(dx_hat * r).sum(axis=0) - 2 * mu * dv
    return dx_hat * r + 2 * x * dm2 / B + dmu / B, dgamma, dbeta
''', STAGED),
    Variant("module backward by the staged function, forward with E[x^2] - E[x]^2", "batchnorm_module",
            module(train_stats=TRAIN_STATS.replace("x.var(axis=0)", "(x ** 2).mean(axis=0) - x.mean(axis=0) ** 2"),
                   backward='''self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * self.x_hat).sum(axis=0)
        if not self.batch_stats:
            return dout * self.params["gamma"] * self.inv_std
        dx, _, _ = batchnorm_backward_staged(dout, self.x, self.params["gamma"], self.eps)
        return dx'''), MODULE_ALL),
    Variant("module with in-place running updates", "batchnorm_module",
            module(train_stats=TRAIN_STATS.replace("self.running_mean = (1 - m) * self.running_mean + m * mean",
                                                   "self.running_mean *= 1 - m\n            self.running_mean += m * mean")
                   .replace("self.running_var = (1 - m) * self.running_var + m * var * B / (B - 1)",
                            "self.running_var *= 1 - m\n            self.running_var += m * x.var(axis=0, ddof=1)")),
            MODULE_ALL),
    Variant("thesis_dx with the thesis's own variance, E[x^2] - mu^2 (eq. 1.3.17)", "thesis_dx",
            thesis(sigma="np.sqrt((x ** 2).mean(axis=0) - x.mean(axis=0) ** 2)"), THESIS),
    Variant("thesis_dx with sigma from the centred squares, one line", "thesis_dx",
            thesis(sigma="np.sqrt(((x - x.mean(axis=0)) ** 2).mean(axis=0))", dx="gamma * dout / (sigma + eps)"), THESIS),
    Variant("BatchNorm2d through the (B*H*W, C) view and the compact backward", "batchnorm2d_module", bn2d(forward='''C = x.shape[1]
        rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
        if self.training:
            n = rows.shape[0]
            mean, var = rows.mean(axis=0), rows.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        self.rows, self.shape = rows, x.shape
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (rows - mean) * self.inv_std
        self.batch_stats = self.training
        out = self.params["gamma"] * self.x_hat + self.params["beta"]
        B, _, H, W = x.shape
        return out.reshape(B, H, W, C).transpose(0, 3, 1, 2)''', backward='''B, C, H, W = self.shape
        g = dout.transpose(0, 2, 3, 1).reshape(-1, C)
        self.grads["beta"] = g.sum(axis=0)
        self.grads["gamma"] = np.einsum("nc,nc->c", g, self.x_hat)
        if self.batch_stats:
            dx, _, _ = batchnorm_backward_compact(g, self.rows, self.params["gamma"], self.eps)
        else:
            dx = g * self.params["gamma"] * self.inv_std
        return dx.reshape(B, H, W, C).transpose(0, 3, 1, 2)'''), BN2D_ALL),
    Variant("BatchNorm2d with keepdims statistics and the variance as E[x^2] - E[x]^2", "batchnorm2d_module",
            bn2d(forward='''mean = x.mean(axis=axes, keepdims=True)
        if self.training:
            n = x.size // x.shape[1]
            var = (x ** 2).mean(axis=axes, keepdims=True) - mean ** 2
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean.ravel()
            self.running_var = (1 - m) * self.running_var + m * var.ravel() * n / (n - 1)
        else:
            mean, var = (a.reshape(1, -1, 1, 1) for a in (self.running_mean, self.running_var))
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        self.batch_stats = self.training
        return self.params["gamma"].reshape(1, -1, 1, 1) * self.x_hat + self.params["beta"].reshape(1, -1, 1, 1)'''),
            BN2D_ALL),
    Variant("layer norm as batch norm of the transpose (the compact backward reused)", "layer_norm_module",
            layer_norm(forward='''self.x = x
        xt = x.T
        self.inv_std = (1.0 / np.sqrt(xt.var(axis=0) + self.eps))[:, None]
        self.x_hat = ((xt - xt.mean(axis=0)) / np.sqrt(xt.var(axis=0) + self.eps)).T
        return self.params["gamma"] * self.x_hat + self.params["beta"]''',
                       backward='''self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * self.x_hat).sum(axis=0)
        g = dout * self.params["gamma"]
        dx_t, _, _ = batchnorm_backward_compact(g.T, self.x.T, np.ones(self.x.shape[0], dtype=self.x.dtype), self.eps)
        return dx_t.T'''), LAYER),
    Variant("autograd with ((x - mean)**2).mean()", "batchnorm_autograd",
            torch_module("BatchNormAutograd", AUTOGRAD_FORWARD.format(var="((x - mean) ** 2).mean(dim=0)")), AUTOGRAD),
    Variant("autograd with torch.var_mean(unbiased=False)", "batchnorm_autograd",
            torch_module("BatchNormAutograd", '''var, mean = torch.var_mean(x, dim=0, unbiased=False)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.gamma + self.beta'''), AUTOGRAD),
    Variant("Function saving x and recomputing, needs_input_grad respected", "batchnorm_function", function(
        forward='''ctx.eps = eps
        ctx.save_for_backward(x, gamma)
        var, mean = torch.var_mean(x, dim=0, correction=0)
        return gamma * (x - mean) / torch.sqrt(var + eps) + beta''',
        backward='''x, gamma = ctx.saved_tensors
        B = x.shape[0]
        var, mean = torch.var_mean(x, dim=0, correction=0)
        inv_std = 1 / torch.sqrt(var + ctx.eps)
        x_hat = (x - mean) * inv_std
        dbeta = dout.sum(0) if ctx.needs_input_grad[2] else None
        dgamma = torch.einsum("bd,bd->d", dout, x_hat) if ctx.needs_input_grad[1] else None
        dx = None
        if ctx.needs_input_grad[0]:
            dx = gamma * inv_std / B * (B * dout - dout.sum(0) - x_hat * (dout * x_hat).sum(0))
        return dx, dgamma, dbeta, None'''), FUNCTION),
    Variant("formula_errors with the student's own modules as the reference", "formula_errors", formulas('''bn = BatchNormModule(x.shape[1], eps=eps)
    bn.params["gamma"], bn.params["beta"] = gamma, beta
    y = bn.forward(x)
    dx, dgamma, _ = batchnorm_backward_compact(dout, x, gamma, eps)
    candidates = [thesis_dx(dout, x, gamma, eps), thesis_dgamma(dout, x, gamma, eps),
                  report_dx(dout, x, gamma, eps), report_forward(x, gamma, beta, eps)]
    return np.array([relative_error(a, r) for a, r in zip(candidates, [dx, dgamma, dx, y])])'''), FORMULAS),
]
