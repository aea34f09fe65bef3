// Op cases: max_pool2d (3x3 stride 1 / 2 padding 1, 2x2 stride 2), avg_pool2d (3x3 stride 1 / 2
// padding 1, padding not counted) and global_avg_pool; odd and even sizes exercise the borders.
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
ops::Pool2dArgs pool(int k, int s, int p) { return {k, s, p}; }

BNAS_OP_CASES({
    {"max_pool_k3s1p1", {normal({2, 3, 5, 5})}, [](const V& in) { return ops::max_pool2d(in[0], pool(3, 1, 1)); }},
    {"max_pool_k3s2p1", {normal({2, 3, 7, 7})}, [](const V& in) { return ops::max_pool2d(in[0], pool(3, 2, 1)); }},
    {"max_pool_k3s2p1_even", {normal({2, 2, 6, 8})}, [](const V& in) { return ops::max_pool2d(in[0], pool(3, 2, 1)); }},
    {"max_pool_k2s2p0", {normal({2, 3, 6, 6})}, [](const V& in) { return ops::max_pool2d(in[0], pool(2, 2, 0)); }},
    {"max_pool_k2s2p0_odd", {normal({2, 2, 5, 7})}, [](const V& in) { return ops::max_pool2d(in[0], pool(2, 2, 0)); }},
    {"avg_pool_k3s1p1", {normal({2, 3, 5, 5})}, [](const V& in) { return ops::avg_pool2d(in[0], pool(3, 1, 1)); }},
    {"avg_pool_k3s2p1", {normal({2, 3, 7, 7})}, [](const V& in) { return ops::avg_pool2d(in[0], pool(3, 2, 1)); }},
    {"avg_pool_k3s2p1_even", {normal({2, 2, 6, 8})}, [](const V& in) { return ops::avg_pool2d(in[0], pool(3, 2, 1)); }},
    {"global_avg_pool", {normal({2, 3, 4, 5})}, [](const V& in) { return ops::global_avg_pool(in[0]); }},
});
}  // namespace
}  // namespace bnas::testing
