// Op cases: relu, add, scale.
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
// Bitwise on the GPU: relu selects (x or 0, and gy or 0 backward); add is one IEEE addition per
// element (axpby with a = b = 1: 1 * x is exact, so even a contracted fma(1, x, y) rounds once,
// as x + y does); scale is one multiplication, forward and backward.
BNAS_OP_CASES(gpu_parity_all(0, 0, "one selection, addition or multiplication per element: exact", {
    {"relu", {normal({2, 3, 4, 5})}, [](const V& in) { return ops::relu(in[0]); }},
    {"add", {normal({2, 3, 4, 5}), normal({2, 3, 4, 5})}, [](const V& in) { return ops::add(in[0], in[1]); }},
    {"scale", {normal({2, 3, 4, 5})}, [](const V& in) { return ops::scale(in[0], -0.75); }},
}));
}  // namespace
}  // namespace bnas::testing
