#!/usr/bin/env python3
"""Writes the golden fixtures of tests/search/test_search_golden.cpp: two search steps
(first-order architecture step, then weight step) of the TinySupernet (tests/search/tiny_supernet.h)
mirrored in PyTorch, float64.

Model: stem = Sequential(Conv2d(3, C, 3, padding=1, bias=False), BatchNorm2d(C)); two search
cells (cells.0 on (stem, stem) with alpha_conv/beta_conv, cells.1 on (stem, cells.0) with
alpha_enh/beta_enh), each preprocess0/1 = ReLUConvBN 1x1 (non-affine) to C, 14 DARTS edges of
MixedOps over the 8 search-form candidates (nas_operations.make), partial channels (first C/K
channels, channel shuffle) and edge normalisation as in PC-DARTS; classifier = Linear(4C, classes)
on the global average pool of cells.1.

Each step, as in the search loop: Adam(alpha/beta; lr 6e-3, betas (0.5, 0.999), eps 1e-8,
weight_decay 1e-3) on the validation loss, then SGD(weights; lr 0.1, momentum 0.9,
weight_decay 3e-4) on the training loss after clip_grad_norm_(5), all in training mode.

One file per case, fixtures/search/<case>.safetensors:
  init.<name>               the initial state_dict (weights and BN buffers; no num_batches_tracked)
  init.arch.<name>          the initial architecture parameters
  train.<s>.images/labels   the training batch of step s (labels int32)
  valid.<s>.images/labels   the validation batch of step s
  step<s>.arch_grad.<name>  the architecture gradient of step s
  step<s>.val_loss          the validation loss of step s
  step<s>.train_loss        the training loss of step s
  step<S-1>.state.<name>    the state_dict after the last step
  step<s>.arch.<name>       the architecture parameters after step s
Rerun: /usr/bin/python3 tests/reference/make_search_fixtures.py
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
from nas_operations import PRIMITIVES, ReLUConvBN, make  # noqa: E402

torch.set_default_dtype(torch.float64)
OUT = os.path.join(HERE, "fixtures", "search")
STEPS = 2
N, H, CLASSES = 4, 8, 4

CASES = [
    dict(name="tiny_full", C=4, K=1, en=False, seed=1),
    dict(name="tiny_pc_en", C=4, K=2, en=True, seed=2),
]


def channel_shuffle(x, groups):
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


class MixedOp(nn.Module):
    def __init__(self, C, K):
        super().__init__()
        self.K = K
        self._ops = nn.ModuleList([make(p, C // K, 1, True) for p in PRIMITIVES])

    def forward(self, x, weights):
        c = x.shape[1] // self.K
        xs = x[:, :c]
        y = sum(w * op(xs) for w, op in zip(weights, self._ops))
        if self.K == 1:
            return y
        return channel_shuffle(torch.cat([y, x[:, c:]], dim=1), self.K)


class Cell(nn.Module):
    def __init__(self, C_pp, C_p, C, K):
        super().__init__()
        self.preprocess0 = ReLUConvBN(C_pp, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0, affine=False)
        self._ops = nn.ModuleList([MixedOp(C, K) for _ in range(14)])

    def forward(self, s0, s1, alpha, beta):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        w = F.softmax(alpha, dim=-1)
        offset = 0
        for j in range(4):
            n = j + 2
            outs = [self._ops[offset + i](h, w[offset + i]) for i, h in enumerate(states)]
            if beta is not None:
                b = F.softmax(beta[offset:offset + n], dim=-1)
                node = sum(b[i] * o for i, o in enumerate(outs))
            else:
                node = sum(outs)
            offset += n
            states.append(node)
        return torch.cat(states[2:], dim=1)


class Tiny(nn.Module):
    def __init__(self, C, K, en):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cells = nn.ModuleList([Cell(C, C, C, K), Cell(C, 4 * C, C, K)])
        self.classifier = nn.Linear(4 * C, CLASSES)
        self.alpha_conv = nn.Parameter(0.5 * torch.randn(14, 8))
        self.alpha_enh = nn.Parameter(0.5 * torch.randn(14, 8))
        self.en = en
        if en:
            self.beta_conv = nn.Parameter(0.5 * torch.randn(14))
            self.beta_enh = nn.Parameter(0.5 * torch.randn(14))

    def arch(self):
        names = ["alpha_conv", "alpha_enh"] + (["beta_conv", "beta_enh"] if self.en else [])
        return [(n, getattr(self, n)) for n in names]

    def weights(self):
        return [p for n, p in self.named_parameters() if not n.startswith(("alpha", "beta"))]

    def forward(self, x):
        s = self.stem(x)
        c0 = self.cells[0](s, s, self.alpha_conv, self.beta_conv if self.en else None)
        c1 = self.cells[1](s, c0, self.alpha_enh, self.beta_enh if self.en else None)
        return self.classifier(F.adaptive_avg_pool2d(c1, 1).flatten(1))


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked") and not k.startswith(("alpha", "beta"))}


def run(case):
    torch.manual_seed(case["seed"])
    model = Tiny(case["C"], case["K"], case["en"])
    model.train()
    out = {}
    for k, v in state(model).items():
        out["init." + k] = v
    for n, p in model.arch():
        out["init.arch." + n] = p.detach().clone()
    aopt = torch.optim.Adam([p for _, p in model.arch()], lr=6e-3, betas=(0.5, 0.999), eps=1e-8,
                            weight_decay=1e-3)
    wopt = torch.optim.SGD(model.weights(), lr=0.1, momentum=0.9, weight_decay=3e-4)
    for s in range(STEPS):
        tx, vx = torch.randn(N, 3, H, H), torch.randn(N, 3, H, H)
        ty, vy = torch.randint(0, CLASSES, (N,)), torch.randint(0, CLASSES, (N,))
        out[f"train.{s}.images"], out[f"train.{s}.labels"] = tx, ty.to(torch.int32)
        out[f"valid.{s}.images"], out[f"valid.{s}.labels"] = vx, vy.to(torch.int32)
        # Architecture step (first order).
        aopt.zero_grad()
        vloss = F.cross_entropy(model(vx), vy)
        arch = [p for _, p in model.arch()]
        grads = torch.autograd.grad(vloss, arch)
        for (n, p), g in zip(model.arch(), grads):
            p.grad = g.clone()
            out[f"step{s}.arch_grad.{n}"] = g.clone()
        aopt.step()
        out[f"step{s}.val_loss"] = vloss.detach().reshape(1)
        # Weight step.
        wopt.zero_grad()
        loss = F.cross_entropy(model(tx), ty)
        wg = torch.autograd.grad(loss, model.weights())
        for p, g in zip(model.weights(), wg):
            p.grad = g.clone()
        nn.utils.clip_grad_norm_(model.weights(), 5.0)
        wopt.step()
        out[f"step{s}.train_loss"] = loss.detach().reshape(1)
        if s == STEPS - 1:
            for k, v in state(model).items():
                out[f"step{s}.state.{k}"] = v
        for n, p in model.arch():
            out[f"step{s}.arch.{n}"] = p.detach().clone()
    os.makedirs(OUT, exist_ok=True)
    safetensors_io.save(os.path.join(OUT, case["name"] + ".safetensors"), out,
                        metadata={"steps": STEPS, "C": case["C"], "K": case["K"], "en": int(case["en"])})
    print(case["name"], "written:", len(out), "tensors")


if __name__ == "__main__":
    for c in CASES:
        run(c)
