#!/usr/bin/env python3
"""Golden fixtures for the whole BNAS-v2 search network (tests/nas/test_broad_network.cpp):
the PC supernet (K = 4, edge normalisation) and the full-channel supernet (K = 1, no EN), both at
C = 4 with the real structure (layers 2, en_layers 1, 10 classes, 32x32 CIFAR stem), built by
bnas_torch.py (module paths = the authors' = the engine's).

For each network NAME in (pc, full) it writes to tests/reference/fixtures/nas/:
  NAME_state.safetensors   the initial weights by state_dict name, which the C++ test loads with
                           load_into into named_parameters() (so any name or shape difference
                           fails there; BN buffers start at 0 / 1 on both sides and their names
                           are checked through running.<name> below);
  NAME_golden.safetensors  input (2 x 3 x 32 x 32), labels, the arch parameters (alpha_conv,
                           alpha_enh[, beta_conv, beta_enh]; 0.3 * N(0, 1), larger than the
                           1e-3 init so that the softmaxes are far from uniform), and after one
                           training-mode forward and cross-entropy backward: logits, loss,
                           grad.<name> for every weight and arch parameter, running.<name> for
                           every BN buffer.
It also writes eval_state / eval_golden for the evaluation network of BNASv2_PC_cifar_v1
(bnas_torch.EvalNetwork, the authors' NetworkCIFAR; layers 6, en_layers 2, C = 2 to keep the
fixture small, training mode, drop_prob 0): the same tensors without arch parameters.
Values are computed in float64 from float32-representable weights and inputs, and stored in
float32 to keep the fixtures small (about 1.9 MB in all): the C++ test computes in float64 and compares
with a relative tolerance of 1e-6 (float32 storage rounds by 6e-8 relative).

Run with Debian's python3-torch: /usr/bin/python3 tests/reference/make_network_fixtures.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bnas_torch import EvalNetwork, SearchNetwork, published_genotype  # noqa: E402
import safetensors_io  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'nas')


def f32(t):
    return t.detach().to(torch.float32)


def build(name, net):
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.float().double())
        for n in getattr(net, 'arch_names', lambda: [])():
            a = getattr(net, n)
            a.copy_((0.3 * torch.randn(a.shape)).float().double())
    x = torch.randn(2, 3, 32, 32).float().double()
    labels = torch.tensor([3, 7], dtype=torch.int32)
    state = {n: f32(p) for n, p in (net.weight_parameters() if hasattr(net, 'weight_parameters')
                                      else net.named_parameters())}
    safetensors_io.save(os.path.join(OUT, name + '_state.safetensors'), state)

    net.train()
    logits = net(x)
    loss = F.cross_entropy(logits, labels.long())
    weights = net.weight_parameters() if hasattr(net, 'weight_parameters') else list(net.named_parameters())
    arch = [(n, getattr(net, n)) for n in getattr(net, 'arch_names', lambda: [])()]
    grads = torch.autograd.grad(loss, [p for _, p in weights] + [p for _, p in arch])
    golden = {'input': f32(x), 'labels': labels, 'logits': f32(logits), 'loss': f32(loss.view(1))}
    for n, p in arch:
        golden[n] = f32(p)
    for (n, _), g in zip(weights + arch, grads):
        golden['grad.' + n] = f32(g)
    for n, b in net.named_buffers():
        if not n.endswith('num_batches_tracked'):
            golden['running.' + n] = f32(b)
    safetensors_io.save(os.path.join(OUT, name + '_golden.safetensors'), golden,
                        {'generator': 'tests/reference/make_network_fixtures.py', 'torch': torch.__version__})
    print(name, 'weights', sum(p.numel() for _, p in weights), 'loss', loss.item())


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    build('pc', SearchNetwork(C=4, classes=10, layers=2, en_layers=1, k=4, edge_norm=True))
    torch.manual_seed(2)
    build('full', SearchNetwork(C=4, classes=10, layers=2, en_layers=1, k=1, edge_norm=False))
    torch.manual_seed(3)
    build('eval', EvalNetwork(published_genotype('BNASv2_PC_cifar_v1'), C=2, classes=10, layers=6, en_layers=2))


if __name__ == '__main__':
    main()
