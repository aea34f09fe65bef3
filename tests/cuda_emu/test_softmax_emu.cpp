// kernels/cuda/softmax.cu on the emulated device against kernels/cpu/softmax, with 64-thread blocks (2
// warps) and a 64-thread counting block: rows shorter and longer than a warp (lanes striding more
// than once), no rows, row counts that leave warps idle, more rows than the loss-mean and counting blocks
// have threads or warps, label smoothing, out-of-range labels and arg-max ties. Row sums are float
// butterflies against sequential loops (kFloatSumTol); the rest is exact.
#include "softmax_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/softmax.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_softmax;
namespace cpu = kernels::cpu;

// Labels in [0, K) but every 4th row's, which is -1 or K (invalid: contributes nothing).
std::vector<int32_t> labels(std::mt19937& rng, int64_t rows, int64_t K) {
  std::vector<int32_t> l(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    l[static_cast<size_t>(r)] = r % 4 == 3 ? (r % 8 == 3 ? -1 : int32_t(K)) : int32_t(rng() % uint32_t(K));
  return l;
}

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  for (int64_t rows : {0, 1, 5})
    for (int64_t K : {1, 10, 33, 70})
      for (bool log : {false, true}) {
        const std::string name = "_rows" + std::to_string(rows) + "_K" + std::to_string(K) + (log ? "_log" : "");
        out.push_back({"softmax_forward" + name, [=] {
                         std::mt19937 rng(1);
                         const auto x = randn(rng, rows * K);
                         auto ya = nans(rows * K);
                         DeviceBuffer dx(x), yb(nans(rows * K));
                         cpu::softmax_forward(x.data(), ya.data(), rows, K, log);
                         gpu::softmax_forward(dx.get(), yb.get(), rows, K, log, nullptr);
                         EXPECT_TRUE(close(yb.to_host(), ya, kFloatSumTol));
                       }});
        out.push_back({"softmax_backward" + name, [=] {
                         std::mt19937 rng(2);
                         const auto x = randn(rng, rows * K), gy = randn(rng, rows * K);
                         auto y = nans(rows * K);
                         cpu::softmax_forward(x.data(), y.data(), rows, K, log);
                         auto ga = nans(rows * K);
                         DeviceBuffer dy(y), dgy(gy), gb(nans(rows * K));
                         cpu::softmax_backward(y.data(), gy.data(), ga.data(), rows, K, log);
                         gpu::softmax_backward(dy.get(), dgy.get(), gb.get(), rows, K, log, nullptr);
                         EXPECT_TRUE(close(gb.to_host(), ga, kFloatSumTol));
                       }});
      }
  for (int64_t rows : {0, 5, 70})
    for (int64_t K : {10, 33})
      for (float smoothing : {0.0f, 0.1f}) {
        const std::string name = "_rows" + std::to_string(rows) + "_K" + std::to_string(K) +
                                 (smoothing > 0 ? "_smoothed" : "");
        out.push_back({"cross_entropy_forward" + name, [=] {
                         std::mt19937 rng(3);
                         const auto x = randn(rng, rows * K);
                         const auto l = labels(rng, rows, K);
                         auto la = nans(rows * K), ra = nans(1);
                         DeviceBuffer dx(x), lb(nans(rows * K)), row_loss(nans(rows)), rb(nans(1));
                         DeviceBuffer dl(l);
                         cpu::cross_entropy_forward(x.data(), l.data(), la.data(), ra.data(), rows, K, smoothing);
                         gpu::cross_entropy_forward(dx.get(), dl.get(), lb.get(), row_loss.get(), rb.get(), rows, K,
                                                    smoothing, nullptr);
                         EXPECT_TRUE(close(lb.to_host(), la, kFloatSumTol)) << "log p";
                         EXPECT_TRUE(close(rb.to_host(), ra, kFloatSumTol)) << "loss";
                       }});
        out.push_back({"cross_entropy_backward" + name, [=] {
                         std::mt19937 rng(4);
                         const auto x = randn(rng, rows * K);
                         const auto l = labels(rng, rows, K);
                         auto logp = nans(rows * K), loss = nans(1);
                         cpu::cross_entropy_forward(x.data(), l.data(), logp.data(), loss.data(), rows, K, smoothing);
                         const std::vector<float> gloss{1.7f};
                         auto ga = nans(rows * K);
                         DeviceBuffer dlogp(logp), dgloss(gloss), gb(nans(rows * K));
                         DeviceBuffer dl(l);
                         cpu::cross_entropy_backward(logp.data(), l.data(), gloss.data(), ga.data(), rows, K, smoothing);
                         gpu::cross_entropy_backward(dlogp.get(), dl.get(), dgloss.get(), gb.get(), rows, K, smoothing,
                                                     nullptr);
                         EXPECT_TRUE(same(gb.to_host(), ga));
                       }});
      }
  for (int64_t rows : {0, 5, 70})
    for (int64_t K : {1, 10, 40}) {
      out.push_back({"count_correct_rows" + std::to_string(rows) + "_K" + std::to_string(K), [=] {
                       std::mt19937 rng(5);
                       auto x = randn(rng, rows * K);
                       for (float& v : x) v = std::round(v);  // ties: the first maximum counts
                       auto l = labels(rng, rows, K);
                       for (int64_t r = 0; r < rows; r += 3) {  // make some predictions right
                         const float* xr = x.data() + r * K;
                         l[static_cast<size_t>(r)] = int32_t(std::max_element(xr, xr + K) - xr);
                       }
                       auto ca = nans(1);
                       DeviceBuffer dx(x), cb(nans(1));
                       DeviceBuffer dl(l);
                       cpu::count_correct(x.data(), l.data(), ca.data(), rows, K);
                       gpu::count_correct(dx.get(), dl.get(), cb.get(), rows, K, nullptr);
                       EXPECT_TRUE(same(cb.to_host(), ca));
                     }});
    }
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_softmax, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
