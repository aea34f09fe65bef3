// Op cases: relu, add, scale.
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
BNAS_OP_CASES({
    {"relu", {normal({2, 3, 4, 5})}, [](const V& in) { return ops::relu(in[0]); }},
    {"add", {normal({2, 3, 4, 5}), normal({2, 3, 4, 5})}, [](const V& in) { return ops::add(in[0], in[1]); }},
    {"scale", {normal({2, 3, 4, 5})}, [](const V& in) { return ops::scale(in[0], -0.75); }},
});
}  // namespace
}  // namespace bnas::testing
