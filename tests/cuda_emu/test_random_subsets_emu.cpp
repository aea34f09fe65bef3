// kernels/cuda/random_subsets.cu on the emulated device against kernels/cpu/random_subsets, with
// a 32-thread block, so that rows span several rounds of the block and a thread's elements wrap
// from one row into the next: the subsets (every element, the scratch aside) and the advanced
// counter, for rows narrower and wider than the block, k = 1, 2, 4, and a counter about to wrap.
// Integer math on both sides: exact.
#include "random_subsets_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/random_subsets.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_random_subsets;

EmuCase draw_case(std::string name, std::vector<int32_t> sizes, int k, uint32_t counter) {
  return {name, [=] {
            int64_t total = 0;
            for (int32_t n : sizes) total += n;
            const size_t scratch = static_cast<size_t>(total) + sizes.size();
            std::vector<int32_t> out_a(static_cast<size_t>(total / k), -1);
            std::vector<uint32_t> counter_a{counter}, scratch_a(scratch);
            DeviceBuffer<int32_t> dsizes(sizes), out_b(out_a);
            DeviceBuffer<uint32_t> counter_b(counter_a), scratch_b{std::vector<uint32_t>(scratch)};
            const int rows = static_cast<int>(sizes.size());
            kernels::cpu::draw_subsets(sizes.data(), rows, k, 17, 5, counter_a.data(), scratch_a.data(), out_a.data());
            gpu::draw_subsets(dsizes.get(), rows, k, 17, 5, counter_b.get(), scratch_b.get(), out_b.get(), nullptr);
            EXPECT_TRUE(same(out_b.to_host(), out_a));
            EXPECT_TRUE(same(counter_b.to_host(), counter_a));
            EXPECT_EQ(counter_a[0], counter + 1u);
          }};
}

std::vector<EmuCase> cases() {
  return {draw_case("one_narrow_row", {8}, 4, 0),
          draw_case("rows_across_the_block", {16, 16, 32, 64, 100, 12}, 4, 3),
          draw_case("full_rows_k1", {5, 40}, 1, 9),
          draw_case("halves_k2", {6, 70, 2}, 2, 1234567),
          draw_case("counter_wraps", {20, 36}, 4, 0xffffffffu)};
}
INSTANTIATE_TEST_SUITE_P(emu_random_subsets, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
