"""max_pool2d, avg_pool2d, global_avg_pool (mirrors tests/ops/cases_pool.cpp)."""
import torch.nn.functional as F


def case(name, shape, fn):
    return {"name": name, "inputs": [{"shape": shape}], "fn": lambda x: fn(x[0])}


CASES = [
    case("max_pool_k3s1p1", [2, 3, 5, 5], lambda x: F.max_pool2d(x, 3, 1, 1)),
    case("max_pool_k3s2p1", [2, 3, 7, 7], lambda x: F.max_pool2d(x, 3, 2, 1)),
    case("max_pool_k3s2p1_even", [2, 2, 6, 8], lambda x: F.max_pool2d(x, 3, 2, 1)),
    case("max_pool_k2s2p0", [2, 3, 6, 6], lambda x: F.max_pool2d(x, 2, 2, 0)),
    case("max_pool_k2s2p0_odd", [2, 2, 5, 7], lambda x: F.max_pool2d(x, 2, 2, 0)),
    case("avg_pool_k3s1p1", [2, 3, 5, 5], lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)),
    case("avg_pool_k3s2p1", [2, 3, 7, 7], lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
    case("avg_pool_k3s2p1_even", [2, 2, 6, 8], lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
    case("global_avg_pool", [2, 3, 4, 5], lambda x: x.mean(dim=(2, 3))),
]
