"""Grading catalogue of 06_cnn: realistic bugs and valid alternatives.

Bugs from the issue's Grading section: the output size without the floor,
padding on one side only, the stride in the output size but not in the loops
(and the reverse), the kernel flipped (a true convolution), channel axes
swapped in dw, db averaged instead of summed, dw not summed over the batch,
the stride ignored in the backward, max-pool backward to every position of
the window or to the last maximum of a tie, gradients assigned instead of
added where windows overlap, BN after ReLU, a missing pooling, `.cuda()` hard-coded,
the model left in evaluation mode, the loss averaged over batches instead of
samples, evaluate in training mode. Valid alternatives: stride tricks
(sliding_window_view), einsum, loops in another order, float32, the
backward's dx as a full convolution with flipped kernels, a module class with
F.relu / F.max_pool2d instead of nn.Sequential (run through the locked cells
that use the trained model: the main run, the sanity checks, the bias and
shift experiments, the accuracy test).

Issue 21 adds: a `.cuda()` taken whenever CUDA is available instead of the
given device (the hidden test tells the code that CUDA is available); a
mistake in conv_output_size that must not cost layer_table as well; the
find-the-error exercises (the lecture notes' 2-D formula as printed, the
thesis's convolution gradients) with their bugs and alternatives.
"""
from . import Variant, tests_of

SIZE = tests_of("conv_output_size")
TABLE = tests_of("layer_table")
NAIVE = tests_of("conv2d_naive")
IM2COL = tests_of("conv2d_im2col")
BACKWARD = tests_of("conv2d_backward")
POOL = tests_of("max_pool2d")
VGG = tests_of("make_vgg")
TRAIN = tests_of("train_epoch")
NOTES = tests_of("notes_conv2d")
THESIS = tests_of("thesis_conv_gradients")
# Locked cells that use what make_vgg returns: every network the text allows must run through them.
MODEL_CELLS = ("sanity_check", "main_run", "accuracy_visible", "accuracy_hidden", "bn_bias_check", "cnn_vs_mlp",
               "shift_check")


def output_size(body):
    return f'''
def conv_output_size(size, kernel, stride, padding, dilation=1):
    return {body}
'''


def naive(pad="((0, 0), (0, 0), (padding, padding), (padding, padding))", oh="(H + 2 * padding - KH) // stride + 1",
          ow="(W + 2 * padding - KW) // stride + 1", window="xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]",
          kernel="w[f]"):
    return f'''
def conv2d_naive(x, w, b, stride, padding):
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    OH = {oh}
    OW = {ow}
    xp = np.pad(x, {pad})
    out = np.empty((B, n_filters, OH, OW), dtype=np.result_type(x, w, b))
    for n in range(B):
        for f in range(n_filters):
            for i in range(OH):
                for j in range(OW):
                    window = {window}
                    out[n, f, i, j] = np.sum(window * {kernel}) + b[f]
    return out
'''


def im2col(slice_="xp[:, :, k:k + stride * OH:stride, l:l + stride * OW:stride]", weights="w.reshape(n_filters, -1)",
           prelude=""):
    return f'''
def conv2d_im2col(x, w, b, stride, padding):
    {prelude}
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((B, C, KH, KW, OH, OW), dtype=xp.dtype)
    for k in range(KH):
        for l in range(KW):
            cols[:, :, k, l] = {slice_}
    out = {weights} @ cols.reshape(B, C * KH * KW, OH * OW)
    return out.reshape(B, n_filters, OH, OW) + b[None, :, None, None]
'''


def backward(db="dout.sum(axis=(0, 2, 3))", dw="np.tensordot(dout, cols, axes=([0, 2, 3], [0, 4, 5]))",
             scatter="dxp[:, :, k:k + stride * OH:stride, l:l + stride * OW:stride] += dcols[:, k, l].transpose(1, 0, 2, 3)",
             weights="w"):
    return f'''
def conv2d_backward(dout, x, w, b, stride, padding):
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((B, C, KH, KW, OH, OW), dtype=xp.dtype)
    for k in range(KH):
        for l in range(KW):
            cols[:, :, k, l] = xp[:, :, k:k + stride * OH:stride, l:l + stride * OW:stride]
    db = {db}
    dw = {dw}
    dcols = np.tensordot({weights}, dout, axes=([0], [1]))
    dxp = np.zeros_like(xp, dtype=np.result_type(dout, w))
    for k in range(KH):
        for l in range(KW):
            {scatter}
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    return dx, dw, db
'''


def layer_table(conv_params="out * (channels * kernel * kernel + 1)", pool_padding="0"):
    return f'''
def layer_table(input_shape, layers):
    channels, height, width = input_shape
    rows = []
    for layer in layers:
        if layer[0] == "conv":
            _, out, kernel, stride, padding = layer
            params = {conv_params}
            channels, height, width = out, conv_output_size(height, kernel, stride, padding), conv_output_size(width, kernel, stride, padding)
        elif layer[0] == "pool":
            params = 0
            height, width = conv_output_size(height, layer[1], layer[2], {pool_padding}), conv_output_size(width, layer[1], layer[2], {pool_padding})
        elif layer[0] == "flatten":
            params, channels, height, width = 0, channels * height * width, 1, 1
        else:
            params = (channels + 1) * layer[1]
            channels = layer[1]
        rows.append((channels, height, width, params))
    return np.array(rows)
'''


POOL_FORWARD = '''
def max_pool2d_forward(x, kernel, stride):
    B, C, H, W = x.shape
    OH, OW = (H - kernel) // stride + 1, (W - kernel) // stride + 1
    windows = np.empty((B, C, OH, OW, kernel * kernel), dtype=x.dtype)
    for k in range(kernel):
        for l in range(kernel):
            windows[..., k * kernel + l] = x[:, :, k:k + stride * OH:stride, l:l + stride * OW:stride]
    argmax = {argmax}
    out = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return out, (x.shape, argmax, kernel, stride, x)
'''


def pool(argmax="windows.argmax(axis=-1)", add="np.add.at(dx, (n, c, rows, cols), dout)", backward=None):
    backward = backward or f'''
def max_pool2d_backward(dout, cache):
    shape, argmax, kernel, stride, x = cache
    B, C, OH, OW = dout.shape
    k, l = np.divmod(argmax, kernel)
    rows = np.arange(OH)[:, None] * stride + k
    cols = np.arange(OW)[None, :] * stride + l
    n = np.arange(B)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    dx = np.zeros(shape, dtype=dout.dtype)
    {add}
    return dx
'''
    return POOL_FORWARD.format(argmax=argmax) + backward


def vgg(block="[nn.Conv2d(previous, width, 3, padding=1)] + ([nn.BatchNorm2d(width)] if use_batchnorm else []) + [nn.ReLU()]",
        pool_="layers.append(nn.MaxPool2d(2))\n        size //= 2", head="nn.Linear(previous * size * size, num_classes)"):
    return f'''
def make_vgg(channels, use_batchnorm=True, num_classes=10, in_channels=1, image_size=28):
    layers, previous, size = [], in_channels, image_size
    for stage in channels:
        for width in stage:
            layers += {block}
            previous = width
        {pool_}
    layers += [nn.Flatten(), {head}]
    return nn.Sequential(*layers)
'''


def train(to="x, y = x.to(device), y.to(device)", mode="model.train()", total="total_loss += loss.item() * len(y)",
          mean="total_loss / count", eval_mode="model.eval()", eval_total='total_loss += F.cross_entropy(logits, y, reduction="sum").item()',
          eval_mean="total_loss / count", step="optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()"):
    return f'''
def train_epoch(model, batches, optimizer, device):
    {mode}
    total_loss, correct, count, n_batches = 0.0, 0, 0, 0
    for x, y in batches:
        {to}
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        {step}
        {total}
        correct += int((logits.argmax(dim=1) == y).sum())
        count += len(y)
        n_batches += 1
    return {mean}, correct / count


def evaluate(model, batches, device):
    {eval_mode}
    total_loss, correct, count, n_batches = 0.0, 0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            {to}
            logits = model(x)
            {eval_total}
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
            n_batches += 1
    return {eval_mean}, correct / count
'''



def notes_conv(window="image[n:n + H - KW + 1, m:m + W - KH + 1]", weight="kernel[m, n]",
               shape="(H - KW + 1, W - KH + 1)", prelude=""):
    return f'''
def notes_conv2d(image, kernel):
    {prelude}H, W = image.shape
    KH, KW = kernel.shape
    out = np.zeros({shape}, dtype=np.result_type(image, kernel))
    for m in range(KH):
        for n in range(KW):
            out += {weight} * {window}
    return out
'''


def thesis(dx_kernel="h[:, :, k1, k2]", dx_sum=None, dh_target="dh[:, :, k1, k2]",
           dh_value='np.einsum("fab,cab->fc", window, X)'):
    dx_sum = dx_sum or f'np.einsum("fab,fc->cab", window, {dx_kernel})'
    return f'''
def thesis_conv_gradients(dY, X, h):
    n_filters, C, KH, KW = h.shape
    _, H, W = X.shape
    dX = np.zeros(X.shape, dtype=np.result_type(dY, h))
    dh = np.zeros(h.shape, dtype=np.result_type(dY, X))
    for k1 in range(KH):
        for k2 in range(KW):
            window = dY[:, k1:k1 + H, k2:k2 + W]
            dX += {dx_sum}
            {dh_target} = {dh_value}
    return dX, dh
'''


BUGS = [
    # --- sizes
    Variant("output size without the floor (the notes' formula)", "conv_output_size",
            output_size("(size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1"), SIZE,
            must_pass=("layer_table_hidden",)),
    Variant("output size rounded to the nearest integer", "conv_output_size",
            output_size("round((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1"), SIZE,
            must_pass=("layer_table_hidden",)),
    Variant("output size ignores the dilation", "conv_output_size",
            output_size("(size + 2 * padding - kernel) // stride + 1"), SIZE,
            must_pass=("layer_table_hidden",)),
    Variant("output size with the padding counted once", "conv_output_size",
            output_size("(size + padding - dilation * (kernel - 1) - 1) // stride + 1"), SIZE,
            must_pass=("layer_table_hidden",)),
    Variant("layer table: conv parameters without the biases", "layer_table",
            layer_table(conv_params="out * channels * kernel * kernel"), TABLE),
    Variant("layer table: pooling with padding 1 like the convolutions", "layer_table",
            layer_table(pool_padding="1"), TABLE),

    # --- forward
    Variant("naive: padding applied to one side only", "conv2d_naive",
            naive(pad="((0, 0), (0, 0), (padding, 0), (padding, 0))", oh="(H + padding - KH) // stride + 1",
                  ow="(W + padding - KW) // stride + 1"), NAIVE),
    Variant("naive: stride in the output size but not in the loops", "conv2d_naive",
            naive(window="xp[n, :, i:i + KH, j:j + KW]"), NAIVE),
    Variant("naive: stride in the loops but not in the output size (windows off the image)", "conv2d_naive",
            naive(oh="H + 2 * padding - KH + 1", ow="W + 2 * padding - KW + 1"), NAIVE),
    Variant("naive: kernel flipped (a true convolution)", "conv2d_naive", naive(kernel="w[f, :, ::-1, ::-1]"), NAIVE),
    Variant("naive: no floor in the output size (int() of a float works, round() does not)", "conv2d_naive",
            naive(oh="round((H + 2 * padding - KH) / stride) + 1", ow="round((W + 2 * padding - KW) / stride) + 1"), NAIVE),
    Variant("im2col: kernel flipped (a true convolution)", "conv2d_im2col",
            im2col(weights="w[:, :, ::-1, ::-1].reshape(n_filters, -1)"), IM2COL),
    Variant("im2col: columns and filters flattened in different orders (C and KH*KW swapped)", "conv2d_im2col",
            im2col(weights="w.transpose(0, 2, 3, 1).reshape(n_filters, -1)"), IM2COL),
    Variant("im2col: stride ignored in the slices", "conv2d_im2col",
            im2col(slice_="xp[:, :, k:k + OH, l:l + OW]"), IM2COL),

    # --- backward
    Variant("backward: db averaged instead of summed", "conv2d_backward",
            backward(db="dout.mean(axis=(0, 2, 3))"), BACKWARD),
    Variant("backward: db summed over the batch only", "conv2d_backward", backward(db="dout.sum(axis=0)"), BACKWARD),
    Variant("backward: dw with the channel axes swapped (C, F, KH, KW)", "conv2d_backward",
            backward(dw="np.tensordot(cols, dout, axes=([0, 4, 5], [0, 2, 3])).transpose(0, 3, 1, 2)"), BACKWARD),
    Variant("backward: dw of the first sample only (not summed over the batch)", "conv2d_backward",
            backward(dw="np.tensordot(dout[0], cols[0], axes=([1, 2], [3, 4]))"), BACKWARD),
    Variant("backward: dw averaged over the batch", "conv2d_backward",
            backward(dw="np.tensordot(dout, cols, axes=([0, 2, 3], [0, 4, 5])) / B"), BACKWARD),
    Variant("backward: stride ignored when scattering dx", "conv2d_backward",
            backward(scatter="dxp[:, :, k:k + OH, l:l + OW] += dcols[:, k, l].transpose(1, 0, 2, 3)"), BACKWARD),
    Variant("backward: dx from the flipped kernel (convolution where torch correlates)", "conv2d_backward",
            backward(weights="w[:, :, ::-1, ::-1]"), BACKWARD),
    Variant("backward: dx assigned instead of accumulated where windows overlap", "conv2d_backward",
            backward(scatter="dxp[:, :, k:k + stride * OH:stride, l:l + stride * OW:stride] = dcols[:, k, l].transpose(1, 0, 2, 3)"),
            BACKWARD),

    # --- pooling
    Variant("pool backward: gradient to every position of the window", "max_pool2d", pool(backward='''
def max_pool2d_backward(dout, cache):
    shape, argmax, kernel, stride, x = cache
    B, C, OH, OW = dout.shape
    dx = np.zeros(shape, dtype=dout.dtype)
    for i in range(OH):
        for j in range(OW):
            dx[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel] += dout[:, :, i, j][:, :, None, None]
    return dx
'''), POOL),
    Variant("pool backward: gradient to every maximum of a tie (mask x == max)", "max_pool2d", pool(backward='''
def max_pool2d_backward(dout, cache):
    shape, argmax, kernel, stride, x = cache
    B, C, OH, OW = dout.shape
    dx = np.zeros(shape, dtype=dout.dtype)
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
'''), POOL),
    Variant("pool: the last maximum of a tie gets the gradient", "max_pool2d",
            pool(argmax="kernel * kernel - 1 - windows[..., ::-1].argmax(axis=-1)"), POOL),
    Variant("pool backward: assigned instead of added where windows overlap", "max_pool2d",
            pool(add="dx[n, c, rows, cols] = dout"), POOL),

    # --- the network
    Variant("make_vgg: batch norm after the ReLU", "make_vgg",
            vgg(block="[nn.Conv2d(previous, width, 3, padding=1), nn.ReLU()] + ([nn.BatchNorm2d(width)] if use_batchnorm else [])"),
            VGG),
    Variant("make_vgg: one pooling after the last stage only (by the total factor)", "make_vgg", '''
def make_vgg(channels, use_batchnorm=True, num_classes=10, in_channels=1, image_size=28):
    layers, previous = [], in_channels
    for stage in channels:
        for width in stage:
            layers += [nn.Conv2d(previous, width, 3, padding=1)] + ([nn.BatchNorm2d(width)] if use_batchnorm else []) + [nn.ReLU()]
            previous = width
    factor = 2 ** len(channels)
    size = image_size // factor
    layers += [nn.MaxPool2d(factor), nn.Flatten(), nn.Linear(previous * size * size, num_classes)]
    return nn.Sequential(*layers)
''', VGG),
    Variant("make_vgg: no pooling at all", "make_vgg", vgg(pool_="pass", head="nn.Linear(previous * image_size * image_size, num_classes)"),
            VGG),
    Variant("make_vgg: padding 0 (the feature maps shrink)", "make_vgg",
            vgg(block="[nn.Conv2d(previous, width, 3, padding=0)] + ([nn.BatchNorm2d(width)] if use_batchnorm else []) + [nn.ReLU()]"),
            VGG),
    Variant("make_vgg: batch norm always, use_batchnorm ignored", "make_vgg",
            vgg(block="[nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]"), VGG),

    # --- training
    Variant("train_epoch: .cuda() hard-coded", "train_epoch", train(to="x, y = x.cuda(), y.cuda()"), TRAIN),
    Variant("train_epoch: model left in evaluation mode", "train_epoch", train(mode="pass"), TRAIN),
    Variant("train_epoch / evaluate: the mean of the batch means (unequal batches)", "train_epoch",
            train(total="total_loss += loss.item()", mean="total_loss / n_batches",
                  eval_total="total_loss += F.cross_entropy(logits, y).item()", eval_mean="total_loss / n_batches"), TRAIN),
    Variant("evaluate in training mode (batch statistics, running statistics updated)", "train_epoch",
            train(eval_mode="model.train()"), TRAIN),
    Variant("train_epoch: gradients never zeroed (accumulated over the batches)", "train_epoch",
            train(step="loss.backward()\n        optimizer.step()"), TRAIN),
    # --- issue 21: a GPU the code must not reach for; the find-the-error exercises
    Variant("train_epoch: .cuda() whenever CUDA is available, device ignored", "train_epoch",
            train(to="x, y = (x.cuda(), y.cuda()) if torch.cuda.is_available() else (x.to(device), y.to(device))"),
            TRAIN, must_pass=("accuracy_hidden",)),
    Variant("train_epoch: device replaced by 'cuda' when a GPU exists", "train_epoch",
            train(to='x, y = x.to("cuda" if torch.cuda.is_available() else device), y.to("cuda" if torch.cuda.is_available() else device)'),
            TRAIN),
    Variant("notes_conv2d: the formula corrected to torch's cross-correlation (K[m, n] I[i + m, j + n])", "notes_conv2d",
            notes_conv(window="image[m:m + H - KH + 1, n:n + W - KW + 1]", shape="(H - KH + 1, W - KW + 1)"), NOTES),
    Variant("notes_conv2d: a true convolution (kernel flipped) of the printed indices", "notes_conv2d",
            notes_conv(weight="kernel[KH - 1 - m, KW - 1 - n]"), NOTES),
    Variant("notes_conv2d: the image normalized in place", "notes_conv2d",
            notes_conv(prelude="image -= image.mean()\n    "), NOTES),
    Variant("thesis gradients: torch's cross-correlation convention (no flip in dh)", "thesis_conv_gradients",
            thesis(dh_target="dh[:, :, KH - 1 - k1, KW - 1 - k2]"), THESIS),
    Variant("thesis gradients: dX through the flipped kernel", "thesis_conv_gradients",
            thesis(dx_kernel="h[:, :, KH - 1 - k1, KW - 1 - k2]"), THESIS),
    Variant("thesis gradients: channels and filters mixed up in dX", "thesis_conv_gradients",
            thesis(dx_sum='np.einsum("fab,cf->cab", window, h[:, :, k1, k2])'), THESIS),
    Variant("thesis gradients: dh averaged over the output positions", "thesis_conv_gradients",
            thesis(dh_value='np.einsum("fab,cab->fc", window, X) / (H * W)'), THESIS),
]

ALTERNATIVES = [
    Variant("output size with math.floor and true division", "conv_output_size",
            output_size("int(math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride)) + 1"), SIZE),
    Variant("layer table from torch modules (shapes measured by a forward pass)", "layer_table", '''
def layer_table(input_shape, layers):
    h, rows = torch.zeros(1, *input_shape), []
    for layer in layers:
        if layer[0] == "conv":
            module = nn.Conv2d(h.shape[1], layer[1], layer[2], layer[3], layer[4])
        elif layer[0] == "pool":
            module = nn.MaxPool2d(layer[1], layer[2])
        elif layer[0] == "flatten":
            module = nn.Flatten()
        else:
            module = nn.Linear(h.shape[1], layer[1])
        h = module(h)
        rows.append(list(h.shape[1:]) + [1] * (4 - h.dim()) + [sum(p.numel() for p in module.parameters())])
    return np.array(rows)
''', TABLE),
    Variant("naive: loops over the output positions first, einsum over the window", "conv2d_naive", '''
def conv2d_naive(x, w, b, stride, padding):
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    OH, OW = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    out = np.zeros((B, n_filters, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            for n in range(B):
                window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                out[n, :, i, j] = np.einsum("ckl,fckl->f", window, w) + b
    return out
''', NAIVE),
    Variant("naive: scalar loops over every tap", "conv2d_naive", '''
def conv2d_naive(x, w, b, stride, padding):
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    H_pad, W_pad = H + 2 * padding, W + 2 * padding
    xp = np.zeros((B, C, H_pad, W_pad), dtype=x.dtype)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    OH, OW = (H_pad - KH) // stride + 1, (W_pad - KW) // stride + 1
    out = np.zeros((B, n_filters, OH, OW), dtype=x.dtype)
    for n in range(B):
        for f in range(n_filters):
            for i in range(OH):
                for j in range(OW):
                    total = b[f]
                    for c in range(C):
                        for k in range(KH):
                            for l in range(KW):
                                total += w[f, c, k, l] * xp[n, c, i * stride + k, j * stride + l]
                    out[n, f, i, j] = total
    return out
''', NAIVE),
    Variant("im2col with sliding_window_view and einsum", "conv2d_im2col", '''
def conv2d_im2col(x, w, b, stride, padding):
    KH, KW = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("bchwkl,fckl->bfhw", windows, w, optimize=True) + b[None, :, None, None]
''', IM2COL),
    Variant("im2col with as_strided and tensordot, in float32", "conv2d_im2col", '''
def conv2d_im2col(x, w, b, stride, padding):
    x, w, b = (np.asarray(a, dtype=np.float32) for a in (x, w, b))
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))))
    OH, OW = (xp.shape[2] - KH) // stride + 1, (xp.shape[3] - KW) // stride + 1
    s = xp.strides
    cols = np.lib.stride_tricks.as_strided(xp, (B, C, KH, KW, OH, OW),
                                           (s[0], s[1], s[2], s[3], s[2] * stride, s[3] * stride))
    return np.tensordot(w, cols, axes=([1, 2, 3], [1, 2, 3])).transpose(1, 0, 2, 3) + b[None, :, None, None]
''', IM2COL),
    Variant("backward: dx as a full convolution of the dilated dout with flipped, channel-swapped kernels", "conv2d_backward", '''
def conv2d_backward(dout, x, w, b, stride, padding):
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    OH, OW = dout.shape[2:]
    db = dout.sum(axis=(0, 2, 3))
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dw = np.zeros_like(w, dtype=np.result_type(x, dout))
    for k in range(KH):
        for l in range(KW):
            patch = xp[:, :, k:k + stride * OH:stride, l:l + stride * OW:stride]
            dw[:, :, k, l] = np.einsum("bfij,bcij->fc", dout, patch)
    # dout dilated by the stride, padded to a full convolution
    Hp, Wp = H + 2 * padding, W + 2 * padding
    dil = np.zeros((B, n_filters, Hp - KH + 1, Wp - KW + 1), dtype=dout.dtype)
    dil[:, :, ::stride, ::stride][:, :, :OH, :OW] = dout
    full = np.pad(dil, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    flipped = w[:, :, ::-1, ::-1]
    dxp = np.zeros((B, C, Hp, Wp), dtype=np.result_type(dout, w))
    for u in range(Hp):
        for v in range(Wp):
            dxp[:, :, u, v] = np.einsum("bfkl,fckl->bc", full[:, :, u:u + KH, v:v + KW], flipped)
    return dxp[:, :, padding:padding + H, padding:padding + W], dw, db
''', BACKWARD),
    Variant("backward: loops over the output positions", "conv2d_backward", '''
def conv2d_backward(dout, x, w, b, stride, padding):
    B, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    OH, OW = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp, dw = np.zeros(xp.shape, dtype=np.result_type(x, dout)), np.zeros(w.shape, dtype=np.result_type(x, dout))
    for i in range(OH):
        for j in range(OW):
            window = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            g = dout[:, :, i, j]
            dw += np.einsum("bf,bckl->fckl", g, window)
            dxp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += np.einsum("bf,fckl->bckl", g, w)
    return dxp[:, :, padding:padding + H, padding:padding + W], dw, dout.sum(axis=(0, 2, 3))
''', BACKWARD),
    Variant("pool with explicit loops and a cache of the input", "max_pool2d", '''
def max_pool2d_forward(x, kernel, stride):
    B, C, H, W = x.shape
    OH, OW = (H - kernel) // stride + 1, (W - kernel) // stride + 1
    out = np.zeros((B, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel].max(axis=(2, 3))
    return out, {"x": x, "kernel": kernel, "stride": stride}


def max_pool2d_backward(dout, cache):
    x, kernel, stride = cache["x"], cache["kernel"], cache["stride"]
    B, C, OH, OW = dout.shape
    dx = np.zeros_like(x, dtype=dout.dtype)
    for n in range(B):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    window = x[n, c, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
                    k, l = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + k, j * stride + l] += dout[n, c, i, j]
    return dx
''', POOL),
    Variant("make_vgg as an nn.Module subclass with F.relu and F.max_pool2d", "make_vgg", '''
class VGGNet(nn.Module):
    def __init__(self, channels, use_batchnorm, num_classes, in_channels, image_size):
        super().__init__()
        self.convs, self.norms, self.stage_ends = nn.ModuleList(), nn.ModuleList(), []
        previous, size = in_channels, image_size
        for stage in channels:
            for width in stage:
                self.convs.append(nn.Conv2d(previous, width, kernel_size=3, stride=1, padding=1))
                self.norms.append(nn.BatchNorm2d(width) if use_batchnorm else nn.Identity())
                previous = width
            self.stage_ends.append(len(self.convs) - 1)
            size //= 2
        self.head = nn.Linear(previous * size * size, num_classes)

    def forward(self, x):
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = F.relu(norm(conv(x)))
            if i in self.stage_ends:
                x = F.max_pool2d(x, 2)
        return self.head(torch.flatten(x, 1))


def make_vgg(channels, use_batchnorm=True, num_classes=10, in_channels=1, image_size=28):
    return VGGNet(channels, use_batchnorm, num_classes, in_channels, image_size)
''',VGG + MODEL_CELLS),
    Variant("make_vgg with ReLU(inplace=True) and nested Sequentials per stage", "make_vgg", '''
def make_vgg(channels, use_batchnorm=True, num_classes=10, in_channels=1, image_size=28):
    stages, previous = [], in_channels
    for stage in channels:
        block = []
        for width in stage:
            block.append(nn.Conv2d(previous, width, 3, padding=1))
            if use_batchnorm:
                block.append(nn.BatchNorm2d(width))
            block.append(nn.ReLU(inplace=True))
            previous = width
        block.append(nn.MaxPool2d(kernel_size=2, stride=2))
        stages.append(nn.Sequential(*block))
    size = image_size // 2 ** len(channels)
    return nn.Sequential(nn.Sequential(*stages), nn.Flatten(), nn.Linear(previous * size * size, num_classes))
''',VGG + MODEL_CELLS),
    Variant("train_epoch with loss summed per batch (reduction='sum'), device as given", "train_epoch", '''
def train_epoch(model, batches, optimizer, device):
    model.train()
    total, correct, count = 0.0, 0, 0
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device)
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
''', TRAIN),
    Variant("notes_conv2d as torch's conv2d with the kernel transposed", "notes_conv2d", '''
def notes_conv2d(image, kernel):
    out = F.conv2d(torch.from_numpy(np.ascontiguousarray(image))[None, None],
                   torch.from_numpy(np.ascontiguousarray(kernel.T))[None, None])
    return out[0, 0].numpy()
''', NOTES),
    Variant("notes_conv2d with four loops, straight from the formula", "notes_conv2d", '''
def notes_conv2d(image, kernel):
    H, W = image.shape
    KH, KW = kernel.shape
    out = np.zeros((H - KW + 1, W - KH + 1))
    for i in range(H - KW + 1):
        for j in range(W - KH + 1):
            for m in range(KH):
                for n in range(KW):
                    out[i, j] += kernel[m, n] * image[i + n, j + m]
    return out
''', NOTES),
    Variant("thesis gradients with loops over every index of (1.3.11) and (1.3.14)", "thesis_conv_gradients", '''
def thesis_conv_gradients(dY, X, h):
    n_filters, C, KH, KW = h.shape
    _, H, W = X.shape
    _, OH, OW = dY.shape
    dX, dh = np.zeros((C, H, W)), np.zeros((n_filters, C, KH, KW))
    for f in range(n_filters):
        for n1 in range(OH):
            for n2 in range(OW):
                for c in range(C):
                    for k1 in range(H):
                        for k2 in range(W):
                            if 0 <= n1 - k1 < KH and 0 <= n2 - k2 < KW:
                                dX[c, k1, k2] += dY[f, n1, n2] * h[f, c, n1 - k1, n2 - k2]
                    for k1 in range(KH):
                        for k2 in range(KW):
                            if 0 <= n1 - k1 < H and 0 <= n2 - k2 < W:
                                dh[f, c, k1, k2] += dY[f, n1, n2] * X[c, n1 - k1, n2 - k2]
    return dX, dh
''', THESIS),
    Variant("thesis gradients as full convolutions with scipy.signal", "thesis_conv_gradients", '''
def thesis_conv_gradients(dY, X, h):
    from scipy.signal import correlate2d
    dX = np.array([sum(correlate2d(dY[f], h[f, c], mode="valid") for f in range(h.shape[0])) for c in range(h.shape[1])])
    dh = np.array([[correlate2d(dY[f], X[c], mode="valid") for c in range(h.shape[1])] for f in range(h.shape[0])])
    return dX, dh
''', THESIS),
]
