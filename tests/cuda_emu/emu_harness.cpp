// The one parameterised test of tests/cuda_emu; the tables are instantiated by the
// test_<file>_emu.cpp files (see emu_harness.h).
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
TEST_P(CudaEmu, MatchesCpuReference) { GetParam().check(); }
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CudaEmu);
}  // namespace bnas::testing
