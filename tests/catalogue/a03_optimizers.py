from . import Variant, tests_of

SGD_T = tests_of("sgd")
MOM_T = tests_of("momentum")
NES_T = tests_of("nesterov")
ADA_T = tests_of("adagrad")
RMS_T = tests_of("rmsprop")
ADAM_T = tests_of("adam")
SCH_T = tests_of("schedules")
CLIP_T = tests_of("clip_by_norm")


def sgd(body, init="        super().__init__(lr)\n"):
    return "class SGD(Optimizer):\n    def __init__(self, lr):\n" + init + \
        "\n    def step(self, params, grads):\n" + body


def momentum(body):
    return ("class Momentum(Optimizer):\n    def __init__(self, lr, momentum=0.9):\n"
            "        super().__init__(lr)\n        self.momentum = momentum\n        self.velocity = {}\n\n"
            "    def step(self, params, grads):\n" + body)


NESTEROV_INIT = ("class Nesterov(Optimizer):\n    def __init__(self, lr, momentum=0.9):\n"
                 "        super().__init__(lr)\n        self.momentum = momentum\n        self.velocity = {}\n\n")
NESTEROV_STEP = """
    def step(self, params, grads):
        for k in params:
            v = self.velocity.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v -= self.lr * grads[k]
            params[k] += v
"""
NESTEROV_LOOKAHEAD = """
    def lookahead(self, params):
        return {k: params[k] + self.momentum * self.velocity.get(k, 0.0) for k in params}
"""


def adagrad(body, eps="1e-7"):
    return ("class AdaGrad(Optimizer):\n    def __init__(self, lr, eps=%s):\n"
            "        super().__init__(lr)\n        self.eps = eps\n        self.accumulator = {}\n\n"
            "    def step(self, params, grads):\n" % eps) + body


def rmsprop(body):
    return ("class RMSProp(Optimizer):\n    def __init__(self, lr, rho=0.9, eps=1e-6):\n"
            "        super().__init__(lr)\n        self.rho = rho\n        self.eps = eps\n"
            "        self.accumulator = {}\n\n    def step(self, params, grads):\n") + body


def adam(body, t0="0"):
    return ("class Adam(Optimizer):\n    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "        super().__init__(lr)\n        self.beta1, self.beta2, self.eps = beta1, beta2, eps\n"
            f"        self.t = {t0}\n        self.first = {{}}\n        self.second = {{}}\n\n"
            "    def step(self, params, grads):\n") + body


ADAM_MOMENTS = """            s = self.first.setdefault(k, np.zeros_like(params[k]))
            r = self.second.setdefault(k, np.zeros_like(params[k]))
            g = grads[k]
"""

SCHEDULES_OK = {
    "inverse_time_decay": "def inverse_time_decay(lr0, step, decay_rate):\n    return lr0 / (1.0 + decay_rate * step)\n",
    "exponential_decay": "def exponential_decay(lr0, step, base=0.95):\n    return lr0 * base ** step\n",
    "inverse_sqrt_decay": "def inverse_sqrt_decay(lr0, step, d=1.0):\n    return lr0 * d / np.sqrt(step + 1.0)\n",
    "step_decay": "def step_decay(lr0, step, drop=0.5, every=10):\n    return lr0 * drop ** (step // every)\n",
}


def schedules(**replaced):
    return "\n".join(replaced.get(name, src) for name, src in SCHEDULES_OK.items())


def clip(body):
    return "def clip_by_norm(grads, max_norm):\n" + body


BUGS = [
    # --- SGD
    Variant("SGD rebinds params[k] instead of updating in place", "sgd", sgd("""
        for k in params:
            params[k] = params[k] - self.lr * grads[k]
"""), SGD_T),
    Variant("SGD updates a copy of the array", "sgd", sgd("""
        for k in params:
            p = params[k].copy()
            p -= self.lr * grads[k]
"""), SGD_T),
    Variant("SGD climbs the gradient", "sgd", sgd("""
        for k in params:
            params[k] += self.lr * grads[k]
"""), SGD_T),
    Variant("SGD keeps the learning rate of the constructor (schedules ignored)", "sgd", sgd("""
        for k in params:
            params[k] -= self._lr0 * grads[k]
""", init="        super().__init__(lr)\n        self._lr0 = lr\n"), SGD_T, must_fail=("sgd_hidden",)),
    # --- Momentum
    Variant("momentum as v = m v + g; p -= lr v (equal only for a constant lr)", "momentum", momentum("""
        for k in params:
            v = self.velocity.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v += grads[k]
            params[k] -= self.lr * v
"""), MOM_T, must_fail=("momentum_hidden",)),
    Variant("momentum as an EMA v = m v + (1 - m) g (the notes' form)", "momentum", momentum("""
        for k in params:
            v = self.velocity.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v += (1 - self.momentum) * grads[k]
            params[k] -= self.lr * v
"""), MOM_T),
    Variant("momentum velocity not kept between steps", "momentum", momentum("""
        for k in params:
            v = np.zeros_like(params[k])
            v = self.momentum * v - self.lr * grads[k]
            params[k] += v
"""), MOM_T),
    Variant("momentum rebinds params[k]", "momentum", momentum("""
        for k in params:
            v = self.velocity.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v -= self.lr * grads[k]
            params[k] = params[k] + v
"""), MOM_T),
    Variant("momentum: one velocity for all arrays", "momentum", momentum("""
        for k in params:
            self.v = self.momentum * getattr(self, "v", 0.0) - self.lr * grads[k]
            params[k] += self.v
"""), MOM_T),
    # --- Nesterov
    Variant("Nesterov evaluated at the current point (= plain momentum)", "nesterov",
            NESTEROV_INIT + "    def lookahead(self, params):\n        return params\n" + NESTEROV_STEP, NES_T),
    Variant("Nesterov lookahead moves params in place", "nesterov", NESTEROV_INIT + """
    def lookahead(self, params):
        for k in params:
            params[k] += self.momentum * self.velocity.get(k, 0.0)
        return params
""" + NESTEROV_STEP, NES_T),
    Variant("Nesterov interim point theta - momentum v", "nesterov", NESTEROV_INIT + """
    def lookahead(self, params):
        return {k: params[k] - self.momentum * self.velocity.get(k, 0.0) for k in params}
""" + NESTEROV_STEP, NES_T),
    Variant("Nesterov in torch's form with the gradient at the current point", "nesterov", NESTEROV_INIT + """
    def lookahead(self, params):
        return params

    def step(self, params, grads):
        for k in params:
            u = self.velocity.setdefault(k, np.zeros_like(params[k]))
            u *= self.momentum
            u += grads[k]
            params[k] -= self.lr * (grads[k] + self.momentum * u)
""", NES_T),
    Variant("Nesterov interim point uses the velocity of two steps ago", "nesterov", NESTEROV_INIT + """
    def lookahead(self, params):
        return {k: params[k] + self.momentum * getattr(self, "old", {}).get(k, 0.0) for k in params}

    def step(self, params, grads):
        self.old = {k: v.copy() for k, v in self.velocity.items()}
        for k in params:
            v = self.velocity.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v -= self.lr * grads[k]
            params[k] += v
""", NES_T),
    # --- AdaGrad
    Variant("AdaGrad accumulates g instead of g^2", "adagrad", adagrad("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r += np.abs(grads[k])
            params[k] -= self.lr * grads[k] / (self.eps + np.sqrt(r))
"""), ADA_T),
    Variant("AdaGrad without the accumulator (r = g^2 each step)", "adagrad", adagrad("""
        for k in params:
            r = grads[k] ** 2
            params[k] -= self.lr * grads[k] / (self.eps + np.sqrt(r))
"""), ADA_T),
    Variant("AdaGrad divides by r instead of sqrt(r)", "adagrad", adagrad("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r += grads[k] ** 2
            params[k] -= self.lr * grads[k] / (self.eps + r)
"""), ADA_T),
    Variant("AdaGrad without eps: 0/0 on sparse gradients", "adagrad", adagrad("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r += grads[k] ** 2
            with np.errstate(all="ignore"):
                params[k] -= self.lr * grads[k] / np.sqrt(r)
"""), ADA_T),
    # --- RMSProp
    Variant("RMSProp without (1 - rho)", "rmsprop", rmsprop("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r *= self.rho
            r += grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(self.eps + r)
"""), RMS_T),
    Variant("RMSProp with rho and 1 - rho swapped", "rmsprop", rmsprop("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r *= 1 - self.rho
            r += self.rho * grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(self.eps + r)
"""), RMS_T),
    Variant("RMSProp averages |g| instead of g^2", "rmsprop", rmsprop("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r *= self.rho
            r += (1 - self.rho) * np.abs(grads[k])
            params[k] -= self.lr * grads[k] / np.sqrt(self.eps + r)
"""), RMS_T),
    Variant("RMSProp accumulator reset every step", "rmsprop", rmsprop("""
        for k in params:
            r = (1 - self.rho) * grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(self.eps + r)
"""), RMS_T),
    # --- Adam
    Variant("Adam without bias correction", "adam", adam("""
        self.t += 1
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * g * g
            params[k] -= self.lr * s / (np.sqrt(r) + self.eps)
"""), ADAM_T),
    Variant("Adam second moment without the square (thesis eq. 1.1.30)", "adam", adam("""
        self.t += 1
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * np.abs(g)
            params[k] -= self.lr * (s / (1 - self.beta1 ** self.t)) / (np.sqrt(r / (1 - self.beta2 ** self.t)) + self.eps)
"""), ADAM_T),
    Variant("Adam bias correction with t before the increment (t = 0 first)", "adam", adam("""
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * g * g
            with np.errstate(all="ignore"):
                params[k] -= self.lr * (s / (1 - self.beta1 ** self.t)) / (np.sqrt(r / (1 - self.beta2 ** self.t)) + self.eps)
        self.t += 1
"""), ADAM_T),
    Variant("Adam with t never incremented (starts at 1)", "adam", adam("""
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * g * g
            params[k] -= self.lr * (s / (1 - self.beta1 ** self.t)) / (np.sqrt(r / (1 - self.beta2 ** self.t)) + self.eps)
""", t0="1"), ADAM_T),
    Variant("Adam increments t once per array instead of once per step", "adam", adam("""
        for k in params:
            self.t += 1
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * g * g
            params[k] -= self.lr * (s / (1 - self.beta1 ** self.t)) / (np.sqrt(r / (1 - self.beta2 ** self.t)) + self.eps)
"""), ADAM_T),
    Variant("Adam stores the bias-corrected moments back (the notes' misplaced correction)", "adam", adam("""
        self.t += 1
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g; s /= 1 - self.beta1 ** self.t
            r *= self.beta2; r += (1 - self.beta2) * g * g; r /= 1 - self.beta2 ** self.t
            params[k] -= self.lr * s / (np.sqrt(r) + self.eps)
"""), ADAM_T),
    Variant("Adam uses beta1 for the second moment", "adam", adam("""
        self.t += 1
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta1; r += (1 - self.beta1) * g * g
            params[k] -= self.lr * (s / (1 - self.beta1 ** self.t)) / (np.sqrt(r / (1 - self.beta1 ** self.t)) + self.eps)
"""), ADAM_T),
    Variant("Adam updates a copy of the parameters", "adam", adam("""
        self.t += 1
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * g * g
            p = params[k].copy()
            p -= self.lr * (s / (1 - self.beta1 ** self.t)) / (np.sqrt(r / (1 - self.beta2 ** self.t)) + self.eps)
"""), ADAM_T),
    # --- schedules
    Variant("inverse_sqrt_decay with sqrt(step): undefined at step 0", "schedules", schedules(
        inverse_sqrt_decay="def inverse_sqrt_decay(lr0, step, d=1.0):\n    return lr0 * d / step ** 0.5\n"), SCH_T),
    Variant("step_decay drops one step early", "schedules", schedules(
        step_decay="def step_decay(lr0, step, drop=0.5, every=10):\n    return lr0 * drop ** ((step + 1) // every)\n"), SCH_T),
    Variant("step_decay rounds instead of flooring", "schedules", schedules(
        step_decay="def step_decay(lr0, step, drop=0.5, every=10):\n    return lr0 * drop ** round(step / every)\n"), SCH_T),
    Variant("exponential_decay ignores base", "schedules", schedules(
        exponential_decay="def exponential_decay(lr0, step, base=0.95):\n    return lr0 * 0.95 ** step\n"),
        SCH_T, must_fail=("schedules_hidden",)),
    Variant("inverse_time_decay without parentheses", "schedules", schedules(
        inverse_time_decay="def inverse_time_decay(lr0, step, decay_rate):\n    return lr0 / 1 + decay_rate * step\n"), SCH_T),
    # --- clipping
    Variant("clip_by_norm clips each array by its own norm", "clip_by_norm", clip("""
    out = {}
    for k, g in grads.items():
        norm = np.linalg.norm(g)
        out[k] = g * (max_norm / norm) if norm > max_norm else g
    return out
"""), CLIP_T),
    Variant("clip_by_norm clips every entry (np.clip)", "clip_by_norm", clip("""
    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}
"""), CLIP_T),
    Variant("clip_by_norm always rescales to max_norm", "clip_by_norm", clip("""
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    with np.errstate(all="ignore"):
        return {k: g * max_norm / norm for k, g in grads.items()}
"""), CLIP_T),
    Variant("clip_by_norm with the sum of the arrays' norms", "clip_by_norm", clip("""
    norm = sum(np.linalg.norm(g) for g in grads.values())
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}
"""), CLIP_T),
    Variant("clip_by_norm scales in place but returns nothing", "clip_by_norm", clip("""
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
"""), CLIP_T),
    Variant("AdaGrad with delta inside the square root (the listing has it outside)", "adagrad", adagrad("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r += grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(self.eps + r)
"""), ADA_T),
    Variant("RMSProp with delta outside the square root (torch / the notes; the listing has it inside)", "rmsprop", rmsprop("""
        for k in params:
            r = self.accumulator.setdefault(k, np.zeros_like(params[k]))
            r *= self.rho
            r += (1 - self.rho) * grads[k] ** 2
            params[k] -= self.lr * grads[k] / (np.sqrt(r) + self.eps)
"""), RMS_T),
]

ALTERNATIVES = [
    Variant("SGD with np.subtract(..., out=)", "sgd", sgd("""
        for k, g in grads.items():
            np.subtract(params[k], np.multiply(self.lr, g), out=params[k])
"""), SGD_T),
    Variant("SGD with slice assignment params[k][...] =", "sgd", sgd("""
        for k in list(params):
            params[k][...] = params[k] - self.lr * grads[k]
"""), SGD_T),
    Variant("SGD without subclassing, float32 arithmetic", "sgd", """
class SGD:
    def __init__(self, lr):
        self.lr = lr

    def lookahead(self, params):
        return params

    def step(self, params, grads):
        for name, p in params.items():
            p -= np.asarray(self.lr, dtype=p.dtype) * grads[name].astype(p.dtype)
""", SGD_T),
    Variant("momentum with np.multiply(out=) and comprehension-created state", "momentum", momentum("""
        if not self.velocity:
            self.velocity = {k: np.zeros_like(p) for k, p in params.items()}
        for k in params:
            np.multiply(self.velocity[k], self.momentum, out=self.velocity[k])
            np.subtract(self.velocity[k], self.lr * grads[k], out=self.velocity[k])
            np.add(params[k], self.velocity[k], out=params[k])
"""), MOM_T),
    Variant("momentum state in float64 for float32 parameters", "momentum", momentum("""
        for k in params:
            v = self.momentum * self.velocity.get(k, 0.0) - self.lr * np.asarray(grads[k], dtype=np.float64)
            self.velocity[k] = v
            params[k] += v.astype(params[k].dtype)
"""), MOM_T),
    Variant("Nesterov creating the velocity in lookahead", "nesterov", NESTEROV_INIT + """
    def lookahead(self, params):
        for k in params:
            if k not in self.velocity:
                self.velocity[k] = np.zeros_like(params[k])
        return {k: params[k] + self.momentum * self.velocity[k] for k in params}
""" + NESTEROV_STEP, NES_T),
    Variant("AdaGrad in a dict comprehension style with float64 state", "adagrad", adagrad("""
        self.accumulator = {k: self.accumulator.get(k, 0.0) + np.asarray(g, dtype=np.float64) ** 2
                            for k, g in grads.items()}
        for k in params:
            params[k] -= (self.lr * grads[k] / (self.eps + np.sqrt(self.accumulator[k]))).astype(params[k].dtype)
"""), ADA_T),
    Variant("RMSProp with np.multiply(out=)", "rmsprop", rmsprop("""
        for k, g in grads.items():
            if k not in self.accumulator:
                self.accumulator[k] = np.zeros_like(params[k])
            r = self.accumulator[k]
            np.multiply(r, self.rho, out=r)
            r += (1 - self.rho) * np.square(g)
            np.subtract(params[k], self.lr * g / np.sqrt(r + self.eps), out=params[k])
"""), RMS_T),
    Variant("Adam with eps inside the square root (the listing)", "adam", adam("""
        self.t += 1
        for k in params:
""" + ADAM_MOMENTS + """            s *= self.beta1; s += (1 - self.beta1) * g
            r *= self.beta2; r += (1 - self.beta2) * g * g
            params[k] -= self.lr * (s / (1 - self.beta1 ** self.t)) / np.sqrt(r / (1 - self.beta2 ** self.t) + self.eps)
"""), ADAM_T),
    Variant("Adam in Kingma & Ba's efficient form (step size folded)", "adam", adam("""
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for k in params:
""" + ADAM_MOMENTS + """            s[...] = self.beta1 * s + (1 - self.beta1) * g
            r[...] = self.beta2 * r + (1 - self.beta2) * g ** 2
            params[k] -= lr_t * s / (np.sqrt(r) + self.eps)
"""), ADAM_T),
    Variant("schedules with math and numpy floor", "schedules", """
import math
def inverse_time_decay(lr0, step, decay_rate):
    return lr0 * (1.0 + decay_rate * step) ** -1

def exponential_decay(lr0, step, base=0.95):
    return lr0 * math.pow(base, step)

def inverse_sqrt_decay(lr0, step, d=1.0):
    return lr0 * d / math.sqrt(step + 1)

def step_decay(lr0, step, drop=0.5, every=10):
    return float(lr0 * np.power(drop, np.floor(step / every)))
""", SCH_T),
    Variant("clip_by_norm in place, returning the same dict", "clip_by_norm", clip("""
    norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values()))
    if norm > max_norm:
        for k in grads:
            grads[k] *= max_norm / norm
    return grads
"""), CLIP_T),
    Variant("clip_by_norm torch-style with + 1e-6 and a concatenated norm", "clip_by_norm", clip("""
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    coef = min(1.0, max_norm / (norm + 1e-6))
    return {k: g * coef for k, g in grads.items()}
"""), CLIP_T),
]
