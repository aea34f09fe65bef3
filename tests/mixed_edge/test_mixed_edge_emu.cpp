// The CUDA kernels of kernels/cuda/mixed_edge.cu, converted to host code by emulator/convert.py
// --test (64-thread blocks) and run on the emulated CUDA device (real barriers and shuffles, device
// memory the host cannot touch), against the CPU reference kernels: outputs, statistics, running
// statistics, bypass lists and every gradient, for every requested-gradient subset. This checks the
// CUDA launch code's indexing, chunking, block reductions and workspace layout on machines without
// a GPU; the gpu-labelled test_mixed_edge_gpu checks the real thing where there is one.
#include "mixed_edge_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include <gtest/gtest.h>

#include <random>

#include "kernels/cpu/mixed_edge.h"
#include "kernels/mixed_edge_math.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace me = kernels::mixed_edge;
namespace gpu = kernels::cuda_emu_mixed_edge;

struct Case {
  int N, C, H, W, k, stride;
  bool random, training, edge_weight;
  int extra_channels;  // x is a channel slice of a tensor with this many more channels
};

std::string case_name(const Case& c) {
  return "N" + std::to_string(c.N) + "_C" + std::to_string(c.C) + "_" + std::to_string(c.H) + "x" +
         std::to_string(c.W) + "_k" + std::to_string(c.k) + "_s" + std::to_string(c.stride) +
         (c.random ? "_random" : "_fixed") + (c.training ? "_train" : "_eval") + (c.edge_weight ? "" : "_noew") +
         (c.extra_channels ? "_slice" : "");
}

double rel(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = 1e-12;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return INFINITY;
    num = std::max(num, std::abs(double(a[i]) - double(b[i])));
    den = std::max(den, std::abs(double(b[i])));
  }
  return num / den;
}

class MixedEdgeEmulatedCuda : public ::testing::TestWithParam<Case> {};

TEST_P(MixedEdgeEmulatedCuda, MatchesCpuReference) {
  const Case c = GetParam();
  std::mt19937 rng(1234 + c.C + c.H * 7 + c.k * 31 + c.stride);
  std::normal_distribution<float> normal;
  me::Dims d{};
  d.N = c.N, d.C = c.C, d.H = c.H, d.W = c.W, d.k = c.k, d.stride = c.stride, d.Cs = c.C / c.k;
  d.Ho = (c.H - 1) / c.stride + 1, d.Wo = (c.W - 1) / c.stride + 1;
  d.num_branches = c.stride == 1 ? 4 : 5;
  const int64_t HW = int64_t(c.H) * c.W, HoWo = int64_t(d.Ho) * d.Wo, Ctot = c.C + c.extra_channels;
  d.x_batch_stride = Ctot * HW;
  auto randn = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = normal(rng);
    return v;
  };
  std::vector<float> xbuf = randn(c.N * Ctot * HW);
  const int64_t x_offset = int64_t(c.extra_channels / 2) * HW;  // a slice in the middle
  const float* x = xbuf.data() + x_offset;
  std::vector<std::vector<float>> br;
  for (int i = 0; i < d.num_branches; ++i) br.push_back(randn(int64_t(c.N) * d.Cs * HoWo));
  const float* bp[me::kMaxBranches] = {};
  for (int i = 0; i < d.num_branches; ++i) bp[i] = br[static_cast<size_t>(i)].data();
  std::vector<float> w = randn(8);
  for (float& v : w) v = std::abs(v) + 0.1f;
  const std::vector<float> ew{0.7f};
  const float* ewp = c.edge_weight ? ew.data() : nullptr;
  std::vector<int32_t> sel;
  if (c.random) {
    std::vector<int32_t> perm(static_cast<size_t>(c.C));
    for (int i = 0; i < c.C; ++i) perm[static_cast<size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    sel.assign(perm.begin(), perm.begin() + d.Cs);
    std::sort(sel.begin(), sel.end());
  }
  const int32_t* selp = c.random ? sel.data() : nullptr;
  std::vector<float> running[4];
  for (int q = 0; q < 4; ++q) {
    running[q] = randn(d.Cs);
    if (q % 2)
      for (float& v : running[q]) v = std::abs(v) + 0.5f;
  }

  // Device copies of the inputs (the branch pointer tables stay host arrays).
  DeviceBuffer dxbuf(xbuf), dw(w), dew(ew);
  DeviceBuffer dsel(sel);
  const float* dx = dxbuf.get() + x_offset;
  std::vector<DeviceBuffer<float>> dbr;
  const float* dbp[me::kMaxBranches] = {};
  for (int i = 0; i < d.num_branches; ++i) {
    dbr.emplace_back(br[static_cast<size_t>(i)]);
    dbp[i] = dbr.back().get();
  }
  const float* dewp = c.edge_weight ? dew.get() : nullptr;
  const int32_t* dselp = c.random ? dsel.get() : nullptr;

  // Forward.
  std::vector<float> run_cpu[4];
  std::vector<DeviceBuffer<float>> run_emu;
  for (int q = 0; q < 4; ++q) {
    run_cpu[q] = running[q];
    run_emu.emplace_back(running[q]);
  }
  const int64_t ny = int64_t(c.N) * c.C * HoWo;
  std::vector<float> y_cpu(static_cast<size_t>(ny), NAN), st_cpu(static_cast<size_t>(4 * d.Cs), NAN);
  std::vector<int32_t> rest_cpu(static_cast<size_t>(c.C - d.Cs + 1), -1);
  DeviceBuffer y_emu(y_cpu), st_emu(st_cpu);
  DeviceBuffer rest_emu(rest_cpu);
  kernels::cpu::mixed_edge_forward<float>(d, x, selp, bp, w.data(), ewp, run_cpu[0].data(), run_cpu[1].data(),
                                          run_cpu[2].data(), run_cpu[3].data(), c.training, 0.1, 1e-5,
                                          y_cpu.data(), st_cpu.data(), rest_cpu.data());
  DeviceBuffer ws(std::vector<double>(
      static_cast<size_t>(std::max<int64_t>(1, gpu::mixed_edge_forward_workspace_doubles(d, c.training))), NAN));
  gpu::mixed_edge_forward(d, dx, dselp, dbp, dw.get(), dewp, run_emu[0].get(), run_emu[1].get(), run_emu[2].get(),
                          run_emu[3].get(), c.training, 0.1, 1e-5, y_emu.get(), st_emu.get(), rest_emu.get(), ws.get(),
                          nullptr);
  const double tol = 1e-5;  // float32 sums in another order (chunked block reductions)
  EXPECT_LE(rel(y_emu.to_host(), y_cpu), tol) << "output";
  EXPECT_LE(rel(st_emu.to_host(), st_cpu), tol) << "statistics";
  for (int q = 0; q < 4; ++q) EXPECT_LE(rel(run_emu[q].to_host(), run_cpu[q]), tol) << "running statistic " << q;
  if (c.random && c.k > 1) {
    EXPECT_EQ(rest_emu.to_host(), rest_cpu);
  }

  // Backward, for several subsets of requested gradients.
  const std::vector<float> gy = randn(ny);
  DeviceBuffer dgy(gy);
  const int64_t nx = int64_t(c.N) * c.C * HW, nb = int64_t(c.N) * d.Cs * HoWo;
  for (int subset = 0; subset < 4; ++subset) {
    const bool want_x = subset != 2, want_br = subset == 0 || subset == 2, want_w = subset <= 1;
    const bool want_e = c.edge_weight && subset == 0;
    std::vector<float> gx(static_cast<size_t>(nx), NAN), gw(8, NAN), ge(1, NAN);
    const std::vector<float> poisoned_branch(static_cast<size_t>(nb), NAN);
    std::vector<std::vector<float>> gb(static_cast<size_t>(d.num_branches), poisoned_branch);
    DeviceBuffer dgx(gx), dgw(gw), dge(ge);
    std::vector<DeviceBuffer<float>> dgb;
    float* gbp[me::kMaxBranches] = {};
    float* dgbp[me::kMaxBranches] = {};
    for (int i = 0; i < d.num_branches; ++i) {
      dgb.emplace_back(gb[static_cast<size_t>(i)]);
      gbp[i] = want_br ? gb[static_cast<size_t>(i)].data() : nullptr;
      dgbp[i] = want_br ? dgb.back().get() : nullptr;
    }
    kernels::cpu::mixed_edge_backward<float>(d, x, selp, rest_cpu.data(), bp, w.data(), ewp, st_cpu.data(),
                                             c.training, gy.data(), want_x ? gx.data() : nullptr, gbp,
                                             want_w ? gw.data() : nullptr, want_e ? ge.data() : nullptr);
    DeviceBuffer wsb(std::vector<double>(static_cast<size_t>(gpu::mixed_edge_backward_workspace_doubles(d)), NAN));
    gpu::mixed_edge_backward(d, dx, dselp, rest_emu.get(), dbp, dw.get(), dewp, st_emu.get(), c.training, dgy.get(),
                             want_x ? dgx.get() : nullptr, dgbp, want_w ? dgw.get() : nullptr,
                             want_e ? dge.get() : nullptr, wsb.get(), nullptr);
    if (want_x) {
      EXPECT_LE(rel(dgx.to_host(), gx), tol) << "d x, subset " << subset;
    }
    if (want_w) {
      EXPECT_LE(rel(dgw.to_host(), gw), tol) << "d weights, subset " << subset;
    }
    if (want_e) {
      EXPECT_LE(rel(dge.to_host(), ge), tol) << "d edge weight, subset " << subset;
    }
    for (int i = 0; want_br && i < d.num_branches; ++i) {
      EXPECT_LE(rel(dgb[static_cast<size_t>(i)].to_host(), gb[static_cast<size_t>(i)]), tol) << "d branch " << i;
    }
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (int k : {1, 4})
    for (int s : {1, 2})
      for (bool random : {false, true})
        for (bool training : {true, false}) {
          if (k == 1 && random) continue;
          out.push_back({2, 8, 8, 8, k, s, random, training, true, 0});
        }
  out.push_back({2, 6, 7, 5, 1, 2, false, true, false, 0});   // odd sizes, no edge weight
  out.push_back({2, 6, 6, 10, 2, 1, true, true, true, 5});    // k = 2, channel-slice input
  out.push_back({3, 4, 32, 32, 4, 1, true, true, true, 3});   // several reduction chunks per slot
  out.push_back({3, 8, 64, 32, 4, 2, false, true, true, 0});  // chunks at stride 2
  out.push_back({1, 1, 112, 112, 1, 1, false, true, true, 0});  // a plane too large for shared memory
  return out;
}

INSTANTIATE_TEST_SUITE_P(emu, MixedEdgeEmulatedCuda, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return case_name(i.param); });

}  // namespace
}  // namespace bnas::testing
