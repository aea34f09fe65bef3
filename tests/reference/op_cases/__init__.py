"""Op cases mirrored from tests/ops/cases_*.cpp: one module per op family, each with CASES, a
list of {"name", "inputs": [{"shape", "kind", "classes", "differentiable"}], "fn"}.
kind is "normal" (default, differentiable), "positive" (U(0.5, 1.5), not differentiable unless
said) or "labels" (int32 in [0, classes)). fn receives float64 tensors (labels as int64)."""


# Input specs shared by the case modules.
def normal(s):
    return {"shape": s}


def constant(s):
    return {"shape": s, "differentiable": False}


def positive(s):
    return {"shape": s, "kind": "positive"}
