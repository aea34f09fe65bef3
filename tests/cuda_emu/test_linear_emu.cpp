// kernels/cuda/linear.cu on the emulated device against kernels/cpu/linear: the cuBLAS calls run
// on the emulated cuBLAS (emulator/src/cublas.cpp), whose cublasSgemm checks their transposes and
// leading dimensions (row-major data seen as column-major); the bias kernels run with 64-thread
// blocks over several blocks. Products: float sums in cuBLAS's k order (with FMAs, as on a GPU)
// against OpenBLAS (kFloatSumTol); the bias gradient is the same column sum on both sides (exact).
#include "linear_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/linear.h"
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

// A cuBLAS handle for one case.
struct Handle {
  Handle() { CUBLAS_CHECK(cublasCreate(&h)); }
  ~Handle() { cublasDestroy(h); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cublasHandle_t h = nullptr;
};

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  // Non-square shapes (a swapped dimension shows), more bias elements than a block, empty sides.
  for (const Shape s : {Shape{9, 7, 11}, Shape{5, 70, 3}, Shape{4, 0, 6}, Shape{0, 5, 3}}) {
    for (bool bias : {true, false})
      out.push_back({"linear_forward" + shape_name(s) + (bias ? "_bias" : ""), [=] {
                       std::mt19937 rng(1);
                       const auto x = randn(rng, s.n * s.in), w = randn(rng, s.out * s.in), b = randn(rng, s.out);
                       auto ya = nans(s.n * s.out);
                       DeviceBuffer dx(x), dw(w), db(b), yb(ya);
                       cpu::linear_forward(x.data(), w.data(), bias ? b.data() : nullptr, ya.data(), s.n, s.in, s.out);
                       Handle handle;
                       gpu::linear_forward(handle.h, nullptr, dx.get(), dw.get(), bias ? db.get() : nullptr, yb.get(),
                                           s.n, s.in, s.out);
                       EXPECT_TRUE(close(yb.to_host(), ya, kFloatSumTol));
                     }});
    // Requested-gradient subsets: all, the input only, the parameters only.
    for (int subset = 0; subset < 3; ++subset)
      out.push_back({"linear_backward" + shape_name(s) + "_grads" + std::to_string(subset), [=] {
                       std::mt19937 rng(2);
                       const auto x = randn(rng, s.n * s.in), w = randn(rng, s.out * s.in), gy = randn(rng, s.n * s.out);
                       const bool want_x = subset != 2, want_p = subset != 1;
                       auto gxa = nans(s.n * s.in), gwa = nans(s.out * s.in), gba = nans(s.out);
                       DeviceBuffer dx(x), dw(w), dgy(gy), gxb(gxa), gwb(gwa), gbb(gba);
                       auto ptr = [](bool want, std::vector<float>& v) { return want ? v.data() : nullptr; };
                       cpu::linear_backward(x.data(), w.data(), gy.data(), ptr(want_x, gxa), ptr(want_p, gwa),
                                            ptr(want_p, gba), s.n, s.in, s.out);
                       Handle handle;
                       gpu::linear_backward(handle.h, nullptr, dx.get(), dw.get(), dgy.get(),
                                            want_x ? gxb.get() : nullptr, want_p ? gwb.get() : nullptr,
                                            want_p ? gbb.get() : nullptr, s.n, s.in, s.out);
                       EXPECT_TRUE(close(gxb.to_host(), gxa, kFloatSumTol)) << "d x";
                       EXPECT_TRUE(close(gwb.to_host(), gwa, kFloatSumTol)) << "d w";
                       EXPECT_TRUE(same(gbb.to_host(), gba)) << "d b";
                     }});
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_linear, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
