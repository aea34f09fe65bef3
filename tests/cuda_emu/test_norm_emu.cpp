// kernels/cuda/norm.cu on the emulated device against kernels/cpu/norm, with 64-thread blocks,
// chunks of 100 elements and at most 5 chunks per channel: channels of one partial chunk, of
// several chunks with a short last one, of the capped chunk count (chunks longer than a block's
// stride), and more channels than one finalize block. Statistics, running statistics, the weight
// and bias gradients are double sums in another order (shifted by the first element rather than
// the mean): kDoubleSumTol; the input gradient inherits their rounding; the affine apply's
// multiply-add is an FMA in the kernel, as on a GPU (kFmaTol); the rest is exact.
#include "norm_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/norm.h"
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
                       auto ma = nans(s.C), ia = nans(s.C);
                       auto rma = d.rmean, rva = d.rvar;
                       DeviceBuffer x(d.x), mb(nans(s.C)), ib(nans(s.C)), rmb(d.rmean), rvb(d.rvar);
                       DeviceBuffer ws(std::vector<double>(
                           static_cast<size_t>(gpu::batch_norm_workspace_doubles(s.N, s.C, s.HW)), NAN));
                       cpu::batch_norm_stats(d.x.data(), s.N, s.C, s.HW, eps, momentum, ma.data(), ia.data(),
                                             running ? rma.data() : nullptr, running ? rva.data() : nullptr);
                       gpu::batch_norm_stats(x.get(), s.N, s.C, s.HW, eps, momentum, mb.get(), ib.get(),
                                             running ? rmb.get() : nullptr, running ? rvb.get() : nullptr, ws.get(),
                                             nullptr);
                       EXPECT_TRUE(close(mb.to_host(), ma, kDoubleSumTol)) << "mean";
                       EXPECT_TRUE(close(ib.to_host(), ia, kDoubleSumTol)) << "invstd";
                       EXPECT_TRUE(close(rmb.to_host(), rma, kDoubleSumTol)) << "running mean";
                       EXPECT_TRUE(close(rvb.to_host(), rva, kDoubleSumTol)) << "running var";
                     }});
    out.push_back({"batch_norm_eval_stats" + name, [=] {
                     Data d(s, 2);
                     auto ma = nans(s.C), ia = nans(s.C);
                     DeviceBuffer rm(d.rmean), rv(d.rvar), mb(nans(s.C)), ib(nans(s.C));
                     cpu::batch_norm_eval_stats(d.rmean.data(), d.rvar.data(), s.C, eps, ma.data(), ia.data());
                     gpu::batch_norm_eval_stats(rm.get(), rv.get(), s.C, eps, mb.get(), ib.get(), nullptr);
                     EXPECT_TRUE(same(mb.to_host(), ma));
                     EXPECT_TRUE(same(ib.to_host(), ia));
                   }});
    for (bool affine : {true, false})
      out.push_back({"batch_norm_apply" + name + (affine ? "_affine" : ""), [=] {
                       Data d(s, 3);
                       const float* w = affine ? d.weight.data() : nullptr;
                       const float* b = affine ? d.bias.data() : nullptr;
                       auto ya = nans(n);
                       DeviceBuffer x(d.x), rm(d.rmean), rv(d.rvar), dw(d.weight), db(d.bias), yb(nans(n));
                       cpu::batch_norm_apply(d.x.data(), d.rmean.data(), d.rvar.data(), w, b, ya.data(), s.N, s.C, s.HW);
                       gpu::batch_norm_apply(x.get(), rm.get(), rv.get(), affine ? dw.get() : nullptr,
                                             affine ? db.get() : nullptr, yb.get(), s.N, s.C, s.HW, nullptr);
                       EXPECT_TRUE(close(yb.to_host(), ya, kFmaTol));
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
                         auto gxa = nans(n), gwa = nans(s.C), gba = nans(s.C);
                         auto ptr = [](bool want, std::vector<float>& v) { return want ? v.data() : nullptr; };
                         cpu::batch_norm_backward(d.x.data(), d.gy.data(), mean.data(), invstd.data(), d.weight.data(),
                                                  s.N, s.C, s.HW, training, ptr(want_x, gxa), ptr(want_p, gwa),
                                                  ptr(want_p, gba));
                         DeviceBuffer x(d.x), gy(d.gy), dmean(mean), dinvstd(invstd), w(d.weight);
                         DeviceBuffer gxb(nans(n)), gwb(nans(s.C)), gbb(nans(s.C)), coef(nans(2 * s.C));
                         DeviceBuffer ws(std::vector<double>(
                             static_cast<size_t>(gpu::batch_norm_workspace_doubles(s.N, s.C, s.HW)), NAN));
                         gpu::batch_norm_backward(x.get(), gy.get(), dmean.get(), dinvstd.get(), w.get(), s.N, s.C,
                                                  s.HW, training, want_x ? gxb.get() : nullptr,
                                                  want_p ? gwb.get() : nullptr, want_p ? gbb.get() : nullptr,
                                                  ws.get(), coef.get(), nullptr);
                         EXPECT_TRUE(close(gxb.to_host(), gxa, kDoubleSumTol)) << "d x";
                         EXPECT_TRUE(close(gwb.to_host(), gwa, kDoubleSumTol)) << "d weight";
                         EXPECT_TRUE(close(gbb.to_host(), gba, kDoubleSumTol)) << "d bias";
                       }});
  }
  // An empty batch in eval mode: zero parameter gradients like the CPU, without an empty grid
  // (which a GPU refuses, and so does the emulated device).
  out.push_back({"batch_norm_backward_eval_empty_batch", [] {
                   const int64_t C = 3;
                   const std::vector<float> mean(C, 0.5f), invstd(C, 2.f), weight(C, 1.5f);
                   auto gwa = nans(C), gba = nans(C);
                   const float* none = nullptr;
                   cpu::batch_norm_backward(none, none, mean.data(), invstd.data(), weight.data(), int64_t{0}, C,
                                            int64_t{4}, false, static_cast<float*>(nullptr), gwa.data(), gba.data());
                   DeviceBuffer dmean(mean), dinvstd(invstd), w(weight), gwb(nans(C)), gbb(nans(C)), coef(nans(2 * C));
                   gpu::batch_norm_backward(nullptr, nullptr, dmean.get(), dinvstd.get(), w.get(), 0, C, 4, false,
                                            nullptr, gwb.get(), gbb.get(), nullptr, coef.get(), nullptr);
                   EXPECT_TRUE(same(gwb.to_host(), gwa)) << "d weight";
                   EXPECT_TRUE(same(gbb.to_host(), gba)) << "d bias";
                   EXPECT_TRUE(same(gwb.to_host(), std::vector<float>(C, 0.f)));
                 }});
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_norm, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
