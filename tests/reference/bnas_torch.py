#!/usr/bin/env python3
"""A PyTorch model of the BNAS-v2 search network (docs/METHOD.md §2-§4), written for the
golden tests of nas/broad_network.{h,cpp}: same structure and module paths as the authors'
model_search_b.py (BNASv2PC with partial channels and edge normalisation, BNASv2CLR with full
channels), generalised like the engine to `layers` cells with broad cells at
(p + 1) * (layers / 2) - 1, a K parameter (1 = full channels), EN on/off and the CIFAR or ImageNet
stem. Fixed channel selection (the first C/K channels), as the authors' code.

EvalNetwork is the evaluation network of a genotype after the authors' model_b.py (NetworkCIFAR),
with the same generalisation and module paths as nas/eval_network.{h,cpp}.

Also counts parameters of the networks in docs/METHOD.md §4 when run directly:
  /usr/bin/python3 tests/reference/bnas_torch.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from nas_operations import PRIMITIVES, FactorizedReduce, ReLUConvBN, make

STEPS = 4
MULTIPLIER = 4
STEM_MULTIPLIER = 3


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class MixedOp(nn.Module):
    def __init__(self, C, stride, k):
        super().__init__()
        self.k, self.stride = k, stride
        self._ops = nn.ModuleList([make(p, C // k, stride, True) for p in PRIMITIVES])

    def forward(self, x, weights):
        if self.k == 1:
            return sum(w * op(x) for w, op in zip(weights, self._ops))
        cs = x.shape[1] // self.k
        picked, rest = x[:, :cs], x[:, cs:]
        mixed = sum(w * op(picked) for w, op in zip(weights, self._ops))
        if self.stride == 2:
            rest = F.max_pool2d(rest, 2, 2)
        return channel_shuffle(torch.cat([mixed, rest], dim=1), self.k)


class SearchCell(nn.Module):
    def __init__(self, C_pp, C_p, C, reduction, reduction_prev, k):
        super().__init__()
        self.preprocess0 = FactorizedReduce(C_pp, C, False) if reduction_prev else ReLUConvBN(C_pp, C, 1, 1, 0, False)
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0, False)
        self._ops = nn.ModuleList()
        for i in range(STEPS):
            for j in range(2 + i):
                self._ops.append(MixedOp(C, 2 if reduction and j < 2 else 1, k))

    def forward(self, s0, s1, weights, edge_weights):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for i in range(STEPS):
            terms = []
            for j, h in enumerate(states):
                y = self._ops[offset + j](h, weights[offset + j])
                terms.append(y if edge_weights is None else edge_weights[offset + j] * y)
            offset += len(states)
            states.append(sum(terms))
        return torch.cat(states[-MULTIPLIER:], dim=1)


def node_softmax(beta):
    parts, start = [], 0
    for i in range(STEPS):
        parts.append(F.softmax(beta[start:start + i + 2], dim=-1))
        start += i + 2
    return torch.cat(parts)


class Stem(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))


class SearchNetwork(nn.Module):
    def __init__(self, C=16, classes=10, layers=2, en_layers=1, k=4, edge_norm=True, imagenet=False, in_ch=3):
        super().__init__()
        self.layers, self.edge_norm = layers, edge_norm
        self.broad = [layers // 2 - 1, layers - 1]
        c_stem = STEM_MULTIPLIER * C
        reduction_prev = False
        if imagenet:
            self.stem0 = nn.Sequential(
                nn.Conv2d(in_ch, c_stem // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_stem // 2),
                nn.ReLU(False), nn.Conv2d(c_stem // 2, c_stem, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c_stem))
            self.stem1 = nn.Sequential(nn.ReLU(False), nn.Conv2d(c_stem, c_stem, 3, stride=2, padding=1, bias=False),
                                       nn.BatchNorm2d(c_stem))
            reduction_prev = True
        else:
            self.stem = Stem(in_ch, c_stem)
        self.imagenet = imagenet
        self.conv_cells = nn.ModuleList()
        self.en_cells = nn.ModuleList()
        self.reduction_convs_gap = nn.ModuleList()
        self.reduction_convs_en = nn.ModuleList()
        self.restricted_convs_gap = nn.ModuleList()
        self.restricted_convs_en = nn.ModuleList()
        self.restricted_ens_gap = nn.ModuleList()
        C_pp, C_p, c = c_stem, c_stem, C
        gap, en = [], []
        for i in range(layers):
            broad = i in self.broad
            if broad:
                self.restricted_convs_gap.append(ReLUConvBN(C_p, c, 1, 1, 0))
                gap.append(c)
                for t in range(len(gap) - 1):
                    self.reduction_convs_gap.append(FactorizedReduce(gap[t], gap[t]))
                c *= 2
            self.conv_cells.append(SearchCell(C_pp, C_p, c, broad, reduction_prev, k))
            reduction_prev = broad
            C_pp, C_p = C_p, MULTIPLIER * c
            if broad:
                c_out = C_p if i == self.broad[-1] else c
                self.restricted_convs_en.append(ReLUConvBN(C_p, c_out, 1, 1, 0))
                en.append(c_out)
                for t in range(len(en) - 1):
                    self.reduction_convs_en.append(FactorizedReduce(en[t], en[t]))
            if i + 1 == layers:
                for g in gap:
                    self.reduction_convs_gap.append(FactorizedReduce(g, g))
        for j in range(en_layers):
            self.en_cells.append(SearchCell(en[0] if j == 0 else C_pp, en[1] if j == 0 else C_p, c, False, False, k))
            C_pp, C_p = C_p, MULTIPLIER * c
            self.restricted_ens_gap.append(ReLUConvBN(C_p, C_p if j + 1 == en_layers else c, 1, 1, 0))
        self.classifier = nn.Linear(sum(gap) + (en_layers - 1) * c + C_p, classes)
        n_edges = sum(2 + i for i in range(STEPS))
        self.alpha_conv = nn.Parameter(1e-3 * torch.randn(n_edges, len(PRIMITIVES)))
        self.alpha_enh = nn.Parameter(1e-3 * torch.randn(n_edges, len(PRIMITIVES)))
        self.beta_conv = nn.Parameter(1e-3 * torch.randn(n_edges))
        self.beta_enh = nn.Parameter(1e-3 * torch.randn(n_edges))

    def arch_names(self):
        return ['alpha_conv', 'alpha_enh'] + (['beta_conv', 'beta_enh'] if self.edge_norm else [])

    def weight_parameters(self):
        return [(n, p) for n, p in self.named_parameters() if n not in ('alpha_conv', 'alpha_enh', 'beta_conv', 'beta_enh')]

    def forward(self, x):
        w_conv, w_enh = F.softmax(self.alpha_conv, dim=-1), F.softmax(self.alpha_enh, dim=-1)
        b_conv = node_softmax(self.beta_conv) if self.edge_norm else None
        b_enh = node_softmax(self.beta_enh) if self.edge_norm else None
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        gap, en = [], []
        rg = re = tap = 0
        for i, cell in enumerate(self.conv_cells):
            broad = i in self.broad
            if broad:
                gap.append(self.restricted_convs_gap[tap](s1))
                for t in range(len(gap) - 1):
                    gap[t] = self.reduction_convs_gap[rg](gap[t])
                    rg += 1
            s0, s1 = s1, cell(s0, s1, w_conv, b_conv)
            if broad:
                en.append(self.restricted_convs_en[tap](s1))
                for t in range(len(en) - 1):
                    en[t] = self.reduction_convs_en[re](en[t])
                    re += 1
                tap += 1
            if i + 1 == self.layers:
                for t in range(len(gap)):
                    gap[t] = self.reduction_convs_gap[rg](gap[t])
                    rg += 1
        head = list(gap)
        for j, cell in enumerate(self.en_cells):
            if j == 0:
                s0, s1 = s1, cell(en[0], en[1], w_enh, b_enh)
            else:
                s0, s1 = s1, cell(s0, s1, w_enh, b_enh)
            head.append(self.restricted_ens_gap[j](s1))
        out = torch.cat(head, dim=1).mean(dim=(2, 3))
        return self.classifier(out)


def published_genotype(name):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'nas', 'published_genotypes.json')
    with open(path) as f:
        data = json.load(f)
    return data['genotypes'][name]


class EvalCell(nn.Module):
    def __init__(self, entries, concat, C_pp, C_p, C, reduction, reduction_prev):
        super().__init__()
        self.preprocess0 = FactorizedReduce(C_pp, C) if reduction_prev else ReLUConvBN(C_pp, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0)
        self.entries, self.concat = entries, concat
        self._ops = nn.ModuleList([make(op, C, 2 if reduction and inp < 2 else 1, False) for op, inp in entries])

    def forward(self, s0, s1):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(len(self.entries) // 2):
            states.append(sum(self._ops[2 * i + q](states[self.entries[2 * i + q][1]]) for q in range(2)))
        return torch.cat([states[i] for i in self.concat], dim=1)


class EvalNetwork(nn.Module):
    """Training-mode forward without drop-path (drop_prob 0)."""

    def __init__(self, genotype, C=48, classes=10, layers=6, en_layers=2, in_ch=3):
        super().__init__()
        self.broad = [layers // 2 - 1, layers - 1]
        self.stem = Stem(in_ch, STEM_MULTIPLIER * C)
        self.conv_cells = nn.ModuleList()
        self.en_cells = nn.ModuleList()
        self.reduction_convs_gap = nn.ModuleList()
        self.reduction_convs_en = nn.ModuleList()
        self.restricted_convs_gap = nn.ModuleList()
        self.restricted_convs_en = nn.ModuleList()
        self.restricted_ens_gap = nn.ModuleList()
        normal = [tuple(e) for e in genotype['normal']]
        enh = [tuple(e) for e in genotype['reduce']]
        C_pp = C_p = STEM_MULTIPLIER * C
        c = C
        reduction_prev = False
        gap, en = [], []
        for i in range(layers):
            broad = i in self.broad
            if broad:
                c *= 2
            cell = EvalCell(normal, genotype['normal_concat'], C_pp, C_p, c, broad, reduction_prev)
            mult = len(genotype['normal_concat'])
            if i + 1 in self.broad:
                self.restricted_convs_gap.append(ReLUConvBN(mult * c, c, 1, 1, 0))
                gap.append(c)
                for t in range(len(gap) - 1):
                    self.reduction_convs_gap.append(FactorizedReduce(gap[t], gap[t]))
            reduction_prev = broad
            self.conv_cells.append(cell)
            C_pp, C_p = C_p, mult * c
            if broad:
                c_out = c * mult if i == self.broad[-1] else c
                en.append(c_out)
                self.restricted_convs_en.append(ReLUConvBN(C_p, c_out, 1, 1, 0))
                for t in range(len(en) - 1):
                    self.reduction_convs_en.append(FactorizedReduce(en[t], en[t]))
            if i + 1 == layers:
                for g in gap:
                    self.reduction_convs_gap.append(FactorizedReduce(g, g))
        for j in range(en_layers):
            self.en_cells.append(EvalCell(enh, genotype['reduce_concat'], en[0] if j == 0 else C_pp, C_p, c, False, False))
            C_pp, C_p = C_p, len(genotype['reduce_concat']) * c
            self.restricted_ens_gap.append(ReLUConvBN(C_p, C_p if j + 1 == en_layers else c, 1, 1, 0))
        self.classifier = nn.Linear(sum(gap) + (en_layers - 1) * c + C_p, classes)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        gap, en = [], []
        rg = re = tap = 0
        for i, cell in enumerate(self.conv_cells):
            s0, s1 = s1, cell(s0, s1)
            if i + 1 in self.broad:
                gap.append(self.restricted_convs_gap[tap](s1))
                for t in range(len(gap) - 1):
                    gap[t] = self.reduction_convs_gap[rg](gap[t])
                    rg += 1
            if i in self.broad:
                en.append(self.restricted_convs_en[tap](s1))
                for t in range(len(en) - 1):
                    en[t] = self.reduction_convs_en[re](en[t])
                    re += 1
                if i == self.broad[-1]:
                    for t in range(len(gap)):
                        gap[t] = self.reduction_convs_gap[rg](gap[t])
                        rg += 1
                tap += 1
        head = list(gap)
        for j, cell in enumerate(self.en_cells):
            s0, s1 = s1, cell(en[0], en[1]) if j == 0 else cell(s0, s1)
            head.append(self.restricted_ens_gap[j](s1))
        return self.classifier(torch.cat(head, dim=1).mean(dim=(2, 3)))


def count(net):
    return sum(p.numel() for _, p in net.weight_parameters())


if __name__ == '__main__':
    print('full-channel supernet', count(SearchNetwork(k=1, edge_norm=False)))
    print('PC supernet (K=4)', count(SearchNetwork(k=4)))
    print('ImageNet search (K=2)', count(SearchNetwork(k=2, imagenet=True, classes=1000)))
    for name in ('BNASv2_PC_cifar_v1', 'BNASv2_CLR_v1', 'DARTS_V2'):
        g = published_genotype(name)
        print(name, 'C=48', sum(p.numel() for p in EvalNetwork(g).parameters()),
              'C=36', sum(p.numel() for p in EvalNetwork(g, C=36).parameters()))
    for C in (4, 8):
        print('C=%d full' % C, count(SearchNetwork(C=C, k=1, edge_norm=False)), 'PC', count(SearchNetwork(C=C, k=4)))
