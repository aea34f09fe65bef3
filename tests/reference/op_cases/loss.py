"""softmax, log_softmax, cross_entropy with label smoothing (mirrors tests/ops/cases_loss.cpp).
The engine's cross_entropy returns a one-element [1] tensor, hence the reshape."""
import torch
import torch.nn.functional as F


def ce(s):
    return lambda x: F.cross_entropy(x[0], x[1], label_smoothing=s).reshape(1)


CASES = [
    {"name": "softmax_1d", "inputs": [{"shape": [7]}], "fn": lambda x: torch.softmax(x[0], -1)},
    {"name": "softmax_2d", "inputs": [{"shape": [4, 10]}], "fn": lambda x: torch.softmax(x[0], -1)},
    {"name": "softmax_2d_wide", "inputs": [{"shape": [3, 70]}], "fn": lambda x: torch.softmax(x[0], -1)},
    {"name": "log_softmax_1d", "inputs": [{"shape": [7]}], "fn": lambda x: torch.log_softmax(x[0], -1)},
    {"name": "log_softmax_2d", "inputs": [{"shape": [4, 10]}], "fn": lambda x: torch.log_softmax(x[0], -1)},
    {"name": "cross_entropy", "inputs": [{"shape": [6, 10]}, {"shape": [6], "kind": "labels", "classes": 10}],
     "fn": ce(0.0)},
    {"name": "cross_entropy_smooth",
     "inputs": [{"shape": [6, 10]}, {"shape": [6], "kind": "labels", "classes": 10}], "fn": ce(0.1)},
    {"name": "cross_entropy_smooth_wide",
     "inputs": [{"shape": [3, 40]}, {"shape": [3], "kind": "labels", "classes": 40}], "fn": ce(0.1)},
]
