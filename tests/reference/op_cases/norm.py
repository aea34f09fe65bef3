"""batch_norm (mirrors tests/ops/cases_norm.cpp)."""
import torch
import torch.nn.functional as F
from op_cases import constant, normal, positive

X, X2 = [4, 3, 3, 3], [8, 5]


def bn(x, w, b, rm, rv, training, momentum=0.1):
    return F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=1e-5)


def running_mean(x):
    bn(x[0], x[1], None, x[2], x[3], True)
    return x[2] + x[1]


def running_var(x):
    bn(x[0], x[1], None, x[2], x[3], True, 0.3)
    return x[3] + x[1]


def running_var_2d(x):
    bn(x[0], None, None, x[2], x[3], True)
    return x[3] + x[1]


AFFINE = [normal(X), normal([3]), normal([3]), constant([3]), positive([3])]
AFFINE2 = [normal(X2), normal([5]), normal([5]), constant([5]), positive([5])]
CASES = [
    {"name": "bn_train_affine", "inputs": AFFINE, "fn": lambda x: bn(x[0], x[1], x[2], x[3], x[4], True)},
    {"name": "bn_train_noaffine_running", "inputs": [normal(X), constant([3]), positive([3])],
     "fn": lambda x: bn(x[0], None, None, x[1], x[2], True)},
    {"name": "bn_train_noaffine_nostats", "inputs": [normal(X)],
     "fn": lambda x: bn(x[0], None, None, None, None, True)},
    {"name": "bn_train_weight_only", "inputs": [normal(X), normal([3])],
     "fn": lambda x: bn(x[0], x[1], None, None, None, True)},
    {"name": "bn_eval_affine", "inputs": AFFINE, "fn": lambda x: bn(x[0], x[1], x[2], x[3], x[4], False)},
    {"name": "bn_eval_noaffine", "inputs": [normal(X), constant([3]), positive([3])],
     "fn": lambda x: bn(x[0], None, None, x[1], x[2], False)},
    {"name": "bn_train_2d_affine", "inputs": AFFINE2, "fn": lambda x: bn(x[0], x[1], x[2], x[3], x[4], True)},
    {"name": "bn_eval_2d_affine", "inputs": AFFINE2, "fn": lambda x: bn(x[0], x[1], x[2], x[3], x[4], False)},
    {"name": "bn_running_mean", "inputs": [constant(X), normal([3]), constant([3]), positive([3])],
     "fn": running_mean},
    {"name": "bn_running_var", "inputs": [constant(X), normal([3]), constant([3]), positive([3])],
     "fn": running_var},
    {"name": "bn_running_var_2d", "inputs": [constant(X2), normal([5]), constant([5]), positive([5])],
     "fn": running_var_2d},
]
