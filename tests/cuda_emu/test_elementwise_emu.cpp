// kernels/cuda/elementwise.cu on the emulated device against kernels/cpu/elementwise: every entry
// point on empty arrays and sizes below, at and past one 64-thread block and over several blocks.
// The same per-element math on both sides: exact, but a * x + b * y and y + f * x, which the
// kernels contract into an FMA as on a GPU (kFmaTol).
#include "elementwise_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/elementwise.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_elementwise;
namespace cpu = kernels::cpu;

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  for (int64_t n : {0, 1, 63, 64, 65, 1000}) {
    const std::string sz = "_n" + std::to_string(n);
    out.push_back({"relu_forward" + sz, [n] {
                     std::mt19937 rng(1);
                     const auto x = randn(rng, n);
                     auto a = nans(n);
                     DeviceBuffer dx(x), db(nans(n));
                     cpu::relu_forward(x.data(), a.data(), n);
                     gpu::relu_forward(dx.get(), db.get(), n, nullptr);
                     EXPECT_TRUE(same(db.to_host(), a));
                   }});
    out.push_back({"relu_backward" + sz, [n] {
                     std::mt19937 rng(2);
                     const auto y = randn(rng, n), gy = randn(rng, n);
                     auto a = nans(n);
                     DeviceBuffer dy(y), dgy(gy), db(nans(n));
                     cpu::relu_backward(y.data(), gy.data(), a.data(), n);
                     gpu::relu_backward(dy.get(), dgy.get(), db.get(), n, nullptr);
                     EXPECT_TRUE(same(db.to_host(), a));
                   }});
    for (bool in_place : {false, true})  // out may alias x
      out.push_back({"axpby" + sz + (in_place ? "_in_place" : ""), [n, in_place] {
                       std::mt19937 rng(3);
                       const auto x = randn(rng, n), y = randn(rng, n);
                       auto a = in_place ? x : nans(n);
                       DeviceBuffer dx(x), dy(y), db(a);
                       cpu::axpby(0.3f, in_place ? a.data() : x.data(), -1.7f, y.data(), a.data(), n);
                       gpu::axpby(0.3f, in_place ? db.get() : dx.get(), -1.7f, dy.get(), db.get(), n, nullptr);
                       EXPECT_TRUE(close(db.to_host(), a, kFmaTol));
                     }});
    out.push_back({"add_scaled" + sz, [n] {
                     std::mt19937 rng(4);
                     const auto x = randn(rng, n);
                     auto a = randn(rng, n);  // accumulated into: not poisoned
                     const std::vector<float> coef{0.45f};
                     DeviceBuffer dx(x), db(a), dcoef(coef);
                     cpu::add_scaled(x.data(), coef.data(), 2.5f, a.data(), n);
                     gpu::add_scaled(dx.get(), dcoef.get(), 2.5f, db.get(), n, nullptr);
                     EXPECT_TRUE(close(db.to_host(), a, kFmaTol));
                   }});
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_elementwise, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
