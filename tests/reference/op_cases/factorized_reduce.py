"""The fused FactorizedReduce (mirrors tests/ops/cases_factorized_reduce.cpp) as PyTorch's DARTS
FactorizedReduce on the selected channels: ReLU (unless the input is relu'd already), conv_1 on
x, conv_2 on x[:, :, 1:, 1:] (both 1x1, stride 2), concatenated, BatchNorm (eps 1e-5)."""
import torch
import torch.nn.functional as F
from op_cases import constant, normal, positive


def factorized_reduce(x, sel, cs, w1, w2, gamma, beta, rm, rv, relu, training, momentum=0.1):
    a = x[:, list(sel) if sel else list(range(cs))]
    if relu:
        a = F.relu(a)
    out = torch.cat([F.conv2d(a, w1, stride=2), F.conv2d(a[:, :, 1:, 1:], w2, stride=2)], dim=1)
    return F.batch_norm(out, rm, rv, gamma, beta, training=training, momentum=momentum, eps=1e-5)


def case(name, C, cs, co, H, W, relu, affine, training, sel):
    inputs = [normal([2, C, H, W]), normal([co // 2, cs, 1, 1]), normal([co // 2, cs, 1, 1])]
    if affine:
        inputs += [normal([co]), normal([co])]
    inputs += [constant([co]), positive([co])]

    def fn(x):
        gamma, beta = (x[3], x[4]) if affine else (None, None)
        r = 5 if affine else 3
        return factorized_reduce(x[0], sel, cs, x[1], x[2], gamma, beta, x[r], x[r + 1], relu, training)

    return {"name": name, "inputs": inputs, "fn": fn}


def running_case(name, variance):
    inputs = [constant([2, 5, 4, 6]), constant([2, 3, 1, 1]), constant([2, 3, 1, 1]), normal([4]), constant([4]),
              positive([4])]

    def fn(x):
        factorized_reduce(x[0], [0, 2, 3], 3, x[1], x[2], x[3], None, x[4], x[5], True, True, 0.3)
        return (x[5] if variance else x[4]) + x[3]

    return {"name": name, "inputs": inputs, "fn": fn}


CASES = [
    case("factorized_reduce_relu_affine_train", 4, 4, 6, 4, 4, True, True, True, []),
    case("factorized_reduce_norelu_train_first", 5, 3, 4, 6, 4, False, False, True, []),
    case("factorized_reduce_relu_train_selected", 8, 3, 6, 4, 4, True, False, True, [1, 4, 6]),
    case("factorized_reduce_relu_affine_eval_selected", 6, 2, 2, 4, 4, True, True, False, [0, 5]),
    case("factorized_reduce_norelu_affine_eval", 3, 3, 4, 4, 6, False, True, False, []),
    case("factorized_reduce_norelu_affine_train_first", 7, 5, 10, 2, 4, False, True, True, []),
    running_case("factorized_reduce_running_mean", False),
    running_case("factorized_reduce_running_var", True),
]
