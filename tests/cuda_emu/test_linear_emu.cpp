// kernels/cuda/linear.cu in the emulator against kernels/cpu/linear: the cuBLAS calls run on
// cuda_emu.h's column-major cublasSgemm, which checks their transposes and leading dimensions
// (row-major data seen as column-major); the bias kernels run with 64-thread blocks over several
// blocks. Products: float sums in cuBLAS's k order against OpenBLAS (kFloatSumTol); the bias
// gradient is the same column sum on both sides (exact).
#include "tests/cuda_emu/cuda_emu.h"
// (cuda_emu.h first: the converted file relies on its stand-ins)
#include "kernels/cpu/linear.h"
#include "linear_emu.inc"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_linear;
namespace cpu = kernels::cpu;

struct Shape {
  int64_t n, in, out;
};
std::string shape_name(const Shape& s) {
  return "_n" + std::to_string(s.n) + "_in" + std::to_string(s.in) + "_out" + std::to_string(s.out);
}

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  // Non-square shapes (a swapped dimension shows), more bias elements than a block, empty sides.
  for (const Shape s : {Shape{9, 7, 11}, Shape{5, 70, 3}, Shape{4, 0, 6}, Shape{0, 5, 3}}) {
    for (bool bias : {true, false})
      out.push_back({"linear_forward" + shape_name(s) + (bias ? "_bias" : ""), [=] {
                       std::mt19937 rng(1);
                       const auto x = randn(rng, s.n * s.in), w = randn(rng, s.out * s.in), b = randn(rng, s.out);
                       auto ya = nans(s.n * s.out), yb = ya;
                       cpu::linear_forward(x.data(), w.data(), bias ? b.data() : nullptr, ya.data(), s.n, s.in, s.out);
                       cublasContext handle;
                       gpu::linear_forward(&handle, nullptr, x.data(), w.data(), bias ? b.data() : nullptr, yb.data(),
                                           s.n, s.in, s.out);
                       EXPECT_TRUE(close(yb, ya, kFloatSumTol));
                     }});
    // Requested-gradient subsets: all, the input only, the parameters only.
    for (int subset = 0; subset < 3; ++subset)
      out.push_back({"linear_backward" + shape_name(s) + "_grads" + std::to_string(subset), [=] {
                       std::mt19937 rng(2);
                       const auto x = randn(rng, s.n * s.in), w = randn(rng, s.out * s.in), gy = randn(rng, s.n * s.out);
                       const bool want_x = subset != 2, want_p = subset != 1;
                       std::vector<float> gx[2], gw[2], gb[2];
                       for (int v = 0; v < 2; ++v) gx[v] = nans(s.n * s.in), gw[v] = nans(s.out * s.in), gb[v] = nans(s.out);
                       auto ptr = [](bool want, std::vector<float>& v) { return want ? v.data() : nullptr; };
                       cpu::linear_backward(x.data(), w.data(), gy.data(), ptr(want_x, gx[0]), ptr(want_p, gw[0]),
                                            ptr(want_p, gb[0]), s.n, s.in, s.out);
                       cublasContext handle;
                       gpu::linear_backward(&handle, nullptr, x.data(), w.data(), gy.data(), ptr(want_x, gx[1]),
                                            ptr(want_p, gw[1]), ptr(want_p, gb[1]), s.n, s.in, s.out);
                       EXPECT_TRUE(close(gx[1], gx[0], kFloatSumTol)) << "d x";
                       EXPECT_TRUE(close(gw[1], gw[0], kFloatSumTol)) << "d w";
                       EXPECT_TRUE(same(gb[1], gb[0])) << "d b";
                     }});
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_linear, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
