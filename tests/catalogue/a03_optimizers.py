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
    Variant("momentum as an EMA v = m v + (1 - m) g (the 2018 notes' form)", "momentum", momentum("""
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
    Variant("Adam stores the bias-corrected moments back (the 2018 notes' misplaced correction)", "adam", adam("""
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
    Variant("RMSProp with delta outside the square root (torch / the 2018 notes; the optimization lecture's listing has it inside)", "rmsprop", rmsprop("""
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

# --- find the error: the 2018 notes' EMA (eq. 14) and Adam's second moment (thesis, eq. 1.1.30)
EMA_T = tests_of("ema_seed")
ADAM_SEED_T = tests_of("adam_seed")
MOMENTUM_THEORY_T = tests_of("momentum_theory")


def ema(row2="(beta * fed_back + (1 - beta) * q) / (1 - beta ** k)", row1="s / (1 - beta ** k)",
        plain="beta * s + (1 - beta) * q", first_k="1"):
    return f'''
def ema_trajectories(values, beta):
    out = np.zeros((3, len(values)))
    s = fed_back = 0.0
    for k, q in enumerate(values, start={first_k}):
        s = {plain}
        fed_back = {row2}
        out[:, k - {first_k}] = s, {row1}, fed_back
    return out
'''


def adam_seed(v1="beta2 * m_old + (1 - beta2) * g", correct_v="(1 - beta2 ** t)", row3_root="np.sqrt(v_hat[3] + eps)",
              after=""):
    return f'''
def thesis_adam_steps(grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    T, n = grads.shape
    out = np.zeros((4, T, n))
    m = np.zeros(n)
    v = np.zeros((4, n))
    with np.errstate(invalid="ignore"):
        for i, g in enumerate(grads):
            t = i + 1
            m_old = m
            m = beta1 * m + (1 - beta1) * g
            v = np.array([beta2 * v[0] + (1 - beta2) * g * g, {v1},
                          beta2 * v[2] + (1 - beta2) * g, beta2 * v[3] + (1 - beta2) * g * g])
            m_hat, v_hat = m / (1 - beta1 ** t), v / {correct_v}
            out[0, i] = -lr * m_hat / (np.sqrt(v_hat[0]) + eps)
            out[1, i] = -lr * m_hat / np.sqrt(v_hat[1] + eps)
            out[2, i] = -lr * m_hat / np.sqrt(v_hat[2] + eps)
            out[3, i] = -lr * m_hat / {row3_root}
    {after}return out
'''


def momentum_theory(matrix="[[1.0 - lr * lam, beta], [-lr * lam, beta]]",
                    lr="(2.0 / (np.sqrt(lambda_min) + np.sqrt(lambda_max))) ** 2",
                    root="np.sqrt(lambda_max / lambda_min)", beta="rate ** 2",
                    rate="(root_kappa - 1.0) / (root_kappa + 1.0)"):
    return f'''
def momentum_iteration_matrix(lr, beta, lam):
    return np.array({matrix}, dtype=float)


def momentum_optimal(lambda_min, lambda_max):
    root_kappa = {root}
    kappa = lambda_max / lambda_min
    rate = {rate}
    return float({lr}), float({beta}), float(rate)
'''


BUGS += [
    Variant("ema: row 2 is the corrected average (the correction on a copy, not the 2018 notes' eq. 14)", "ema_seed",
            ema(row2="s / (1 - beta ** k)"), EMA_T),
    Variant("ema: k counted from 2 in the bias correction (off by one)", "ema_seed",
            ema(row1="s / (1 - beta ** (k + 1))", row2="(beta * fed_back + (1 - beta) * q) / (1 - beta ** (k + 1))"),
            EMA_T),
    Variant("ema: beta and 1 - beta swapped", "ema_seed",
            ema(plain="(1 - beta) * s + beta * q", row2="((1 - beta) * fed_back + beta * q) / (1 - beta ** k)"), EMA_T),
    Variant("ema: the fed-back row divides by 1 - beta^k twice", "ema_seed",
            ema(row2="(beta * fed_back + (1 - beta) * q) / (1 - beta ** k) ** 2"), EMA_T,
            must_fail=("ema_seed_hidden",)),
    Variant("thesis Adam: v from the new first moment m_{t+1} instead of m_t", "adam_seed",
            adam_seed(v1="beta2 * m + (1 - beta2) * g"), ADAM_SEED_T),
    Variant("thesis Adam: v not bias-corrected (only m)", "adam_seed", adam_seed(correct_v="1.0"), ADAM_SEED_T),
    Variant("thesis Adam: row 3 with eps outside the root (= Adam)", "adam_seed",
            adam_seed(row3_root="(np.sqrt(v_hat[3]) + eps)"), ADAM_SEED_T, must_fail=("adam_seed_hidden",)),
    Variant("thesis Adam: nan replaced by 0", "adam_seed", adam_seed(after="out = np.nan_to_num(out)\n    "),
            ADAM_SEED_T),
    Variant("thesis Adam: abs() in row 1 to avoid its nan (sqrt(|v| + eps))", "adam_seed",
            adam_seed(v1="np.abs(beta2 * m_old + (1 - beta2) * g)"), ADAM_SEED_T),
    Variant("momentum matrix moves x by the old velocity (x += v before v is updated)", "momentum_theory",
            momentum_theory(matrix="[[1.0, 1.0], [-lr * lam, beta]]"), MOMENTUM_THEORY_T),
    Variant("momentum matrix in distill's form (z, w)", "momentum_theory",
            momentum_theory(matrix="[[beta, lam], [-lr * beta, 1.0 - lr * lam]]"), MOMENTUM_THEORY_T),
    Variant("momentum matrix transposed", "momentum_theory",
            momentum_theory(matrix="[[1.0 - lr * lam, -lr * lam], [beta, beta]]"), MOMENTUM_THEORY_T),
    Variant("momentum_optimal: beta not squared (beta = rate)", "momentum_theory",
            momentum_theory(beta="rate"), MOMENTUM_THEORY_T, must_fail=("momentum_theory_hidden",)),
    Variant("momentum_optimal: gradient descent's lr 2 / (l_min + l_max)", "momentum_theory",
            momentum_theory(lr="2.0 / (lambda_min + lambda_max)"), MOMENTUM_THEORY_T),
    Variant("momentum_optimal: gradient descent's rate (kappa - 1) / (kappa + 1)", "momentum_theory",
            momentum_theory(rate="(kappa - 1.0) / (kappa + 1.0)", beta="((root_kappa - 1.0) / (root_kappa + 1.0)) ** 2"),
            MOMENTUM_THEORY_T),
    Variant("momentum_optimal: kappa inverted (l_min / l_max)", "momentum_theory",
            momentum_theory(root="np.sqrt(lambda_min / lambda_max)"), MOMENTUM_THEORY_T),
]

ALTERNATIVES += [
    Variant("ema vectorized with powers of beta, eq. 14 in a list", "ema_seed", '''
def ema_trajectories(values, beta):
    q = np.asarray(values, dtype=float)
    T = len(q)
    k = np.arange(1, T + 1)
    weights = np.tril(beta ** (k[:, None] - k[None, :]) * (1 - beta))
    s = weights @ q
    fed, e = [], 0.0
    for i in range(T):
        e = (beta * e + (1 - beta) * q[i]) / (1 - beta ** (i + 1))
        fed.append(e)
    return np.vstack([s, s / (1 - beta ** k), np.array(fed)])
''', EMA_T),
    Variant("thesis Adam with one helper per reading and the root of a complex-free np.where", "adam_seed", '''
def thesis_adam_steps(grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    grads = np.asarray(grads, dtype=float)

    def rule(from_m, square, inside):
        m = np.zeros(grads.shape[1]); v = np.zeros_like(m); steps = []
        for t, g in enumerate(grads, start=1):
            source = m if from_m else v
            v = beta2 * source + (1 - beta2) * (g ** 2 if square else g)
            m = beta1 * m + (1 - beta1) * g
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            with np.errstate(invalid="ignore"):
                root = np.sqrt(v_hat + eps) if inside else np.sqrt(v_hat) + eps
            steps.append(-lr * m_hat / root)
        return np.array(steps)

    return np.stack([rule(False, True, False), rule(True, False, True), rule(False, False, True),
                     rule(False, True, True)])
''', ADAM_SEED_T),
    Variant("momentum matrix as a product (x += v after v = beta v - lr lam x); rate as sqrt(beta)",
            "momentum_theory", '''
def momentum_iteration_matrix(lr, beta, lam):
    velocity = np.array([[1.0, 0.0], [-lr * lam, beta]])
    position = np.array([[1.0, 1.0], [0.0, 1.0]])
    return position @ velocity


def momentum_optimal(lambda_min, lambda_max):
    a, b = np.sqrt(lambda_min), np.sqrt(lambda_max)
    lr = 4.0 / (a + b) ** 2
    beta = ((b - a) / (b + a)) ** 2
    return lr, beta, np.sqrt(beta)
''', MOMENTUM_THEORY_T),
]
