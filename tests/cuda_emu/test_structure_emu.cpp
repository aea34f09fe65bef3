// kernels/cuda/structure.cu in the emulator against kernels/cpu/structure, with 64-thread blocks,
// packs of 3 pointers (so 7 inputs take 3 launches, the later ones accumulating) and at most 4
// partial blocks per weight-gradient input (so larger tensors loop over the grid): weighted sums
// and their gradients, channel gathers and scatters over blocks with and without slice strides
// (an empty block included), channel shuffles from slice views, drop-path (samples long enough
// for the grid to loop over them), empty tensors. The weight gradient
// sums in float on the GPU and in double on the CPU (kFloatSumTol); the rest is exact.
#include "tests/cuda_emu/cuda_emu.h"
// (cuda_emu.h first: the converted file relies on its stand-ins)
#include "kernels/cpu/structure.h"
#include "structure_emu.inc"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_structure;
namespace cpu = kernels::cpu;
using kernels::ChannelBlock;

struct Inputs {
  Inputs(int n, int64_t numel, unsigned seed) : rng(seed) {
    for (int i = 0; i < n; ++i) data.push_back(randn(rng, numel));
    for (auto& d : data) ptrs.push_back(d.data());
    w = randn(rng, n);
    gy = randn(rng, numel);
  }
  std::mt19937 rng;
  std::vector<std::vector<float>> data;
  std::vector<const float*> ptrs;
  std::vector<float> w, gy;
};

// The wide side of a channel copy and its blocks: channels {2, 0, 3, 1, 2} at c0 = 0, 2, 2, 5, 6
// of a wide tensor of 8 channels (+ 1 unused channel per sample); odd blocks are slices of a
// tensor with 2 more channels.
struct Channels {
  static constexpr int64_t N = 3, inner = 20, C = 8, wide_nstride = (C + 1) * inner;
  Channels() {
    std::mt19937 rng(5);
    const int64_t ch[5] = {2, 0, 3, 1, 2};
    int64_t c0 = 0;
    for (int k = 0; k < 5; ++k) {
      const int64_t nstride = (ch[k] + (k % 2 ? 2 : 0)) * inner;
      parts.push_back(randn(rng, N * std::max<int64_t>(nstride, 1)));
      blocks.push_back({parts.back().data(), nstride, c0, ch[k]});
      c0 += ch[k];
    }
    wide = randn(rng, N * wide_nstride);
  }
  std::vector<std::vector<float>> parts;
  std::vector<ChannelBlock<float>> blocks;
  std::vector<float> wide;
};

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  for (int n : {1, 3, 7})
    for (int64_t numel : {0, 50, 1000, 5000}) {
      const std::string name = "_n" + std::to_string(n) + "_numel" + std::to_string(numel);
      out.push_back({"weighted_sum_forward" + name, [=] {
                       Inputs in(n, numel, 1);
                       auto ya = nans(numel), yb = nans(numel);
                       cpu::weighted_sum_forward(in.ptrs.data(), n, in.w.data(), ya.data(), numel);
                       gpu::weighted_sum_forward(in.ptrs.data(), n, in.w.data(), yb.data(), numel, nullptr);
                       EXPECT_TRUE(same(yb, ya));
                     }});
      out.push_back({"weighted_sum_backward_inputs" + name, [=] {
                       Inputs in(n, numel, 2);
                       std::vector<int> which;  // every other input, backwards
                       for (int i = n - 1; i >= 0; i -= 2) which.push_back(i);
                       const int count = static_cast<int>(which.size());
                       std::vector<std::vector<float>> ga(which.size(), nans(numel)), gb = ga;
                       std::vector<float*> pa, pb;
                       for (size_t k = 0; k < which.size(); ++k) pa.push_back(ga[k].data()), pb.push_back(gb[k].data());
                       cpu::weighted_sum_backward_inputs(in.w.data(), which.data(), pa.data(), count, in.gy.data(),
                                                         numel);
                       gpu::weighted_sum_backward_inputs(in.w.data(), which.data(), pb.data(), count, in.gy.data(),
                                                         numel, nullptr);
                       for (size_t k = 0; k < which.size(); ++k) EXPECT_TRUE(same(gb[k], ga[k])) << "input " << k;
                     }});
      out.push_back({"weighted_sum_backward_weights" + name, [=] {
                       Inputs in(n, numel, 3);
                       auto ga = nans(n), gb = nans(n);
                       auto scratch = nans(gpu::weighted_sum_scratch(n, numel));
                       cpu::weighted_sum_backward_weights(in.ptrs.data(), n, in.gy.data(), ga.data(), numel);
                       gpu::weighted_sum_backward_weights(in.ptrs.data(), n, in.gy.data(), gb.data(), numel,
                                                          scratch.data(), nullptr);
                       EXPECT_TRUE(close(gb, ga, kFloatSumTol));
                     }});
    }
  out.push_back({"channel_gather", [] {
                   Channels c;
                   std::vector<ChannelBlock<const float>> blocks;
                   for (const auto& b : c.blocks) blocks.push_back({b.ptr, b.nstride, b.c0, b.channels});
                   auto wa = nans(c.N * c.wide_nstride), wb = wa;
                   cpu::channel_gather(blocks.data(), 5, wa.data(), c.wide_nstride, c.N, c.inner);
                   gpu::channel_gather(blocks.data(), 5, wb.data(), c.wide_nstride, c.N, c.inner, nullptr);
                   EXPECT_TRUE(same(wb, wa));
                 }});
  out.push_back({"channel_scatter", [] {
                   Channels a, b;  // the same parts; each side scatters into its own
                   for (auto* c : {&a, &b})
                     for (auto& p : c->parts) std::fill(p.begin(), p.end(), NAN);
                   cpu::channel_scatter(a.wide.data(), a.wide_nstride, a.blocks.data(), 5, a.N, a.inner);
                   gpu::channel_scatter(b.wide.data(), b.wide_nstride, b.blocks.data(), 5, b.N, b.inner, nullptr);
                   for (size_t k = 0; k < a.parts.size(); ++k) EXPECT_TRUE(same(b.parts[k], a.parts[k])) << "block " << k;
                 }});
  for (int64_t groups : {2, 3})
    out.push_back({"channel_shuffle_groups" + std::to_string(groups), [=] {
                     const int64_t N = 2, C = 6, inner = 25, x_nstride = (C + 2) * inner;  // a slice view
                     std::mt19937 rng(6);
                     const auto x = randn(rng, N * x_nstride);
                     auto ya = nans(N * C * inner), yb = nans(N * C * inner);
                     cpu::channel_shuffle(x.data(), x_nstride, ya.data(), N, C, inner, groups);
                     gpu::channel_shuffle(x.data(), x_nstride, yb.data(), N, C, inner, groups, nullptr);
                     EXPECT_TRUE(same(yb, ya));
                   }});
  for (int64_t N : {0, 5, 70})
    for (int64_t per_sample : {1, 150, 4000})
      out.push_back({"drop_path_N" + std::to_string(N) + "_per" + std::to_string(per_sample), [=] {
                       std::mt19937 rng(7);
                       const auto x = randn(rng, N * per_sample);
                       auto ya = nans(N * per_sample), yb = nans(N * per_sample);
                       const double p = 0.3;
                       const float scale = static_cast<float>(1 / (1 - p));
                       cpu::drop_path(x.data(), ya.data(), N, per_sample, 11, 3, 40, p, scale);
                       gpu::drop_path(x.data(), yb.data(), N, per_sample, 11, 3, 40, p, scale, nullptr);
                       EXPECT_TRUE(same(yb, ya));
                     }});
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_structure, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
