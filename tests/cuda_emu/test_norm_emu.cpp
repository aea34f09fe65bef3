// kernels/cuda/norm.cu in the emulator against kernels/cpu/norm, with 64-thread blocks, chunks of
// 100 elements and at most 5 chunks per channel: channels of one partial chunk, of several chunks
// with a short last one, of the capped chunk count (chunks longer than a block's stride), and more
// channels than one finalize block. Statistics, running statistics, the weight and bias gradients
// are double sums in another order (shifted by the first element rather than the mean):
// kDoubleSumTol; the input gradient inherits their rounding; the rest is exact.
#include "tests/cuda_emu/cuda_emu.h"
// (cuda_emu.h first: the converted file relies on its stand-ins)
#include "kernels/cpu/norm.h"
#include "norm_emu.inc"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_norm;
namespace cpu = kernels::cpu;

struct Shape {
  int64_t N, C, HW;
};

// Values around 5 (a mean far from 0 tests the shifted sums), per-channel affine parameters.
struct Data {
  Data(const Shape& s, unsigned seed) : rng(seed) {
    x = randn(rng, s.N * s.C * s.HW);
    for (float& v : x) v = 5 + 2 * v;
    gy = randn(rng, s.N * s.C * s.HW);
    weight = randn(rng, s.C);
    bias = randn(rng, s.C);
    rmean = randn(rng, s.C);
    rvar = randn(rng, s.C);
    for (float& v : rvar) v = std::abs(v) + 0.5f;
  }
  std::mt19937 rng;
  std::vector<float> x, gy, weight, bias, rmean, rvar;
};

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  const double eps = 1e-5, momentum = 0.1;
  for (const Shape s : {Shape{2, 3, 7}, Shape{3, 4, 50}, Shape{2, 70, 1}, Shape{4, 2, 300}}) {
    const std::string name = "_N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_HW" + std::to_string(s.HW);
    const int64_t n = s.N * s.C * s.HW;
    for (bool running : {true, false})
      out.push_back({"batch_norm_stats" + name + (running ? "_running" : ""), [=] {
                       Data d(s, 1);
                       auto ma = nans(s.C), ia = nans(s.C), mb = nans(s.C), ib = nans(s.C);
                       auto rma = d.rmean, rva = d.rvar, rmb = d.rmean, rvb = d.rvar;
                       std::vector<double> ws(static_cast<size_t>(gpu::batch_norm_workspace_doubles(s.N, s.C, s.HW)),
                                              NAN);
                       cpu::batch_norm_stats(d.x.data(), s.N, s.C, s.HW, eps, momentum, ma.data(), ia.data(),
                                             running ? rma.data() : nullptr, running ? rva.data() : nullptr);
                       gpu::batch_norm_stats(d.x.data(), s.N, s.C, s.HW, eps, momentum, mb.data(), ib.data(),
                                             running ? rmb.data() : nullptr, running ? rvb.data() : nullptr,
                                             ws.data(), nullptr);
                       EXPECT_TRUE(close(mb, ma, kDoubleSumTol)) << "mean";
                       EXPECT_TRUE(close(ib, ia, kDoubleSumTol)) << "invstd";
                       EXPECT_TRUE(close(rmb, rma, kDoubleSumTol)) << "running mean";
                       EXPECT_TRUE(close(rvb, rva, kDoubleSumTol)) << "running var";
                     }});
    out.push_back({"batch_norm_eval_stats" + name, [=] {
                     Data d(s, 2);
                     auto ma = nans(s.C), ia = nans(s.C), mb = nans(s.C), ib = nans(s.C);
                     cpu::batch_norm_eval_stats(d.rmean.data(), d.rvar.data(), s.C, eps, ma.data(), ia.data());
                     gpu::batch_norm_eval_stats(d.rmean.data(), d.rvar.data(), s.C, eps, mb.data(), ib.data(), nullptr);
                     EXPECT_TRUE(same(mb, ma));
                     EXPECT_TRUE(same(ib, ia));
                   }});
    for (bool affine : {true, false})
      out.push_back({"batch_norm_apply" + name + (affine ? "_affine" : ""), [=] {
                       Data d(s, 3);
                       const float* w = affine ? d.weight.data() : nullptr;
                       const float* b = affine ? d.bias.data() : nullptr;
                       auto ya = nans(n), yb = nans(n);
                       cpu::batch_norm_apply(d.x.data(), d.rmean.data(), d.rvar.data(), w, b, ya.data(), s.N, s.C, s.HW);
                       gpu::batch_norm_apply(d.x.data(), d.rmean.data(), d.rvar.data(), w, b, yb.data(), s.N, s.C, s.HW,
                                             nullptr);
                       EXPECT_TRUE(same(yb, ya));
                     }});
    // Requested-gradient subsets: all, the input only, the parameters only.
    for (bool training : {true, false})
      for (int subset = 0; subset < 3; ++subset)
        out.push_back({"batch_norm_backward" + name + (training ? "_train" : "_eval") + "_grads" +
                           std::to_string(subset),
                       [=] {
                         Data d(s, 4);
                         std::vector<float> mean(static_cast<size_t>(s.C)), invstd(mean);
                         cpu::batch_norm_stats(d.x.data(), s.N, s.C, s.HW, eps, momentum, mean.data(), invstd.data(),
                                               static_cast<float*>(nullptr), static_cast<float*>(nullptr));
                         const bool want_x = subset != 2, want_p = subset != 1;
                         std::vector<float> gx[2], gw[2], gb[2];
                         for (int v = 0; v < 2; ++v) gx[v] = nans(n), gw[v] = nans(s.C), gb[v] = nans(s.C);
                         auto ptr = [](bool want, std::vector<float>& v) { return want ? v.data() : nullptr; };
                         cpu::batch_norm_backward(d.x.data(), d.gy.data(), mean.data(), invstd.data(), d.weight.data(),
                                                  s.N, s.C, s.HW, training, ptr(want_x, gx[0]), ptr(want_p, gw[0]),
                                                  ptr(want_p, gb[0]));
                         std::vector<double> ws(
                             static_cast<size_t>(gpu::batch_norm_workspace_doubles(s.N, s.C, s.HW)), NAN);
                         auto coef = nans(2 * s.C);
                         gpu::batch_norm_backward(d.x.data(), d.gy.data(), mean.data(), invstd.data(), d.weight.data(),
                                                  s.N, s.C, s.HW, training, ptr(want_x, gx[1]), ptr(want_p, gw[1]),
                                                  ptr(want_p, gb[1]), ws.data(), coef.data(), nullptr);
                         EXPECT_TRUE(close(gx[1], gx[0], kDoubleSumTol)) << "d x";
                         EXPECT_TRUE(close(gw[1], gw[0], kDoubleSumTol)) << "d weight";
                         EXPECT_TRUE(close(gb[1], gb[0], kDoubleSumTol)) << "d bias";
                       }});
  }
  // An empty batch in eval mode: zero parameter gradients like the CPU, without an empty grid
  // (which a GPU refuses and the emulator throws on).
  out.push_back({"batch_norm_backward_eval_empty_batch", [] {
                   const int64_t C = 3;
                   const std::vector<float> mean(C, 0.5f), invstd(C, 2.f), weight(C, 1.5f);
                   std::vector<float> gw[2], gb[2];
                   for (int v = 0; v < 2; ++v) gw[v] = nans(C), gb[v] = nans(C);
                   const float* none = nullptr;
                   cpu::batch_norm_backward(none, none, mean.data(), invstd.data(), weight.data(), int64_t{0}, C,
                                            int64_t{4}, false, static_cast<float*>(nullptr), gw[0].data(),
                                            gb[0].data());
                   auto coef = nans(2 * C);
                   gpu::batch_norm_backward(nullptr, nullptr, mean.data(), invstd.data(), weight.data(), 0, C, 4, false,
                                            nullptr, gw[1].data(), gb[1].data(), nullptr, coef.data(), nullptr);
                   EXPECT_TRUE(same(gw[1], gw[0])) << "d weight";
                   EXPECT_TRUE(same(gb[1], gb[0])) << "d bias";
                   EXPECT_TRUE(same(gw[1], std::vector<float>(C, 0.f)));
                 }});
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_norm, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
