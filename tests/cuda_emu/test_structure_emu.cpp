// kernels/cuda/structure.cu on the emulated device against kernels/cpu/structure, with 64-thread
// blocks, packs of 3 pointers (so 7 inputs take 3 launches, the later ones accumulating) and at
// most 4 partial blocks per weight-gradient input (so larger tensors loop over the grid): weighted
// sums and their gradients, channel gathers and scatters over blocks with and without slice
// strides (an empty block included), channel shuffles from slice views, drop-path (samples long
// enough for the grid to loop over them), empty tensors. The weight gradient sums in float on the
// GPU and in double on the CPU (kFloatSumTol); the weighted sum accumulates w * x with FMAs in the
// kernel, as on a GPU (kFmaTol); the rest is exact.
#include "structure_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/structure.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_structure;
namespace cpu = kernels::cpu;
using kernels::ChannelBlock;

// n inputs of numel values, their weights and an output gradient; host values and device copies.
// The pointer arrays (ptrs, dptrs) are host arrays, as the structure entry points take them.
struct Inputs {
  Inputs(int n, int64_t numel, unsigned seed) : rng(seed) {
    for (int i = 0; i < n; ++i) data.push_back(randn(rng, numel));
    for (auto& d : data) {
      ptrs.push_back(d.data());
      dev.emplace_back(d);
      dptrs.push_back(dev.back().get());
    }
    w = randn(rng, n);
    gy = randn(rng, numel);
    dw = DeviceBuffer(w);
    dgy = DeviceBuffer(gy);
  }
  std::mt19937 rng;
  std::vector<std::vector<float>> data;
  std::vector<const float*> ptrs, dptrs;
  std::vector<DeviceBuffer<float>> dev;
  std::vector<float> w, gy;
  DeviceBuffer<float> dw, dgy;
};

// The wide side of a channel copy and its blocks: channels {2, 0, 3, 1, 2} at c0 = 0, 2, 2, 5, 6
// of a wide tensor of 8 channels (+ 1 unused channel per sample); odd blocks are slices of a
// tensor with 2 more channels. Host parts and blocks, and device copies (dev_blocks point at
// them; the block table itself is a host array).
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
  // Copies the parts to the device (call after any change to them).
  void upload() {
    dev_parts.clear();
    dev_blocks.clear();
    for (size_t k = 0; k < parts.size(); ++k) {
      dev_parts.emplace_back(parts[k]);
      dev_blocks.push_back({dev_parts.back().get(), blocks[k].nstride, blocks[k].c0, blocks[k].channels});
    }
  }
  std::vector<std::vector<float>> parts;
  std::vector<ChannelBlock<float>> blocks, dev_blocks;
  std::vector<DeviceBuffer<float>> dev_parts;
  std::vector<float> wide;
};

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  for (int n : {1, 3, 7})
    for (int64_t numel : {0, 50, 1000, 5000}) {
      const std::string name = "_n" + std::to_string(n) + "_numel" + std::to_string(numel);
      out.push_back({"weighted_sum_forward" + name, [=] {
                       Inputs in(n, numel, 1);
                       auto ya = nans(numel);
                       DeviceBuffer yb(nans(numel));
                       cpu::weighted_sum_forward(in.ptrs.data(), n, in.w.data(), ya.data(), numel);
                       gpu::weighted_sum_forward(in.dptrs.data(), n, in.dw.get(), yb.get(), numel, nullptr);
                       EXPECT_TRUE(close(yb.to_host(), ya, kFmaTol));
                     }});
      out.push_back({"weighted_sum_backward_inputs" + name, [=] {
                       Inputs in(n, numel, 2);
                       std::vector<int> which;  // every other input, backwards (a host array)
                       for (int i = n - 1; i >= 0; i -= 2) which.push_back(i);
                       const int count = static_cast<int>(which.size());
                       std::vector<std::vector<float>> ga(which.size(), nans(numel));
                       std::vector<DeviceBuffer<float>> gb;
                       std::vector<float*> pa, pb;
                       for (size_t k = 0; k < which.size(); ++k) {
                         gb.emplace_back(nans(numel));
                         pa.push_back(ga[k].data()), pb.push_back(gb.back().get());
                       }
                       cpu::weighted_sum_backward_inputs(in.w.data(), which.data(), pa.data(), count, in.gy.data(),
                                                         numel);
                       gpu::weighted_sum_backward_inputs(in.dw.get(), which.data(), pb.data(), count, in.dgy.get(),
                                                         numel, nullptr);
                       for (size_t k = 0; k < which.size(); ++k)
                         EXPECT_TRUE(same(gb[k].to_host(), ga[k])) << "input " << k;
                     }});
      out.push_back({"weighted_sum_backward_weights" + name, [=] {
                       Inputs in(n, numel, 3);
                       auto ga = nans(n);
                       DeviceBuffer gb(nans(n)), scratch(nans(gpu::weighted_sum_scratch(n, numel)));
                       cpu::weighted_sum_backward_weights(in.ptrs.data(), n, in.gy.data(), ga.data(), numel);
                       gpu::weighted_sum_backward_weights(in.dptrs.data(), n, in.dgy.get(), gb.get(), numel,
                                                          scratch.get(), nullptr);
                       EXPECT_TRUE(close(gb.to_host(), ga, kFloatSumTol));
                     }});
    }
  out.push_back({"channel_gather", [] {
                   Channels c;
                   c.upload();
                   std::vector<ChannelBlock<const float>> blocks, dev_blocks;
                   for (const auto& b : c.blocks) blocks.push_back({b.ptr, b.nstride, b.c0, b.channels});
                   for (const auto& b : c.dev_blocks) dev_blocks.push_back({b.ptr, b.nstride, b.c0, b.channels});
                   auto wa = nans(c.N * c.wide_nstride);
                   DeviceBuffer wb(wa);
                   cpu::channel_gather(blocks.data(), 5, wa.data(), c.wide_nstride, c.N, c.inner);
                   gpu::channel_gather(dev_blocks.data(), 5, wb.get(), c.wide_nstride, c.N, c.inner, nullptr);
                   EXPECT_TRUE(same(wb.to_host(), wa));
                 }});
  out.push_back({"channel_scatter", [] {
                   Channels c;  // the CPU scatters into c.parts, the device into their poisoned copies
                   for (auto& p : c.parts) std::fill(p.begin(), p.end(), NAN);
                   c.upload();
                   DeviceBuffer wide(c.wide);
                   cpu::channel_scatter(c.wide.data(), c.wide_nstride, c.blocks.data(), 5, c.N, c.inner);
                   gpu::channel_scatter(wide.get(), c.wide_nstride, c.dev_blocks.data(), 5, c.N, c.inner, nullptr);
                   for (size_t k = 0; k < c.parts.size(); ++k)
                     EXPECT_TRUE(same(c.dev_parts[k].to_host(), c.parts[k])) << "block " << k;
                 }});
  for (int64_t groups : {2, 3})
    out.push_back({"channel_shuffle_groups" + std::to_string(groups), [=] {
                     const int64_t N = 2, C = 6, inner = 25, x_nstride = (C + 2) * inner;  // a slice view
                     std::mt19937 rng(6);
                     const auto x = randn(rng, N * x_nstride);
                     auto ya = nans(N * C * inner);
                     DeviceBuffer dx(x), yb(nans(N * C * inner));
                     cpu::channel_shuffle(x.data(), x_nstride, ya.data(), N, C, inner, groups);
                     gpu::channel_shuffle(dx.get(), x_nstride, yb.get(), N, C, inner, groups, nullptr);
                     EXPECT_TRUE(same(yb.to_host(), ya));
                   }});
  for (int64_t N : {0, 5, 70})
    for (int64_t per_sample : {1, 150, 4000})
      out.push_back({"drop_path_N" + std::to_string(N) + "_per" + std::to_string(per_sample), [=] {
                       std::mt19937 rng(7);
                       const auto x = randn(rng, N * per_sample);
                       auto ya = nans(N * per_sample);
                       DeviceBuffer dx(x), yb(nans(N * per_sample));
                       const double p = 0.3;
                       const float scale = static_cast<float>(1 / (1 - p));
                       cpu::drop_path(x.data(), ya.data(), N, per_sample, 11, 3, 40, p, scale);
                       gpu::drop_path(dx.get(), yb.get(), N, per_sample, 11, 3, 40, p, scale, nullptr);
                       EXPECT_TRUE(same(yb.to_host(), ya));
                     }});
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_structure, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
