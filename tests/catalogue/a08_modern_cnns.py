"""Grading catalogue of 08_modern_cnns: realistic bugs and valid alternatives.

Bugs (issue 24): the receptive field off by one, without the jump, without
the dilation, or with the layer's own stride applied too early; the output
size without the floor; the 1x1 convolution with transposed weights, with a
reshape where the channels must move, without moving the channels back,
without the bias; its cost without biases or per weight only; GAP over the
wrong axes or as a sum; the all-conv net that keeps max pooling, ends in a
linear layer, averages before its 1x1 convolution, or has biased 3x3
convolutions; the residual block with the shortcut added after the final
ReLU (the design decided in the text: before it), the projection without its
stride or its batch norm, a batch norm in evaluation mode during training,
the shortcut detached, the stride on the second convolution, no ReLU after
the addition, zero_init ignored, the plain block still adding; the ResNet
builder with a stride-2 first stage, stride 2 in every block of a stage,
shortcut or zero_init not passed on, no ReLU in the stem, a biased stem.

Alternatives: the receptive field as a sum over layers, einsum and tensordot
1x1 convolutions, GAP with adaptive_avg_pool2d, an nn.Sequential all-conv
net with AdaptiveAvgPool2d + Flatten, the pre-activation block (its
projection on x or on the activated input), an in-place addition and
inplace ReLUs with the shortcut registered first, an nn.Sequential ResNet.
A mistake in an earlier exercise must not cost a later one (must_pass).
"""
from . import Variant, tests_of

RF = tests_of("receptive_field")
C1 = ("conv1x1_visible", "conv1x1_hidden")
COST = ("conv1x1_visible", "conv1x1_cost_hidden")
GAP = ("global_avg_pool_visible", "global_avg_pool_hidden")
ALLCONV = ("global_avg_pool_visible", "make_allconv_hidden")
BLOCK = tests_of("residual_block")
RESNET = tests_of("make_resnet")
JACOBIAN = tests_of("input_output_jacobian")

RECEPTIVE_FIELD = '''
def receptive_field(input_size, layers):
    size, field, jump, rows = input_size, 1, 1, []
    for layer in layers:
        if layer[0] == "conv":
            _, kernel, stride, padding, dilation = layer
        else:
            (_, kernel, stride, padding), dilation = layer, 1
        span = dilation * (kernel - 1) + 1
        size = (size + 2 * padding - span) // stride + 1
        field += (span - 1) * jump
        jump *= stride
        rows.append((size, field))
    return np.array(rows, dtype=np.int64)
'''

CONV1X1 = '''
def conv1x1(x, weight, bias):
    pixels = np.moveaxis(x, 1, -1)
    out = pixels @ weight.T + bias
    return np.ascontiguousarray(np.moveaxis(out, -1, 1))


def conv1x1_cost(in_channels, out_channels, height, width):
    return out_channels * (in_channels + 1), in_channels * out_channels * height * width
'''

ALLCONV_SOURCE = '''
def global_avg_pool(x):
    return x.mean(dim=(2, 3))


def make_allconv(channels, num_classes=10, in_channels=1, downsample="conv"):
    def conv_bn_relu(c_in, c_out, stride=1):
        return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

    class AllConv(nn.Module):
        def __init__(self):
            super().__init__()
            layers, previous = [], in_channels
            for stage in channels:
                for width in stage:
                    layers += conv_bn_relu(previous, width)
                    previous = width
                layers += conv_bn_relu(previous, previous, stride=2) if downsample == "conv" else [nn.MaxPool2d(2)]
            self.features = nn.Sequential(*layers)
            self.scores = nn.Conv2d(previous, num_classes, 1)

        def forward(self, x):
            return global_avg_pool(self.scores(self.features(x)))

    return AllConv()
'''

BLOCK_SOURCE = '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, shortcut=True, zero_init=False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut
        self.projection = None
        if shortcut and (stride != 1 or in_channels != out_channels):
            self.projection = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out_channels))
        if zero_init:
            nn.init.zeros_(self.bn2.weight)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut:
            out = out + (x if self.projection is None else self.projection(x))
        return F.relu(out)
'''

RESNET_SOURCE = '''
def make_resnet(blocks_per_stage, widths, num_classes=10, in_channels=1, shortcut=True, zero_init=False):
    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU())
            blocks, previous = [], widths[0]
            for stage, (count, width) in enumerate(zip(blocks_per_stage, widths)):
                for k in range(count):
                    stride = 2 if stage > 0 and k == 0 else 1
                    blocks.append(ResidualBlock(previous, width, stride, shortcut=shortcut, zero_init=zero_init))
                    previous = width
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(previous, num_classes)

        def forward(self, x):
            return self.fc(global_avg_pool(self.blocks(self.stem(x))))

    return ResNet()
'''


JACOBIAN_SOURCE = '''
def input_output_jacobian(fn, x):
    flat = lambda v: fn(v.reshape(x.shape)).reshape(-1)
    return torch.func.jacrev(flat)(x.detach().reshape(-1)).detach().numpy()
'''


def changed(source, old, new):
    """The source with one piece replaced (which must be there)."""
    assert old in source, old
    return source.replace(old, new)


def rf(old, new):
    return changed(RECEPTIVE_FIELD, old, new)


def c1(old, new):
    return changed(CONV1X1, old, new)


def allconv(old, new):
    return changed(ALLCONV_SOURCE, old, new)


def block(old, new):
    return changed(BLOCK_SOURCE, old, new)


def resnet(old, new):
    return changed(RESNET_SOURCE, old, new)


BUGS = [
    # --- receptive field
    Variant("receptive field off by one (starts at 0 instead of 1)", "receptive_field",
            rf("size, field, jump, rows = input_size, 1, 1, []", "size, field, jump, rows = input_size, 0, 1, []"), RF),
    Variant("receptive field without the jump (strides ignored)", "receptive_field",
            rf("field += (span - 1) * jump", "field += span - 1"), RF),
    Variant("receptive field ignores the dilation", "receptive_field",
            rf("field += (span - 1) * jump", "field += (kernel - 1) * jump"), RF),
    Variant("receptive field: the layer's own stride applied before its field", "receptive_field",
            rf("        field += (span - 1) * jump\n        jump *= stride",
               "        jump *= stride\n        field += (span - 1) * jump"), RF),
    Variant("output size without the floor (true division)", "receptive_field",
            rf("size = (size + 2 * padding - span) // stride + 1", "size = (size + 2 * padding - span) / stride + 1").replace(
                "np.array(rows, dtype=np.int64)", "np.array(rows)"), RF),
    Variant("output size with the padding counted once", "receptive_field",
            rf("size = (size + 2 * padding - span) // stride + 1", "size = (size + padding - span) // stride + 1"), RF),

    # --- 1x1 convolution
    Variant("1x1 conv with transposed weights (pixels @ weight)", "conv1x1", c1("pixels @ weight.T", "pixels @ weight"), C1),
    Variant("1x1 conv: reshape where the channels must move (x.reshape(B, H*W, C))", "conv1x1", c1(
        "    pixels = np.moveaxis(x, 1, -1)\n    out = pixels @ weight.T + bias\n    return np.ascontiguousarray(np.moveaxis(out, -1, 1))",
        "    B, C, H, W = x.shape\n    out = x.reshape(B, H * W, C) @ weight.T + bias\n"
        "    return out.reshape(B, -1, H, W)"), C1),
    Variant("1x1 conv: channels left last", "conv1x1",
            c1("np.ascontiguousarray(np.moveaxis(out, -1, 1))", "out"), C1),
    Variant("1x1 conv without the bias", "conv1x1", c1("pixels @ weight.T + bias", "pixels @ weight.T"), C1),
    Variant("1x1 cost: parameters without the biases", "conv1x1",
            c1("out_channels * (in_channels + 1), in", "out_channels * in_channels, in"), COST),
    Variant("1x1 cost: multiply-adds per weight, not per output position", "conv1x1",
            c1("in_channels * out_channels * height * width", "in_channels * out_channels"), COST),

    # --- GAP and the all-conv net
    Variant("GAP over the wrong axes (1, 2)", "global_avg_pool",
            allconv("return x.mean(dim=(2, 3))", "return x.mean(dim=(1, 2))"), GAP, must_pass=("make_allconv_hidden",)),
    Variant("GAP as a sum", "global_avg_pool",
            allconv("return x.mean(dim=(2, 3))", "return x.sum(dim=(2, 3))"), GAP, must_pass=("make_allconv_hidden",)),
    Variant("all-conv net keeps max pooling (downsample ignored)", "global_avg_pool",
            allconv('conv_bn_relu(previous, previous, stride=2) if downsample == "conv" else [nn.MaxPool2d(2)]',
                    "[nn.MaxPool2d(2)]"), ALLCONV),
    Variant("all-conv net ends in GAP + a linear layer instead of a 1x1 convolution", "global_avg_pool", allconv(
        "self.scores = nn.Conv2d(previous, num_classes, 1)", "self.scores = nn.Linear(previous, num_classes)").replace(
        "return global_avg_pool(self.scores(self.features(x)))", "return self.scores(global_avg_pool(self.features(x)))"),
        ALLCONV),
    Variant("all-conv net averages before its 1x1 convolution", "global_avg_pool", allconv(
        "return global_avg_pool(self.scores(self.features(x)))",
        "return self.scores(self.features(x).mean(dim=(2, 3), keepdim=True)).flatten(1)"), ALLCONV),
    Variant("all-conv net: 3x3 convolutions with biases", "global_avg_pool",
            allconv("padding=1, bias=False)", "padding=1)"), ALLCONV),

    # --- residual block
    Variant("block: shortcut added after the final ReLU", "residual_block", block(
        "            out = out + (x if self.projection is None else self.projection(x))\n        return F.relu(out)",
        "            return F.relu(out) + (x if self.projection is None else self.projection(x))\n        return F.relu(out)"),
        BLOCK),
    Variant("block: projection without the stride", "residual_block",
            block("nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)",
                  "nn.Conv2d(in_channels, out_channels, 1, bias=False)"), BLOCK),
    Variant("block: projection without its batch norm", "residual_block", block(
        "nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),\n"
        "                                            nn.BatchNorm2d(out_channels))",
        "nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)"), BLOCK),
    Variant("block: first batch norm in evaluation mode during training (F.batch_norm's default)", "residual_block",
            block("out = F.relu(self.bn1(self.conv1(x)))",
                  "out = F.relu(F.batch_norm(self.conv1(x), self.bn1.running_mean, self.bn1.running_var, "
                  "self.bn1.weight, self.bn1.bias))"), BLOCK),
    Variant("block: shortcut detached (no gradient through it)", "residual_block",
            block("out = out + (x if", "out = out + (x.detach() if"), BLOCK),
    Variant("block: stride on the second convolution", "residual_block", block(
        "nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)",
        "nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)").replace(
        "nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)",
        "nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)"), BLOCK),
    Variant("block: no ReLU after the addition", "residual_block", block("return F.relu(out)", "return out"), BLOCK),
    Variant("block: zero_init ignored", "residual_block",
            block("            nn.init.zeros_(self.bn2.weight)", "            pass"), BLOCK),
    Variant("block: the plain block (shortcut=False) still adds x", "residual_block",
            block("        if self.shortcut:\n", "        if True:\n"), BLOCK),
    Variant("block: 3x3 convolutions with biases", "residual_block", block(
        "out_channels, 3, stride=stride, padding=1, bias=False)", "out_channels, 3, stride=stride, padding=1)"), BLOCK),

    # --- ResNet builder
    Variant("resnet: the first stage starts with stride 2 too", "make_resnet",
            resnet("stride = 2 if stage > 0 and k == 0 else 1", "stride = 2 if k == 0 else 1"), RESNET),
    Variant("resnet: stride 2 in every block of the later stages", "make_resnet",
            resnet("stride = 2 if stage > 0 and k == 0 else 1", "stride = 2 if stage > 0 else 1"), RESNET),
    Variant("resnet: shortcut not passed on (plain twin has shortcuts)", "make_resnet",
            resnet("stride, shortcut=shortcut, zero_init", "stride, zero_init"), RESNET),
    Variant("resnet: zero_init not passed on", "make_resnet",
            resnet(", zero_init=zero_init))", "))"), RESNET),
    Variant("resnet: no ReLU in the stem", "make_resnet",
            resnet("nn.BatchNorm2d(widths[0]), nn.ReLU())", "nn.BatchNorm2d(widths[0]))"), RESNET),
    Variant("resnet: stem convolution with a bias", "make_resnet",
            resnet("widths[0], 3, padding=1, bias=False)", "widths[0], 3, padding=1)"), RESNET),
    # --- the Jacobian
    Variant("Jacobian transposed (inputs x outputs)", "input_output_jacobian",
            changed(JACOBIAN_SOURCE, ".detach().numpy()", ".detach().numpy().T"), JACOBIAN),
    Variant("Jacobian not flattened (output shape + input shape)", "input_output_jacobian", '''
def input_output_jacobian(fn, x):
    return torch.func.jacrev(fn)(x.detach()).detach().numpy()
''', JACOBIAN),
    Variant("Jacobian by forward differences with step 1e-4", "input_output_jacobian", '''
def input_output_jacobian(fn, x):
    base = fn(x).detach().reshape(-1)
    columns = []
    for i in range(x.numel()):
        step = torch.zeros(x.numel(), dtype=x.dtype)
        step[i] = 1e-4
        columns.append((fn(x + step.reshape(x.shape)).detach().reshape(-1) - base) / 1e-4)
    return torch.stack(columns, 1).numpy()
''', JACOBIAN),
    Variant("Jacobian: the gradient of the summed output, repeated for every row", "input_output_jacobian", '''
def input_output_jacobian(fn, x):
    v = x.detach().clone().requires_grad_(True)
    out = fn(v)
    (grad,) = torch.autograd.grad(out.sum(), v)
    return np.tile(grad.reshape(1, -1).numpy(), (out.numel(), 1))
''', JACOBIAN),
]

ALTERNATIVES = [
    Variant("receptive field as a sum over layers of (span - 1) times the product of the earlier strides",
            "receptive_field", '''
def receptive_field(input_size, layers):
    rows, size = [], input_size
    spans = [(layer[4] if layer[0] == "conv" else 1) * (layer[1] - 1) + 1 for layer in layers]
    for i, layer in enumerate(layers):
        padding = layer[3]
        size = int(math.floor((size + 2 * padding - spans[i]) / layer[2])) + 1
        field = 1 + sum((spans[j] - 1) * int(np.prod([l[2] for l in layers[:j]])) for j in range(i + 1))
        rows.append([size, field])
    return rows
''', RF),
    Variant("1x1 conv with einsum", "conv1x1", c1(
        "    pixels = np.moveaxis(x, 1, -1)\n    out = pixels @ weight.T + bias\n    return np.ascontiguousarray(np.moveaxis(out, -1, 1))",
        '    return np.einsum("oc,bchw->bohw", weight, x) + bias[None, :, None, None]'), C1 + ("conv1x1_cost_hidden",)),
    Variant("1x1 conv with tensordot and numpy ints for the cost", "conv1x1", c1(
        "    pixels = np.moveaxis(x, 1, -1)\n    out = pixels @ weight.T + bias\n    return np.ascontiguousarray(np.moveaxis(out, -1, 1))",
        "    out = np.tensordot(weight, x, axes=([1], [1]))          # (C_out, B, H, W)\n"
        "    return out.transpose(1, 0, 2, 3) + bias[None, :, None, None]").replace(
        "return out_channels * (in_channels + 1), in_channels * out_channels * height * width",
        "return np.int64(out_channels) * (in_channels + 1), np.prod([in_channels, out_channels, height, width])"),
        C1 + ("conv1x1_cost_hidden",)),
    Variant("GAP with adaptive_avg_pool2d; all-conv net as an nn.Sequential with AdaptiveAvgPool2d + Flatten",
            "global_avg_pool", '''
def global_avg_pool(x):
    return F.adaptive_avg_pool2d(x, 1).flatten(1)


def make_allconv(channels, num_classes=10, in_channels=1, downsample="conv"):
    layers, previous = [], in_channels
    for stage in channels:
        for width in stage:
            layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            previous = width
        if downsample == "conv":
            layers += [nn.Conv2d(previous, previous, 3, 2, 1, bias=False), nn.BatchNorm2d(previous), nn.ReLU(inplace=True)]
        else:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    layers += [nn.Conv2d(previous, num_classes, kernel_size=1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)
''', GAP + ALLCONV),
    Variant("pre-activation block (He et al., ECCV 2016), projection on x", "residual_block", '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, shortcut=True, zero_init=False):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.use_shortcut = shortcut
        self.proj = (nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
                     if shortcut and (stride != 1 or in_channels != out_channels) else None)
        if zero_init:
            nn.init.zeros_(self.bn2.weight)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        if not self.use_shortcut:
            return out
        return out + (x if self.proj is None else self.proj(x))
''', BLOCK),
    Variant("pre-activation block, projection on the activated input", "residual_block", '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, shortcut=True, zero_init=False):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.use_shortcut = shortcut
        self.proj = (nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
                     if shortcut and (stride != 1 or in_channels != out_channels) else None)
        if zero_init:
            nn.init.zeros_(self.bn2.weight)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(a))))
        if not self.use_shortcut:
            return out
        return out + (x if self.proj is None else self.proj(a))
''', BLOCK),
    Variant("block: shortcut registered first (nn.Identity), in-place addition, inplace ReLUs", "residual_block", '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, shortcut=True, zero_init=False):
        super().__init__()
        self.has_shortcut = shortcut
        if shortcut and (stride != 1 or in_channels != out_channels):
            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                                      nn.BatchNorm2d(out_channels))
        else:
            self.skip = nn.Identity()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels))
        if zero_init:
            nn.init.constant_(self.body[-1].weight, 0.0)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.body(x)
        if self.has_shortcut:
            out += self.skip(x)
        return self.relu(out)
''', BLOCK),
    Variant("resnet as an nn.Sequential with AdaptiveAvgPool2d + Flatten", "make_resnet", '''
def make_resnet(blocks_per_stage, widths, num_classes=10, in_channels=1, shortcut=True, zero_init=False):
    layers = [nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
              nn.ReLU(inplace=True)]
    previous = widths[0]
    for stage, width in enumerate(widths):
        for k in range(blocks_per_stage[stage]):
            layers.append(ResidualBlock(previous, width, 2 if (stage and not k) else 1, shortcut, zero_init))
            previous = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(previous, num_classes)]
    return nn.Sequential(*layers)
''', RESNET),
    Variant("resnet: stages built as nn.ModuleList of nn.Sequential, GAP with torch.mean", "make_resnet", '''
def make_resnet(blocks_per_stage, widths, num_classes=10, in_channels=1, shortcut=True, zero_init=False):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.bn = nn.BatchNorm2d(widths[0])
            stages, c = [], widths[0]
            for i, (n, w) in enumerate(zip(blocks_per_stage, widths)):
                blocks = []
                for k in range(n):
                    blocks.append(ResidualBlock(c, w, stride=2 if i > 0 and k == 0 else 1, shortcut=shortcut,
                                                zero_init=zero_init))
                    c = w
                stages.append(nn.Sequential(*blocks))
            self.stages = nn.ModuleList(stages)
            self.head = nn.Linear(c, num_classes)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            for stage in self.stages:
                x = stage(x)
            return self.head(torch.mean(x, dim=(2, 3)))
    return Net()
''', RESNET),
    Variant("Jacobian with torch.autograd.functional.jacobian on the unflattened tensors", "input_output_jacobian", '''
def input_output_jacobian(fn, x):
    J = torch.autograd.functional.jacobian(fn, x)
    return J.reshape(fn(x).numel(), x.numel()).numpy()
''', JACOBIAN),
    Variant("Jacobian row by row with torch.autograd.grad", "input_output_jacobian", '''
def input_output_jacobian(fn, x):
    v = x.detach().clone().requires_grad_(True)
    out = fn(v).reshape(-1)
    rows = []
    for i in range(out.numel()):
        (g,) = torch.autograd.grad(out[i], v, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros(v.numel(), dtype=v.dtype) if g is None else g.reshape(-1))
    return torch.stack(rows).detach().numpy()
''', JACOBIAN),
]
