#!/usr/bin/env python3
"""Writes the golden fixtures of the optimizer tests (tests/engine/test_optim_golden.cpp).

Optimizer cases: a few parameter tensors with fixed random gradients for 3 steps, run through
torch.optim.SGD / torch.optim.Adam (optionally after torch.nn.utils.clip_grad_norm_), once in
float32 and once in float64 from the same float32 inputs. One file per case,
fixtures/optim/<name>.safetensors, holding
  param.<i>                initial parameters (F32)
  grad.<s>.<i>             the gradient given at step s (F32)
  <dt>.param.<s>.<i>       parameters after step s, dt in {f32, f64} (stored in that dtype)
  <dt>.norm.<s>            the total norm clip_grad_norm_ returned at step s (clipping cases)
  <dt>.state.<name>        the optimizer state after the last step, named as the engine names
                           it (step, momentum.<i>, exp_avg.<i>, exp_avg_sq.<i>)
and the hyperparameters as metadata.

Schedules: fixtures/optim/schedule.safetensors holds, per case k, the learning rate at epochs
0..epochs-1 ("lr.<k>", F64) from torch's CosineAnnealingLR (T_max = epochs, eta_min = lr_min),
or, for warm-up cases, from LambdaLR with the engine's documented rule (engine/schedule.h);
metadata "case.<k>" = "lr,lr_min,epochs,warmup".

Rerun: /usr/bin/python3 tests/reference/make_optim_fixtures.py
"""
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "optim")
SHAPES = [(4, 3, 3, 3), (16,), (10, 8)]
STEPS = 3

CASES = [
    # SGD with momentum, weight decay and clipping at a max_norm far below the gradients' norm.
    dict(name="sgd_momentum_wd_clip", opt="sgd", lr=0.1, momentum=0.9, weight_decay=1e-2, max_norm=1.0),
    dict(name="sgd_momentum_wd", opt="sgd", lr=0.025, momentum=0.9, weight_decay=3e-4, max_norm=0.0),
    dict(name="sgd_plain", opt="sgd", lr=0.05, momentum=0.0, weight_decay=0.0, max_norm=0.0),
    dict(name="adam_wd", opt="adam", lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, max_norm=0.0),
    # The DARTS/BNAS architect's settings.
    dict(name="adam_arch", opt="adam", lr=3e-4, beta1=0.5, beta2=0.999, eps=1e-8, weight_decay=1e-3, max_norm=0.0),
    dict(name="adam_clip", opt="adam", lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, max_norm=2.0),
]

SCHEDULES = [
    dict(lr=0.025, lr_min=0.001, epochs=50, warmup=0),   # the BNAS search network
    dict(lr=0.1, lr_min=0.0, epochs=50, warmup=0),
    dict(lr=0.05, lr_min=1e-4, epochs=50, warmup=5),
]


def run_case(case, params0, grads, dtype):
    params = [p.to(dtype).clone().requires_grad_(True) for p in params0]
    if case["opt"] == "sgd":
        opt = torch.optim.SGD(params, lr=case["lr"], momentum=case["momentum"], weight_decay=case["weight_decay"])
    else:
        opt = torch.optim.Adam(params, lr=case["lr"], betas=(case["beta1"], case["beta2"]), eps=case["eps"],
                               weight_decay=case["weight_decay"])
    pre = "f32" if dtype == torch.float32 else "f64"
    out = {}
    for s in range(STEPS):
        opt.zero_grad(set_to_none=False)
        for p, g in zip(params, grads[s]):
            p.grad = g.to(dtype).clone()
        if case["max_norm"] > 0:
            out[f"{pre}.norm.{s}"] = torch.nn.utils.clip_grad_norm_(params, case["max_norm"]).reshape(1).clone()
        opt.step()
        for i, p in enumerate(params):
            out[f"{pre}.param.{s}.{i}"] = p.detach().clone()
    for i, p in enumerate(params):
        st = opt.state[p]
        if case["opt"] == "sgd":
            if case["momentum"] != 0:
                out[f"{pre}.state.momentum.{i}"] = st["momentum_buffer"].clone()
        else:
            out[f"{pre}.state.exp_avg.{i}"] = st["exp_avg"].clone()
            out[f"{pre}.state.exp_avg_sq.{i}"] = st["exp_avg_sq"].clone()
            out[f"{pre}.state.step"] = torch.tensor([int(st["step"].item())], dtype=torch.int32)
    if case["opt"] == "sgd":
        out[f"{pre}.state.step"] = torch.tensor([STEPS], dtype=torch.int32)
    return out


def write_case(case):
    gen = torch.Generator().manual_seed(20261128)
    params0 = [torch.randn(s, generator=gen) for s in SHAPES]
    grads = [[torch.randn(s, generator=gen) for s in SHAPES] for _ in range(STEPS)]
    tensors = {f"param.{i}": p for i, p in enumerate(params0)}
    for s in range(STEPS):
        for i, g in enumerate(grads[s]):
            tensors[f"grad.{s}.{i}"] = g
    tensors.update(run_case(case, params0, grads, torch.float32))
    tensors.update(run_case(case, params0, grads, torch.float64))
    meta = {k: (repr(v) if isinstance(v, float) else v) for k, v in case.items() if k != "name"}
    meta.update(steps=STEPS, params=len(SHAPES), generator="tests/reference/make_optim_fixtures.py",
                torch=torch.__version__)
    safetensors_io.save(os.path.join(OUT, case["name"] + ".safetensors"), tensors, meta)


def schedule_values(c):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=c["lr"])
    if c["warmup"] == 0:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c["epochs"], eta_min=c["lr_min"])
    else:
        def factor(e):  # the rule of engine/schedule.h, as a multiple of the base rate
            if e < c["warmup"]:
                return (e + 1) / c["warmup"]
            return (c["lr_min"] + (c["lr"] - c["lr_min"]) * (1 + math.cos(math.pi * e / c["epochs"])) / 2) / c["lr"]
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    vals = []
    for _ in range(c["epochs"]):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(vals, dtype=torch.float64)


def write_schedules():
    tensors, meta = {}, {"generator": "tests/reference/make_optim_fixtures.py", "torch": torch.__version__}
    for k, c in enumerate(SCHEDULES):
        tensors[f"lr.{k}"] = schedule_values(c)
        meta[f"case.{k}"] = f"{c['lr']!r},{c['lr_min']!r},{c['epochs']},{c['warmup']}"
    meta["cases"] = len(SCHEDULES)
    safetensors_io.save(os.path.join(OUT, "schedule.safetensors"), tensors, meta)


def main():
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        write_case(case)
    write_schedules()
    print(f"wrote {len(CASES) + 1} fixtures to {OUT}")


if __name__ == "__main__":
    main()
