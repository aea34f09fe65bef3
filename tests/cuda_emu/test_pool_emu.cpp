// kernels/cuda/pool.cu on the emulated device against kernels/cpu/pool: max and average pooling forward
// and backward over several geometries (padding, strides, odd planes) and planes spanning several
// 64-thread blocks; global average pooling over plane counts that leave warps of the last block
// idle (and none) and planes shorter and longer than a warp. Exact, but the global mean (double sums in
// another order, see kDoubleSumTol).
#include "pool_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/pool.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_pool;
namespace cpu = kernels::cpu;
using kernels::PoolGeom;

// Inputs rounded to halves, so that windows hold ties (the first maximum wins).
std::vector<float> input(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<float> x = randn(rng, n);
  for (float& v : x) v = std::round(v * 2) / 2;
  return x;
}

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  struct Shape {
    int H, W, k, s, p;
  };
  for (const Shape sh : {Shape{7, 9, 3, 1, 1}, Shape{7, 9, 3, 2, 1}, Shape{8, 6, 2, 2, 0}, Shape{9, 7, 3, 2, 0}}) {
    const int64_t planes = 5;
    PoolGeom g{sh.H, sh.W, kernels::pool_out_size(sh.H, sh.k, sh.s, sh.p), kernels::pool_out_size(sh.W, sh.k, sh.s, sh.p),
               sh.k, sh.s, sh.p};
    const std::string name = "_" + std::to_string(sh.H) + "x" + std::to_string(sh.W) + "_k" + std::to_string(sh.k) +
                             "_s" + std::to_string(sh.s) + "_p" + std::to_string(sh.p);
    const int64_t nin = planes * g.H * g.W, nout = planes * g.Ho * g.Wo;
    for (bool with_arg : {true, false})
      out.push_back({"max_pool2d_forward" + name + (with_arg ? "" : "_noargmax"), [=] {
                       const auto x = input(nin, 1);
                       auto ya = nans(nout);
                       std::vector<int32_t> aa(static_cast<size_t>(nout), -7);
                       DeviceBuffer dx(x), yb(ya);
                       DeviceBuffer ab(aa);
                       cpu::max_pool2d_forward(x.data(), ya.data(), with_arg ? aa.data() : nullptr, planes, g);
                       gpu::max_pool2d_forward(dx.get(), yb.get(), with_arg ? ab.get() : nullptr, planes, g, nullptr);
                       EXPECT_TRUE(same(yb.to_host(), ya));
                       EXPECT_TRUE(same(ab.to_host(), aa));
                     }});
    out.push_back({"max_pool2d_backward" + name, [=] {
                     const auto x = input(nin, 2), gy = input(nout, 3);
                     auto y = nans(nout);
                     std::vector<int32_t> arg(static_cast<size_t>(nout));
                     cpu::max_pool2d_forward(x.data(), y.data(), arg.data(), planes, g);
                     auto ga = nans(nin);
                     DeviceBuffer dgy(gy), gb(nans(nin));
                     DeviceBuffer darg(arg);
                     cpu::max_pool2d_backward(gy.data(), arg.data(), ga.data(), planes, g);
                     gpu::max_pool2d_backward(dgy.get(), darg.get(), gb.get(), planes, g, nullptr);
                     EXPECT_TRUE(same(gb.to_host(), ga));
                   }});
    out.push_back({"avg_pool2d_forward" + name, [=] {
                     const auto x = input(nin, 4);
                     auto ya = nans(nout);
                     DeviceBuffer dx(x), yb(nans(nout));
                     cpu::avg_pool2d_forward(x.data(), ya.data(), planes, g);
                     gpu::avg_pool2d_forward(dx.get(), yb.get(), planes, g, nullptr);
                     EXPECT_TRUE(same(yb.to_host(), ya));
                   }});
    out.push_back({"avg_pool2d_backward" + name, [=] {
                     const auto gy = input(nout, 5);
                     auto ga = nans(nin);
                     DeviceBuffer dgy(gy), gb(nans(nin));
                     cpu::avg_pool2d_backward(gy.data(), ga.data(), planes, g);
                     gpu::avg_pool2d_backward(dgy.get(), gb.get(), planes, g, nullptr);
                     EXPECT_TRUE(same(gb.to_host(), ga));
                   }});
  }
  // 2 warps per 64-thread block: 5 planes leave the last block's second warp idle.
  for (int64_t planes : {0, 1, 5})
    for (int64_t hw : {1, 49, 100}) {
      const std::string name = "_planes" + std::to_string(planes) + "_hw" + std::to_string(hw);
      out.push_back({"global_avg_pool_forward" + name, [=] {
                       std::mt19937 rng(6);
                       const auto x = randn(rng, planes * hw);
                       auto ya = nans(planes);
                       DeviceBuffer dx(x), yb(nans(planes));
                       cpu::global_avg_pool_forward(x.data(), ya.data(), planes, hw);
                       gpu::global_avg_pool_forward(dx.get(), yb.get(), planes, hw, nullptr);
                       EXPECT_TRUE(close(yb.to_host(), ya, kDoubleSumTol));
                     }});
      out.push_back({"global_avg_pool_backward" + name, [=] {
                       std::mt19937 rng(7);
                       const auto gy = randn(rng, planes);
                       auto ga = nans(planes * hw);
                       DeviceBuffer dgy(gy), gb(nans(planes * hw));
                       cpu::global_avg_pool_backward(gy.data(), ga.data(), planes, hw);
                       gpu::global_avg_pool_backward(dgy.get(), gb.get(), planes, hw, nullptr);
                       EXPECT_TRUE(same(gb.to_host(), ga));
                     }});
    }
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_pool, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
