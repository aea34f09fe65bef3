"""The fused convolution branches (mirrors tests/ops/cases_conv_branches.cpp) as the unfused
composition: gather the selected channels, then sep_conv_3x3, sep_conv_5x5, dil_conv_3x3 and
dil_conv_5x5 in search form (ReLU, depthwise, 1x1, BatchNorm without affine parameters; the sep
convs twice), stacked in that order."""
import torch
import torch.nn.functional as F

# (kernel, dilation, padding) of stages 0..5; stages 4 and 5 are the sep convs' second halves.
STAGES = [(3, 1, 1), (5, 1, 2), (3, 2, 2), (5, 2, 4), (3, 1, 1), (5, 1, 2)]


def default_running(cs, dtype):
    """Stage s's running mean and variance, as the C++ case builds them."""
    out = []
    for s in range(6):
        out.append(torch.tensor([0.1 * s - 0.2 + 0.05 * j for j in range(cs)], dtype=dtype))
        out.append(torch.tensor([0.5 + 0.1 * s + 0.2 * j for j in range(cs)], dtype=dtype))
    return out


def conv_branches(x, sel, cs, weights, training, stride, running=None):
    sel = list(sel) if sel else list(range(cs))
    if running is None:
        running = default_running(cs, x.dtype)

    def stage(inp, s, st):
        k, dil, pad = STAGES[s]
        y = F.conv2d(F.relu(inp), weights[2 * s], stride=st, padding=pad, dilation=dil, groups=cs)
        y = F.conv2d(y, weights[2 * s + 1])
        return torch.batch_norm(y, None, None, running[2 * s], running[2 * s + 1], training, 0.1, 1e-5, False)

    xs = x[:, sel]
    first = [stage(xs, s, stride) for s in range(4)]
    return torch.stack([stage(first[0], 4, 1), stage(first[1], 5, 1), first[2], first[3]])


def case(name, C, cs, H, stride, training, sel):
    n = 2
    inputs = [{"shape": [n, C, H, H]}]
    for s in range(6):
        k = STAGES[s][0]
        inputs += [{"shape": [cs, 1, k, k]}, {"shape": [cs, cs, 1, 1]}]

    def fn(x):
        return conv_branches(x[0], sel, cs, x[1:], training, stride)

    return {"name": name, "inputs": inputs, "fn": fn}


CASES = [
    case("conv_branches_k4_s1_train", 8, 2, 6, 1, True, []),
    case("conv_branches_k4_s2_train_random", 8, 2, 6, 2, True, [1, 6]),
    case("conv_branches_k2_s2_train_odd", 6, 3, 5, 2, True, [0, 2, 5]),
    case("conv_branches_k1_s1_eval", 3, 3, 5, 1, False, []),
    case("conv_branches_k4_s2_eval_random", 8, 2, 6, 2, False, [3, 4]),
]
