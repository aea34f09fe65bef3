#!/usr/bin/env python3
"""Writes the golden fixtures of the op harness (tests/ops/harness.h) with PyTorch.

For every case in op_cases/*.py: random float32 inputs (seeded), a random upstream gradient,
the op's output and the gradient of every differentiable input, computed in float64 from the
float32 inputs and stored as F64. One file per case: fixtures/ops/<name>.safetensors with
tensors input.<i>, grad_out, output, grad.<i>. Rerun: /usr/bin/python3 make_op_fixtures.py
"""
import importlib
import os
import pkgutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
import op_cases  # noqa: E402


def make_input(spec, gen):
    kind = spec.get("kind", "normal")
    shape = spec["shape"]
    if kind == "labels":
        return torch.randint(0, spec["classes"], shape, generator=gen, dtype=torch.int64).to(torch.int32)
    if kind == "positive":
        return (0.5 + torch.rand(shape, generator=gen)).float()
    return torch.randn(shape, generator=gen).float()


def write_case(case, out_dir):
    gen = torch.Generator().manual_seed(1234)
    specs = case["inputs"]
    inputs = [make_input(s, gen) for s in specs]
    work = []
    for s, x in zip(specs, inputs):
        t = x.double() if x.dtype == torch.float32 else x.long()
        if s.get("differentiable", s.get("kind", "normal") == "normal"):
            t.requires_grad_(True)
        work.append(t)
    out = case["fn"](work)
    grad_out = torch.randn(out.shape, generator=gen).float()
    tensors = {f"input.{i}": x for i, x in enumerate(inputs)}
    tensors["grad_out"] = grad_out
    tensors["output"] = out.detach().double()
    diff = [t for t in work if t.requires_grad]
    if diff:
        grads = torch.autograd.grad(out, diff, grad_out.double(), allow_unused=True)
        k = 0
        for i, t in enumerate(work):
            if t.requires_grad:
                g = grads[k] if grads[k] is not None else torch.zeros_like(t)
                tensors[f"grad.{i}"] = g.double()
                k += 1
    safetensors_io.save(os.path.join(out_dir, case["name"] + ".safetensors"), tensors,
                        {"generator": "tests/reference/make_op_fixtures.py", "torch": torch.__version__})


def main():
    out_dir = os.path.join(HERE, "fixtures", "ops")
    os.makedirs(out_dir, exist_ok=True)
    names = set()
    for mod in pkgutil.iter_modules(op_cases.__path__):
        cases = importlib.import_module("op_cases." + mod.name).CASES
        for case in cases:
            assert case["name"] not in names, "duplicate case " + case["name"]
            names.add(case["name"])
            write_case(case, out_dir)
    print(f"wrote {len(names)} op fixtures to {out_dir}")


if __name__ == "__main__":
    main()
