#!/usr/bin/env python3
"""Reference numbers for tests/nas/test_operations.cpp: the authors' operations (DARTS /
PC-DARTS / BNASv2 operations.py, the search-form pool wrapped as nn.Sequential(pool,
BatchNorm2d(C, affine=False)) like their MixedOp) in float64, with deterministic weights and
inputs defined by formulas that the C++ test reproduces:
  parameter k (named_parameters order), element i:  0.5 * sin(0.3 i + 0.7 k)
  input x (N=2, C=4, 8x8), element i:                sin(0.05 i + 0.1) + 0.2 cos(0.9 i)
  output weights R, element i:                       cos(0.37 i)
For each op it prints, in training mode (batch statistics), S = sum(out * R), the output shape,
Gx = sum(dS/dx * sin(0.11 i)) and Gw = sum over parameters k of sum(dS/dp_k * sin(0.13 i + k)).
Run with Debian's python3-torch: /usr/bin/python3 tests/reference/nas_operations.py
"""
import math
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class ReLUConvBN(nn.Module):
    def __init__(self, C_in, C_out, k, stride, pad, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(False), nn.Conv2d(C_in, C_out, k, stride=stride, padding=pad, bias=False),
                                nn.BatchNorm2d(C_out, affine=affine))

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    def __init__(self, C_in, C_out, k, stride, pad, dil, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(False),
                                nn.Conv2d(C_in, C_in, k, stride, pad, dilation=dil, groups=C_in, bias=False),
                                nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out, affine=affine))

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    def __init__(self, C_in, C_out, k, stride, pad, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(False), nn.Conv2d(C_in, C_in, k, stride, pad, groups=C_in, bias=False),
                                nn.Conv2d(C_in, C_in, 1, bias=False), nn.BatchNorm2d(C_in, affine=affine),
                                nn.ReLU(False), nn.Conv2d(C_in, C_in, k, 1, pad, groups=C_in, bias=False),
                                nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out, affine=affine))

    def forward(self, x):
        return self.op(x)


class FactorizedReduce(nn.Module):
    def __init__(self, C_in, C_out, affine=True):
        super().__init__()
        self.relu = nn.ReLU(False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, 2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x.mul(0.) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.)


PRIMITIVES = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
              'dil_conv_3x3', 'dil_conv_5x5']


def make(p, C, stride, search):
    affine = not search
    pool = (lambda m: nn.Sequential(m, nn.BatchNorm2d(C, affine=False))) if search else (lambda m: m)
    return {
        'none': lambda: Zero(stride),
        'max_pool_3x3': lambda: pool(nn.MaxPool2d(3, stride, 1)),
        'avg_pool_3x3': lambda: pool(nn.AvgPool2d(3, stride, 1, count_include_pad=False)),
        'skip_connect': lambda: nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine),
        'sep_conv_3x3': lambda: SepConv(C, C, 3, stride, 1, affine),
        'sep_conv_5x5': lambda: SepConv(C, C, 5, stride, 2, affine),
        'dil_conv_3x3': lambda: DilConv(C, C, 3, stride, 2, 2, affine),
        'dil_conv_5x5': lambda: DilConv(C, C, 5, stride, 4, 2, affine),
    }[p]()


def formula(n, f):
    return torch.tensor([f(i) for i in range(n)])


def run(m, shape):
    params = list(m.parameters())
    with torch.no_grad():
        for k, p in enumerate(params):
            p.copy_(formula(p.numel(), lambda i: 0.5 * math.sin(0.3 * i + 0.7 * k)).view_as(p))
    n = 1
    for d in shape:
        n *= d
    x = formula(n, lambda i: math.sin(0.05 * i + 0.1) + 0.2 * math.cos(0.9 * i)).view(shape).requires_grad_()
    m.train()
    out = m(x)
    R = formula(out.numel(), lambda i: math.cos(0.37 * i)).view_as(out)
    S = (out * R).sum()
    grads = torch.autograd.grad(S, [x] + params, allow_unused=True)
    gx = (grads[0] * formula(x.numel(), lambda i: math.sin(0.11 * i)).view_as(x)).sum().item() \
        if grads[0] is not None else 0.0
    gw = 0.0
    for k, (g, p) in enumerate(zip(grads[1:], params)):
        gw += (g * formula(p.numel(), lambda i: math.sin(0.13 * i + k)).view_as(p)).sum().item()
    return S.item(), list(out.shape), gx, gw


def main():
    shape = (2, 4, 8, 8)
    for search in (True, False):
        for stride in (1, 2):
            for p in PRIMITIVES:
                S, oshape, gx, gw = run(make(p, 4, stride, search), shape)
                print('    {"%s", %d, %s, %.17g, %.17g, %.17g, {%s}},' % (
                    p, stride, 'OpForm::kSearch' if search else 'OpForm::kEval', S, gx, gw,
                    ', '.join(str(d) for d in oshape)))
    fr = FactorizedReduce(6, 8, True)
    S, oshape, gx, gw = run(fr, (2, 6, 6, 10))
    print('    // FactorizedReduce(6, 8), input 2x6x6x10: %.17g, %.17g, %.17g, %s' % (S, gx, gw, oshape))
    rcb = ReLUConvBN(4, 6, 3, 2, 1, True)
    S, oshape, gx, gw = run(rcb, shape)
    print('    // ReLUConvBN(4, 6, 3, 2, 1): %.17g, %.17g, %.17g, %s' % (S, gx, gw, oshape))


if __name__ == '__main__':
    main()
