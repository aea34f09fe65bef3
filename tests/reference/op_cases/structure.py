"""weighted_sum, sum, concat_channels, narrow, reshape, channel_shuffle, strided_zero, drop_path
(mirrors tests/ops/cases_structure.cpp)."""
import torch

import philox


def wsum_inputs(n, shape):
    return [{"shape": shape} for _ in range(n)] + [{"shape": [n]}]


def wsum(x):
    xs, w = x[:-1], x[-1]
    return sum(w[i] * xs[i] for i in range(len(xs)))


def shuffle(x, g):
    n, c, h, w = x.shape
    return x.reshape(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


def drop_path(x, p, seed, stream, offset=0):
    # kernels/structure_math.h: sample n kept iff uniform_at(seed, stream, offset, n) >= p.
    keep = [1.0 if philox.uniform_at(seed, stream, offset, n) >= p else 0.0 for n in range(x.shape[0])]
    mask = torch.tensor(keep, dtype=x.dtype).reshape([-1] + [1] * (x.dim() - 1))
    return x / (1 - p) * mask


TEST_STREAM = 100  # RngStream::Test

CASES = [
    {"name": "weighted_sum_3", "inputs": wsum_inputs(3, [2, 3, 4, 4]), "fn": wsum},
    {"name": "weighted_sum_8", "inputs": wsum_inputs(8, [2, 3, 3, 3]), "fn": wsum},
    {"name": "sum_2", "inputs": [{"shape": [2, 3, 4, 4]}] * 2, "fn": lambda x: x[0] + x[1]},
    # more tensors than one CUDA launch takes (8): two launches
    {"name": "sum_11", "inputs": [{"shape": [2, 3, 3, 3]}] * 11, "fn": lambda x: sum(x[1:], x[0])},
    {"name": "concat_channels_3",
     "inputs": [{"shape": [2, 2, 3, 3]}, {"shape": [2, 3, 3, 3]}, {"shape": [2, 1, 3, 3]}],
     "fn": lambda x: torch.cat(x, 1)},
    {"name": "concat_channels_views", "inputs": [{"shape": [2, 5, 3, 3]}],
     "fn": lambda x: torch.cat([x[0][:, 3:5], x[0][:, 0:3]], 1)},
    {"name": "narrow_dim1", "inputs": [{"shape": [2, 6, 3, 3]}], "fn": lambda x: x[0].narrow(1, 2, 3)},
    {"name": "narrow_dim0", "inputs": [{"shape": [4, 3, 3, 3]}], "fn": lambda x: x[0].narrow(0, 1, 2)},
    {"name": "narrow_strided_view", "inputs": [{"shape": [3, 6, 3, 3]}],
     "fn": lambda x: x[0].narrow(1, 1, 4).narrow(0, 1, 2).narrow(1, 1, 2)},
    {"name": "narrow_dim0_2d", "inputs": [{"shape": [5, 7]}], "fn": lambda x: x[0].narrow(0, 2, 3)},
    {"name": "reshape", "inputs": [{"shape": [2, 3, 4, 4]}], "fn": lambda x: x[0].reshape(6, 16)},
    {"name": "reshape_view", "inputs": [{"shape": [2, 3, 4, 4]}],
     "fn": lambda x: x[0].narrow(1, 1, 2).reshape(2, 32)},
    {"name": "channel_shuffle_g2", "inputs": [{"shape": [2, 4, 3, 3]}], "fn": lambda x: shuffle(x[0], 2)},
    {"name": "channel_shuffle_g4", "inputs": [{"shape": [2, 8, 2, 2]}], "fn": lambda x: shuffle(x[0], 4)},
    {"name": "channel_shuffle_view", "inputs": [{"shape": [2, 6, 2, 2]}],
     "fn": lambda x: shuffle(x[0].narrow(1, 2, 4), 2)},
    {"name": "strided_zero_s1", "inputs": [{"shape": [2, 3, 5, 5]}], "fn": lambda x: x[0][:, :, ::1, ::1] * 0},
    {"name": "strided_zero_s2", "inputs": [{"shape": [2, 3, 5, 4]}], "fn": lambda x: x[0][:, :, ::2, ::2] * 0},
    {"name": "drop_path", "inputs": [{"shape": [6, 2, 3, 3]}],
     "fn": lambda x: drop_path(x[0], 0.4, 7, TEST_STREAM)},
]
