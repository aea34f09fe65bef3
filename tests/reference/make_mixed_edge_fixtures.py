#!/usr/bin/env python3
"""Writes the golden fixtures of tests/mixed_edge/test_mixed_edge_golden.cpp: the fused mixed edge
on inputs the op harness's random ones never hold, as the unfused PyTorch composition of
op_cases/mixed_edge.py with the running statistics passed in and returned.

  nan_*      NaN planted in the input: max-pool windows (3x3 candidates, 2x2 bypass) holding
             two NaN, where PyTorch's max takes the last NaN in scan order, which decides
             where the gradient of x goes. Eval cases keep the NaN out of the batch statistics,
             so d x stays finite and shows that choice; the training case has NaN only in the
             bypass.
  one_*      training with one value per channel (N = 1, Ho = Wo = 1): the batch statistics
             cover a single element, and the unbiased variance of the running update divides
             0 by 0. F.batch_norm refuses such input; torch.batch_norm, the op under it, gives
             a NaN running variance, which is the answer recorded here.

One file per case, fixtures/mixed_edge/<name>.safetensors, holding the inputs (F32): x, sel
(I32, the selected channels), weights [8], edge_weight [1], branch.<i>, running.<q> (before:
mean max, var max, mean avg, var avg), grad_out; and what PyTorch computes from them in float64
(F64): output, grad.x, grad.weights, grad.edge_weight, grad.branch.<i>, running_after.<q>.
Metadata: stride, k, training. Rerun: /usr/bin/python3 tests/reference/make_mixed_edge_fixtures.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
from op_cases.mixed_edge import mixed_edge  # noqa: E402

NAN = float("nan")


def write_case(name, N, C, H, k, stride, training, sel, nans, out_dir):
    """nans: (n, c, h, w) input positions set to NaN."""
    gen = torch.Generator().manual_seed(4321)
    cs, ho = C // k, (H - 1) // stride + 1
    x = torch.randn(N, C, H, H, generator=gen).float()
    for n, c, h, w in nans:
        x[n, c, h, w] = NAN
    w = (0.5 + torch.rand(8, generator=gen)).float()
    e = (0.5 + torch.rand(1, generator=gen)).float()
    branches = [torch.randn(N, cs, ho, ho, generator=gen).float() for _ in range(4 if stride == 1 else 5)]
    running = [torch.tensor([v0 + dv * j for j in range(cs)]).float()
               for v0, dv in ((0.3, 0.1), (0.7, 0.2), (-0.1, 0.05), (0.4, 0.3))]
    grad_out = torch.randn(N, C, ho, ho, generator=gen).float()

    leaves = [t.double().requires_grad_(True) for t in [x, w, e] + branches]
    run = [r.double() for r in running]
    out = mixed_edge(leaves[0], sel, leaves[3:], leaves[1], leaves[2], training, stride, k, run)
    grads = torch.autograd.grad(out, leaves, grad_out.double())

    tensors = {"x": x, "sel": torch.tensor(sel, dtype=torch.int32), "weights": w, "edge_weight": e}
    tensors.update({f"branch.{i}": b for i, b in enumerate(branches)})
    tensors.update({f"running.{q}": r for q, r in enumerate(running)})
    tensors["grad_out"] = grad_out
    tensors["output"] = out.detach()
    for key, g in zip(["x", "weights", "edge_weight"] + [f"branch.{i}" for i in range(len(branches))], grads):
        tensors["grad." + key] = g
    tensors.update({f"running_after.{q}": r for q, r in enumerate(run)})
    safetensors_io.save(os.path.join(out_dir, name + ".safetensors"), tensors,
                        {"generator": "tests/reference/make_mixed_edge_fixtures.py", "torch": torch.__version__,
                         "stride": stride, "k": k, "training": int(training)})


def main():
    out_dir = os.path.join(HERE, "fixtures", "mixed_edge")
    os.makedirs(out_dir, exist_ok=True)
    # Windows with two NaN: (1, 1) and (1, 2) share the 3x3 windows around them; so do (0, 0) and
    # (2, 1), and (4, 3) and (3, 4). Stride 2: (2, 2) and (3, 3) share a 2x2 bypass window, and so
    # do (0, 1) and (1, 0).
    s1 = [(0, 1, 1, 1), (0, 1, 1, 2), (1, 2, 0, 0), (1, 2, 2, 1), (1, 1, 4, 3), (1, 1, 3, 4)]
    s2_bypass = [(0, 1, 2, 2), (0, 1, 3, 3), (1, 1, 0, 1), (1, 1, 1, 0)]
    s2_selected = [(0, 0, 1, 1), (0, 0, 1, 2), (1, 3, 2, 3), (1, 3, 3, 2)]
    write_case("nan_s1_eval", 2, 4, 5, 2, 1, False, [1, 2], s1, out_dir)
    write_case("nan_s2_eval", 2, 4, 6, 2, 2, False, [0, 3], s2_selected + s2_bypass, out_dir)
    write_case("nan_s2_train", 2, 4, 6, 2, 2, True, [0, 3], s2_bypass, out_dir)
    write_case("one_element_s1_train", 1, 4, 1, 2, 1, True, [1, 2], [], out_dir)
    write_case("one_element_s2_train", 1, 4, 2, 2, 2, True, [0, 3], [], out_dir)
    print(f"wrote 5 mixed-edge fixtures to {out_dir}")


if __name__ == "__main__":
    main()
