"""relu, add, scale (mirrors tests/ops/cases_elementwise.cpp)."""
import torch

S = [2, 3, 4, 5]
CASES = [
    {"name": "relu", "inputs": [{"shape": S}], "fn": lambda x: torch.relu(x[0])},
    {"name": "add", "inputs": [{"shape": S}, {"shape": S}], "fn": lambda x: x[0] + x[1]},
    {"name": "scale", "inputs": [{"shape": S}], "fn": lambda x: x[0] * -0.75},
]
