"""The fused mixed edge (mirrors tests/ops/cases_mixed_edge.cpp) as the unfused PC-DARTS
composition: gather the selected channels, max/avg pool 3x3 each followed by BatchNorm without
affine parameters, the weighted candidate sum, the bypass (copy, or 2x2 max pool on stride-2
edges), concatenation, channel shuffle with k groups, times the edge weight."""
import torch
import torch.nn.functional as F


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


def default_running(cs, dtype):
    """The running statistics the op cases start from: mean and var of the max pool, then of the avg pool."""
    return [torch.tensor([v0 + dv * j for j in range(cs)], dtype=dtype)
            for v0, dv in ((0.3, 0.1), (0.7, 0.2), (-0.1, 0.05), (0.4, 0.3))]


def mixed_edge(x, sel, branches, w, e, training, stride, k, running=None):
    """running: [mean max, var max, mean avg, var avg], updated in place in training (default:
    default_running). torch.batch_norm is F.batch_norm without its refusal of one value per
    channel in training, which make_mixed_edge_fixtures.py records."""
    C = x.shape[1]
    cs = C // k
    sel = list(sel) if sel else list(range(cs))
    rest = [c for c in range(C) if c not in sel]
    xs = x[:, sel]
    if running is None:
        running = default_running(cs, x.dtype)
    mp = torch.batch_norm(F.max_pool2d(xs, 3, stride, 1), None, None, running[0], running[1], training, 0.1, 1e-5,
                          False)
    ap = torch.batch_norm(F.avg_pool2d(xs, 3, stride, 1, count_include_pad=False), None, None, running[2],
                          running[3], training, 0.1, 1e-5, False)
    skip = xs if stride == 1 else branches[4]
    s = w[1] * mp + w[2] * ap + w[3] * skip
    for i in range(4):
        s = s + w[4 + i] * branches[i]
    if k > 1:
        xr = x[:, rest]
        byp = xr if stride == 1 else F.max_pool2d(xr, 2, 2)
        s = channel_shuffle(torch.cat([s, byp], dim=1), k)
    return s * e[0] if e is not None else s


def case(name, C, H, k, stride, training, sel, edge_weight=True):
    n, cs, ho = 2, C // k, (H - 1) // stride + 1
    inputs = [{"shape": [n, C, H, H]}, {"shape": [8], "kind": "positive", "differentiable": True}]
    if edge_weight:
        inputs.append({"shape": [1], "kind": "positive", "differentiable": True})
    nb = 4 if stride == 1 else 5
    inputs += [{"shape": [n, cs, ho, ho]} for _ in range(nb)]
    b0 = 3 if edge_weight else 2

    def fn(x):
        return mixed_edge(x[0], sel, x[b0:b0 + nb], x[1], x[2] if edge_weight else None, training, stride, k)

    return {"name": name, "inputs": inputs, "fn": fn}


CASES = [
    case("mixed_edge_k4_s1_train", 8, 6, 4, 1, True, []),
    case("mixed_edge_k4_s1_train_random", 8, 6, 4, 1, True, [1, 6]),
    case("mixed_edge_k4_s2_train", 8, 6, 4, 2, True, []),
    case("mixed_edge_k4_s2_train_random", 8, 6, 4, 2, True, [0, 5]),
    case("mixed_edge_k4_s1_eval_random", 8, 6, 4, 1, False, [2, 3]),
    case("mixed_edge_k4_s2_eval", 8, 6, 4, 2, False, []),
    case("mixed_edge_k2_s1_train_random", 6, 5, 2, 1, True, [1, 2, 4]),
    case("mixed_edge_k1_s1_train_noew", 3, 5, 1, 1, True, [], False),
    case("mixed_edge_k1_s2_train", 3, 5, 1, 2, True, []),
    case("mixed_edge_k1_s2_eval_noew", 3, 5, 1, 2, False, [], False),
    # The four convolution branches stacked in one input (as ops::conv_branches returns them).
    {"name": "mixed_edge_k4_s2_train_stacked",
     "inputs": [{"shape": [2, 8, 6, 6]}, {"shape": [8], "kind": "positive", "differentiable": True},
                {"shape": [1], "kind": "positive", "differentiable": True}, {"shape": [4, 2, 2, 3, 3]},
                {"shape": [2, 2, 3, 3]}],
     "fn": lambda x: mixed_edge(x[0], [], list(x[3].unbind(0)) + [x[4]], x[1], x[2], True, 2, 4)},
]
