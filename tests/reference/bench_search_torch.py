#!/usr/bin/env python3
"""Seconds per first-order search step of the PyTorch model of the search network (bnas_torch.py),
the same step bnas_bench_search times: an architecture step (forward on a validation batch,
backward to alpha and beta, Adam) and a weight step (forward on a training batch, backward to
the weights, SGD with momentum and weight decay, gradient clipping at 5), on the CIFAR search
network (C = 16, layers 2, en_layers 1, 32x32, 10 classes) with random data. Prints one line per
configuration in bnas_bench_search's key=value form, so the two can be compared in one run on one
machine (tools/gpu_check.sh does on a GPU):
  /usr/bin/python3 tests/reference/bench_search_torch.py [--device cpu|cuda] [--batch N] [--steps N]
      [--warmup N] [--threads N] [--channels pc|full|both]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bnas_torch import SearchNetwork  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(channels, device, batch, steps, warmup):
    torch.manual_seed(1)
    pc = channels == "pc"
    net = SearchNetwork(C=16, k=4 if pc else 1, edge_norm=pc).to(device)
    arch = [p for n, p in net.named_parameters() if n in net.arch_names()]
    weights = [p for _, p in net.weight_parameters()]
    w_opt = torch.optim.SGD(weights, lr=0.1, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(arch, lr=6e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    xt, yt = torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)
    xv, yv = torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)

    def step():
        a_opt.zero_grad()
        F.cross_entropy(net(xv), yv).backward(inputs=arch)
        a_opt.step()
        w_opt.zero_grad()
        F.cross_entropy(net(xt), yt).backward(inputs=weights)
        torch.nn.utils.clip_grad_norm_(weights, 5.0)
        w_opt.step()

    net.train()
    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    sec = (time.perf_counter() - t0) / steps
    print(f"bench=search_step_torch device={device} channels={channels} order=first batch={batch} "
          f"s_per_step={sec:.4g} images_per_s={batch / sec:.4g} steps={steps} torch={torch.__version__} "
          f"threads={torch.get_num_threads()}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--channels", choices=["pc", "full", "both"], default="both")
    a = ap.parse_args()
    device = torch.device(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    gpu = device.type == "cuda"
    batch = a.batch or (256 if gpu else 64)
    steps = a.steps or (10 if gpu else 1)
    warmup = a.warmup if a.warmup is not None else (3 if gpu else 0)
    for channels in (["pc", "full"] if a.channels == "both" else [a.channels]):
        run(channels, device, batch, steps, warmup)


if __name__ == "__main__":
    main()
