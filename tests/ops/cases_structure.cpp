// Op cases: weighted_sum, concat_channels, narrow, reshape, channel_shuffle, strided_zero,
// drop_path (mirrored by tests/reference/op_cases/structure.py).
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

Tensor wsum(const V& in) {  // the last input is the weight vector
  return ops::weighted_sum(V(in.begin(), in.end() - 1), in.back());
}
std::vector<InputSpec> wsum_inputs(int n, Shape s) {
  std::vector<InputSpec> v(static_cast<size_t>(n), normal(s));
  v.push_back(normal({n}));
  return v;
}

BNAS_OP_CASES({
    {"weighted_sum_3", wsum_inputs(3, {2, 3, 4, 4}), wsum},
    {"weighted_sum_8", wsum_inputs(8, {2, 3, 3, 3}), wsum},
    {"concat_channels_3",
     {normal({2, 2, 3, 3}), normal({2, 3, 3, 3}), normal({2, 1, 3, 3})},
     [](const V& in) { return ops::concat_channels(in); }},
    // Channel-slice views as inputs (read in place, samples further apart than their size).
    {"concat_channels_views", {normal({2, 5, 3, 3})},
     [](const V& in) {
       return ops::concat_channels({ops::narrow(in[0], 1, 3, 2), ops::narrow(in[0], 1, 0, 3)});
     }},
    {"narrow_dim1", {normal({2, 6, 3, 3})}, [](const V& in) { return ops::narrow(in[0], 1, 2, 3); }},
    {"narrow_dim0", {normal({4, 3, 3, 3})}, [](const V& in) { return ops::narrow(in[0], 0, 1, 2); }},
    // dim 0 of a channel-slice view (the copying path), then dim 1 of that.
    {"narrow_strided_view", {normal({3, 6, 3, 3})},
     [](const V& in) { return ops::narrow(ops::narrow(ops::narrow(in[0], 1, 1, 4), 0, 1, 2), 1, 1, 2); }},
    {"narrow_dim0_2d", {normal({5, 7})}, [](const V& in) { return ops::narrow(in[0], 0, 2, 3); }},
    {"reshape", {normal({2, 3, 4, 4})}, [](const V& in) { return ops::reshape(in[0], {6, 16}); }},
    {"reshape_view", {normal({2, 3, 4, 4})},
     [](const V& in) { return ops::reshape(ops::narrow(in[0], 1, 1, 2), {2, 32}); }},
    {"channel_shuffle_g2", {normal({2, 4, 3, 3})}, [](const V& in) { return ops::channel_shuffle(in[0], 2); }},
    {"channel_shuffle_g4", {normal({2, 8, 2, 2})}, [](const V& in) { return ops::channel_shuffle(in[0], 4); }},
    {"channel_shuffle_view", {normal({2, 6, 2, 2})},
     [](const V& in) { return ops::channel_shuffle(ops::narrow(in[0], 1, 2, 4), 2); }},
    {"strided_zero_s1", {normal({2, 3, 5, 5})}, [](const V& in) { return ops::strided_zero(in[0], 1); }},
    {"strided_zero_s2", {normal({2, 3, 5, 4})}, [](const V& in) { return ops::strided_zero(in[0], 2); }},
    // A fresh generator per call, so every call (gradcheck calls fn many times) draws the same
    // mask: samples 3 and 5 of 6 dropped at p = 0.4 (reproduced by tests/reference/philox.py).
    {"drop_path", {normal({6, 2, 3, 3})},
     [](const V& in) {
       Generator gen(7, RngStream::Test);
       return ops::drop_path(in[0], 0.4, gen);
     }},
});
}  // namespace
}  // namespace bnas::testing
