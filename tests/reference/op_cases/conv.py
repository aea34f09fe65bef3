"""conv2d and linear (mirrors tests/ops/cases_conv.cpp)."""
import torch
import torch.nn.functional as F


def conv(name, x, w, stride, padding, dilation=1, groups=1):
    return {"name": name, "inputs": [{"shape": x}, {"shape": w}],
            "fn": lambda t: F.conv2d(t[0], t[1], None, stride, padding, dilation, groups)}


def slice_conv(name, x, c0, c1, w, stride, padding, dilation=1, groups=1):
    return {"name": name, "inputs": [{"shape": x, "differentiable": False}, {"shape": w}],
            "fn": lambda t: F.conv2d(t[0][:, c0:c1], t[1], None, stride, padding, dilation, groups)}


CASES = [
    conv("conv1x1", [2, 4, 3, 3], [6, 4, 1, 1], 1, 0),
    conv("conv1x1_direct", [1, 2, 16, 16], [3, 2, 1, 1], 1, 0),
    conv("conv3x3_s1", [2, 3, 5, 5], [4, 3, 3, 3], 1, 1),
    conv("conv3x3_s2", [2, 3, 6, 6], [4, 3, 3, 3], 2, 1),
    conv("conv3x3_d2", [2, 3, 6, 6], [4, 3, 3, 3], 1, 2, 2),
    conv("conv5x5_d2", [1, 3, 8, 8], [2, 3, 5, 5], 1, 4, 2),
    conv("conv3x3_groups2", [2, 4, 5, 5], [6, 2, 3, 3], 1, 1, 1, 2),
    conv("conv1x1_s2_odd", [2, 4, 7, 7], [4, 4, 1, 1], 2, 0),
    conv("dwconv3x3_s2", [2, 4, 7, 7], [4, 1, 3, 3], 2, 1, 1, 4),
    conv("dwconv5x5_s2", [2, 3, 8, 8], [3, 1, 5, 5], 2, 2, 1, 3),
    conv("dwconv3x3_d2", [2, 3, 6, 6], [3, 1, 3, 3], 1, 2, 2, 3),
    conv("dwconv5x5_d2_s2", [1, 3, 9, 9], [3, 1, 5, 5], 2, 4, 2, 3),
    slice_conv("conv3x3_channel_slice", [2, 6, 4, 4], 1, 4, [2, 3, 3, 3], 1, 1),
    slice_conv("dwconv3x3_channel_slice", [2, 6, 5, 5], 2, 5, [3, 1, 3, 3], 1, 1, 1, 3),
    {"name": "linear", "inputs": [{"shape": [4, 6]}, {"shape": [5, 6]}, {"shape": [5]}],
     "fn": lambda t: F.linear(t[0], t[1], t[2])},
    {"name": "linear_nobias", "inputs": [{"shape": [4, 6]}, {"shape": [5, 6]}],
     "fn": lambda t: F.linear(t[0], t[1])},
]
