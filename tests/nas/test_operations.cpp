// Candidate operations: parameter counts computed by hand from the shapes, tensor names and
// orders against the authors' PyTorch modules, output shapes, and forward/backward numbers
// against tests/reference/nas_operations.py (PyTorch, float64).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "nas/operations.h"

namespace bnas::nas {
namespace {

using P = Primitive;

ParamOptions options(Generator& gen, DType dtype = DType::F32) {
  ParamOptions o;
  o.gen = &gen;
  o.dtype = dtype;
  return o;
}

std::vector<std::string> names(const NamedTensors& t) {
  std::vector<std::string> out;
  for (const auto& [n, x] : t) out.push_back(n);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parameter counts, by hand. C = 16 channels, k x k depthwise kernels.

TEST(Operations, ParameterCountsSearchForm) {
  Generator gen(1);
  const auto o = options(gen);
  const int C = 16;
  auto count = [&](P p, int stride) { return make_operation(p, C, stride, OpForm::kSearch, o)->parameter_count(); };
  for (int s : {1, 2}) {
    EXPECT_EQ(count(P::kNone, s), 0);
    EXPECT_EQ(count(P::kMaxPool3x3, s), 0);  // the extra BN is not affine
    EXPECT_EQ(count(P::kAvgPool3x3, s), 0);
    // sep 3x3: two depthwise 16*1*3*3 = 144 and two pointwise 16*16 = 256 -> 800, BN not affine.
    EXPECT_EQ(count(P::kSepConv3x3, s), 2 * 144 + 2 * 256);
    // sep 5x5: two depthwise 16*25 = 400 and two pointwise 256 -> 1312.
    EXPECT_EQ(count(P::kSepConv5x5, s), 2 * 400 + 2 * 256);
    // dil 3x3: depthwise 144 + pointwise 256 = 400; dil 5x5: 400 + 256 = 656.
    EXPECT_EQ(count(P::kDilConv3x3, s), 144 + 256);
    EXPECT_EQ(count(P::kDilConv5x5, s), 400 + 256);
  }
  EXPECT_EQ(count(P::kSkipConnect, 1), 0);  // identity
  // FactorizedReduce(16, 16): two 1x1 convs 16 -> 8: 2 * 128 = 256.
  EXPECT_EQ(count(P::kSkipConnect, 2), 2 * 8 * 16);
}

TEST(Operations, ParameterCountsEvalForm) {
  Generator gen(1);
  const auto o = options(gen);
  const int C = 16;
  auto count = [&](P p, int stride) { return make_operation(p, C, stride, OpForm::kEval, o)->parameter_count(); };
  for (int s : {1, 2}) {
    EXPECT_EQ(count(P::kNone, s), 0);
    EXPECT_EQ(count(P::kMaxPool3x3, s), 0);
    EXPECT_EQ(count(P::kAvgPool3x3, s), 0);
    // As in search form plus affine BN weight and bias: 2 * 16 per BN.
    EXPECT_EQ(count(P::kSepConv3x3, s), 800 + 2 * 32);
    EXPECT_EQ(count(P::kSepConv5x5, s), 1312 + 2 * 32);
    EXPECT_EQ(count(P::kDilConv3x3, s), 400 + 32);
    EXPECT_EQ(count(P::kDilConv5x5, s), 656 + 32);
  }
  EXPECT_EQ(count(P::kSkipConnect, 1), 0);
  EXPECT_EQ(count(P::kSkipConnect, 2), 256 + 32);
}

TEST(Operations, ParameterCountsOfBlocks) {
  Generator gen(1);
  const auto o = options(gen);
  // ReLUConvBN 48 -> 16, 1x1: 48 * 16 = 768 weights, + 32 affine.
  EXPECT_EQ(ReLUConvBN(48, 16, 1, 1, 0, true, o).parameter_count(), 768 + 32);
  EXPECT_EQ(ReLUConvBN(48, 16, 1, 1, 0, false, o).parameter_count(), 768);
  // ReLUConvBN 4 -> 6, 3x3: 6 * 4 * 9 = 216 (+ 12 affine).
  EXPECT_EQ(ReLUConvBN(4, 6, 3, 2, 1, true, o).parameter_count(), 216 + 12);
  // FactorizedReduce 48 -> 64: two 48 -> 32 1x1 convs = 2 * 1536 = 3072 (+ 128 affine).
  EXPECT_EQ(FactorizedReduce(48, 64, true, o).parameter_count(), 3072 + 128);
  EXPECT_EQ(FactorizedReduce(48, 64, false, o).parameter_count(), 3072);
  // SepConv 8 -> 12, 5x5: depthwise 8*25 = 200 twice, 8*8 = 64, 8*12 = 96, BN 2*8 + 2*12 = 40.
  EXPECT_EQ(SepConv(8, 12, 5, 1, 2, true, o).parameter_count(), 400 + 64 + 96 + 40);
  // DilConv 8 -> 12, 3x3: 8*9 = 72 + 96 + 24.
  EXPECT_EQ(DilConv(8, 12, 3, 2, 2, 2, true, o).parameter_count(), 72 + 96 + 24);
}

// ---------------------------------------------------------------------------------------------
// Names: the state_dict keys of the authors' modules (printed by PyTorch, minus
// num_batches_tracked), in PyTorch order.

TEST(Operations, TensorNamesFollowThePyTorchModulePaths) {
  Generator gen(1);
  const auto o = options(gen);
  const std::vector<std::string> sep_search = {"op.1.weight",       "op.2.weight",       "op.3.running_mean",
                                               "op.3.running_var",  "op.5.weight",       "op.6.weight",
                                               "op.7.running_mean", "op.7.running_var"};
  EXPECT_EQ(names(make_operation(P::kSepConv3x3, 6, 1, OpForm::kSearch, o)->state_dict()), sep_search);
  const std::vector<std::string> sep_eval = {
      "op.1.weight", "op.2.weight", "op.3.weight", "op.3.bias", "op.3.running_mean", "op.3.running_var",
      "op.5.weight", "op.6.weight", "op.7.weight", "op.7.bias", "op.7.running_mean", "op.7.running_var"};
  EXPECT_EQ(names(make_operation(P::kSepConv5x5, 6, 2, OpForm::kEval, o)->state_dict()), sep_eval);
  const std::vector<std::string> sep_eval_params = {"op.1.weight", "op.2.weight", "op.3.weight", "op.3.bias",
                                                    "op.5.weight", "op.6.weight", "op.7.weight", "op.7.bias"};
  EXPECT_EQ(names(make_operation(P::kSepConv5x5, 6, 2, OpForm::kEval, o)->named_parameters()), sep_eval_params);
  EXPECT_EQ(names(make_operation(P::kDilConv5x5, 6, 1, OpForm::kEval, o)->state_dict()),
            (std::vector<std::string>{"op.1.weight", "op.2.weight", "op.3.weight", "op.3.bias",
                                      "op.3.running_mean", "op.3.running_var"}));
  EXPECT_EQ(names(make_operation(P::kDilConv3x3, 6, 2, OpForm::kSearch, o)->state_dict()),
            (std::vector<std::string>{"op.1.weight", "op.2.weight", "op.3.running_mean", "op.3.running_var"}));
  EXPECT_EQ(names(make_operation(P::kMaxPool3x3, 6, 1, OpForm::kSearch, o)->state_dict()),
            (std::vector<std::string>{"1.running_mean", "1.running_var"}));
  EXPECT_EQ(names(make_operation(P::kAvgPool3x3, 6, 2, OpForm::kSearch, o)->state_dict()),
            (std::vector<std::string>{"1.running_mean", "1.running_var"}));
  EXPECT_TRUE(make_operation(P::kAvgPool3x3, 6, 2, OpForm::kEval, o)->state_dict().empty());
  EXPECT_TRUE(make_operation(P::kNone, 6, 2, OpForm::kSearch, o)->state_dict().empty());
  EXPECT_EQ(names(make_operation(P::kSkipConnect, 6, 2, OpForm::kSearch, o)->state_dict()),
            (std::vector<std::string>{"conv_1.weight", "conv_2.weight", "bn.running_mean", "bn.running_var"}));
  EXPECT_EQ(names(FactorizedReduce(4, 6, true, o).state_dict()),
            (std::vector<std::string>{"conv_1.weight", "conv_2.weight", "bn.weight", "bn.bias",
                                      "bn.running_mean", "bn.running_var"}));
  EXPECT_EQ(names(ReLUConvBN(4, 6, 1, 1, 0, false, o).state_dict()),
            (std::vector<std::string>{"op.1.weight", "op.2.running_mean", "op.2.running_var"}));
  EXPECT_TRUE(make_operation(P::kSkipConnect, 6, 1, OpForm::kEval, o)->is_identity());
  EXPECT_FALSE(make_operation(P::kSkipConnect, 6, 2, OpForm::kEval, o)->is_identity());
}

TEST(Operations, ShapesOfWeightsAndInitialisation) {
  Generator gen(3);
  const auto o = options(gen);
  auto op = make_operation(P::kDilConv5x5, 8, 2, OpForm::kEval, o);
  const NamedTensors p = op->named_parameters();
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].second.shape(), (Shape{8, 1, 5, 5}));  // depthwise
  EXPECT_EQ(p[1].second.shape(), (Shape{8, 8, 1, 1}));  // pointwise
  EXPECT_EQ(p[2].second.shape(), (Shape{8}));
  for (const auto& [n, t] : p) EXPECT_TRUE(t.requires_grad()) << n;
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)): depthwise fan_in = 25, pointwise 8.
  for (double v : p[0].second.to_doubles()) EXPECT_LE(std::abs(v), 1.0 / 5.0);
  for (double v : p[1].second.to_doubles()) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(8.0));
  for (double v : p[2].second.to_doubles()) EXPECT_EQ(v, 1.0);
  for (double v : p[3].second.to_doubles()) EXPECT_EQ(v, 0.0);
  const NamedTensors b = op->named_buffers();
  ASSERT_EQ(b.size(), 2u);
  for (double v : b[1].second.to_doubles()) EXPECT_EQ(v, 1.0);  // running_var
  // The same seed gives the same weights.
  Generator gen2(3);
  auto again = make_operation(P::kDilConv5x5, 8, 2, OpForm::kEval, options(gen2));
  EXPECT_EQ(again->named_parameters()[0].second.to_doubles(), p[0].second.to_doubles());
}

TEST(Operations, BadArguments) {
  Generator gen(1);
  const auto o = options(gen);
  auto msg = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_NE(msg([&] { FactorizedReduce(4, 5, true, o); }).find("even"), std::string::npos);
  EXPECT_NE(msg([&] { make_operation(P::kSepConv3x3, 4, 3, OpForm::kEval, o); }).find("stride 1 or 2"),
            std::string::npos);
  EXPECT_NE(msg([&] { make_operation(P::kSepConv3x3, 0, 1, OpForm::kEval, o); }).find("positive channel"),
            std::string::npos);
  ParamOptions no_gen;
  EXPECT_NE(msg([&] { make_operation(P::kSepConv3x3, 4, 1, OpForm::kEval, no_gen); }).find("generator"),
            std::string::npos);
  FactorizedReduce fr(4, 4, true, o);
  EXPECT_NE(msg([&] { fr.forward(Tensor::zeros({1, 4, 7, 8}), true); }).find("even H and W"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Forward and backward against PyTorch (tests/reference/nas_operations.py).

std::vector<double> formula(int64_t n, double (*f)(int64_t, int64_t), int64_t k = 0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = f(i, k);
  return v;
}
double weight_formula(int64_t i, int64_t k) { return 0.5 * std::sin(0.3 * double(i) + 0.7 * double(k)); }
double input_formula(int64_t i, int64_t) { return std::sin(0.05 * double(i) + 0.1) + 0.2 * std::cos(0.9 * double(i)); }
double out_weight_formula(int64_t i, int64_t) { return std::cos(0.37 * double(i)); }
double input_probe_formula(int64_t i, int64_t) { return std::sin(0.11 * double(i)); }
double param_probe_formula(int64_t i, int64_t k) { return std::sin(0.13 * double(i) + double(k)); }

struct Numbers {
  double s, gx, gw;
  Shape shape;
};

double dot(const Tensor& a, const std::vector<double>& b) {
  if (!a.defined()) return 0.0;
  const std::vector<double> v = a.to_doubles();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * b[i];
  return s;
}

// Sets the formula weights, runs forward in training mode on the formula input (float64, CPU)
// and returns S = sum(out * R), dS/dx . probe and sum_k dS/dp_k . probe_k.
Numbers run(Op& op, const Shape& in_shape) {
  const NamedTensors params = op.named_parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor t = params[k].second;
    t.copy_(Tensor::from_vector(formula(t.numel(), weight_formula, int64_t(k)), t.shape(), DType::F64));
  }
  Tensor x = Tensor::from_vector(formula(in_shape.numel(), input_formula), in_shape, DType::F64);
  x.set_requires_grad(true);
  const Tensor out = op.forward(x, true);
  const Tensor r = Tensor::from_vector(formula(out.numel(), out_weight_formula), out.shape(), DType::F64);
  Numbers n;
  n.shape = out.shape();
  n.s = dot(out, formula(out.numel(), out_weight_formula));
  std::vector<Tensor> leaves = {x};
  for (const auto& [name, t] : params) leaves.push_back(t);
  n.gx = 0;
  n.gw = 0;
  if (!out.requires_grad()) return n;  // zero op: no graph, all gradients zero
  const std::vector<Tensor> g = grad(out, leaves, r);
  n.gx = dot(g[0], formula(x.numel(), input_probe_formula));
  for (size_t k = 0; k < params.size(); ++k)
    n.gw += dot(g[k + 1], formula(params[k].second.numel(), param_probe_formula, int64_t(k)));
  return n;
}

struct Reference {
  const char* primitive;
  int stride;
  OpForm form;
  double s, gx, gw;
  Shape shape;
};

// Printed by tests/reference/nas_operations.py.
const Reference kReference[] = {
    {"none", 1, OpForm::kSearch, 0, 0, 0, {2, 4, 8, 8}},
    {"max_pool_3x3", 1, OpForm::kSearch, 3.9728481464489525, 3.1702490270843704, 0, {2, 4, 8, 8}},
    {"avg_pool_3x3", 1, OpForm::kSearch, 4.9790639407609305, 6.6256192963779137, 0, {2, 4, 8, 8}},
    {"skip_connect", 1, OpForm::kSearch, 1.1953221583735432, -0.85449621431327394, 0, {2, 4, 8, 8}},
    {"sep_conv_3x3", 1, OpForm::kSearch, -14.578147290307136, -4.1912158705181168, 71.826182460458824, {2, 4, 8, 8}},
    {"sep_conv_5x5", 1, OpForm::kSearch, 30.482888642410757, 2.6215617323877503, -61.097236234224773, {2, 4, 8, 8}},
    {"dil_conv_3x3", 1, OpForm::kSearch, 29.605768847565589, -2.6687155135353717, -5.8262691239512492, {2, 4, 8, 8}},
    {"dil_conv_5x5", 1, OpForm::kSearch, -8.5120602279728104, -16.235166739010502, 112.36058073339422, {2, 4, 8, 8}},
    {"none", 2, OpForm::kSearch, 0, 0, 0, {2, 4, 4, 4}},
    {"max_pool_3x3", 2, OpForm::kSearch, -17.04813646571418, 19.997087332470429, 0, {2, 4, 4, 4}},
    {"avg_pool_3x3", 2, OpForm::kSearch, -9.0675921715461136, 30.754116477609696, 0, {2, 4, 4, 4}},
    {"skip_connect", 2, OpForm::kSearch, 21.910450107767858, 88.871245769138142, -0.14656403024491649, {2, 4, 4, 4}},
    {"sep_conv_3x3", 2, OpForm::kSearch, -2.6398169974738734, -48.134477332520319, 11.10770503786479, {2, 4, 4, 4}},
    {"sep_conv_5x5", 2, OpForm::kSearch, 9.1198855799145448, -27.867813698271128, 262.50874159798025, {2, 4, 4, 4}},
    {"dil_conv_3x3", 2, OpForm::kSearch, -8.034531254043273, 0.29398550712970684, -13.847739144614389, {2, 4, 4, 4}},
    {"dil_conv_5x5", 2, OpForm::kSearch, 0.16946634925195636, 40.763611087193652, -20.695901805302089, {2, 4, 4, 4}},
    {"none", 1, OpForm::kEval, 0, 0, 0, {2, 4, 8, 8}},
    {"max_pool_3x3", 1, OpForm::kEval, 1.6879018814105577, -2.1877019479656066, 0, {2, 4, 8, 8}},
    {"avg_pool_3x3", 1, OpForm::kEval, 1.1552342630720243, 0.048652769762959069, 0, {2, 4, 8, 8}},
    {"skip_connect", 1, OpForm::kEval, 1.1953221583735432, -0.85449621431327394, 0, {2, 4, 8, 8}},
    {"sep_conv_3x3", 1, OpForm::kEval, 8.7557600798683737, -7.8690119920868487, 38.11144381674908, {2, 4, 8, 8}},
    {"sep_conv_5x5", 1, OpForm::kEval, 6.6058076973353597, -11.69951451685699, -14.954491368693668, {2, 4, 8, 8}},
    {"dil_conv_3x3", 1, OpForm::kEval, 13.427016023432758, -1.1907175702346531, 20.356635359705642, {2, 4, 8, 8}},
    {"dil_conv_5x5", 1, OpForm::kEval, -4.0455203541322469, -7.4237087020996579, 41.407453332288313, {2, 4, 8, 8}},
    {"none", 2, OpForm::kEval, 0, 0, 0, {2, 4, 4, 4}},
    {"max_pool_3x3", 2, OpForm::kEval, -7.148204054304335, 8.6260736479890596, 0, {2, 4, 4, 4}},
    {"avg_pool_3x3", 2, OpForm::kEval, -3.2711270578974343, 9.1733787954159176, 0, {2, 4, 4, 4}},
    {"skip_connect", 2, OpForm::kEval, 8.5607395866114029, 39.313756524838283, 14.998094037835855, {2, 4, 4, 4}},
    {"sep_conv_3x3", 2, OpForm::kEval, -0.16087206626056388, -2.8720485699670153, 3.8923655435434474, {2, 4, 4, 4}},
    {"sep_conv_5x5", 2, OpForm::kEval, 7.2782004812146193, -11.137343825332595, 10.852003557659719, {2, 4, 4, 4}},
    {"dil_conv_3x3", 2, OpForm::kEval, -2.0483641219861326, 1.4145832383184256, -10.316337419144137, {2, 4, 4, 4}},
    {"dil_conv_5x5", 2, OpForm::kEval, -0.16064918964858727, 14.800168666276114, -7.3609281902060939, {2, 4, 4, 4}},
};

void expect_close(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::abs(want))) << what;
}

TEST(OperationsGolden, EveryCandidateOpMatchesPyTorch) {
  for (const auto& ref : kReference) {
    const std::string what = std::string(ref.primitive) + " stride " + std::to_string(ref.stride) +
                             (ref.form == OpForm::kSearch ? " search" : " eval");
    Generator gen(7);
    auto op = make_operation(primitive_from_name(ref.primitive), 4, ref.stride, ref.form,
                             options(gen, DType::F64));
    const Numbers n = run(*op, {2, 4, 8, 8});
    EXPECT_EQ(n.shape, ref.shape) << what;
    expect_close(n.s, ref.s, what + ": sum(out * R)");
    expect_close(n.gx, ref.gx, what + ": input gradient");
    expect_close(n.gw, ref.gw, what + ": parameter gradients");
  }
}

TEST(OperationsGolden, BlocksMatchPyTorch) {
  Generator gen(7);
  const auto o = options(gen, DType::F64);
  FactorizedReduce fr(6, 8, true, o);
  Numbers n = run(fr, {2, 6, 6, 10});
  EXPECT_EQ(n.shape, (Shape{2, 8, 3, 5}));
  expect_close(n.s, 1.7455246366957047, "FactorizedReduce S");
  expect_close(n.gx, 14.152576273414391, "FactorizedReduce input gradient");
  expect_close(n.gw, 8.3928527788976535, "FactorizedReduce parameter gradients");
  ReLUConvBN rcb(4, 6, 3, 2, 1, true, o);
  n = run(rcb, {2, 4, 8, 8});
  EXPECT_EQ(n.shape, (Shape{2, 6, 4, 4}));
  expect_close(n.s, 0.013897557093503599, "ReLUConvBN S");
  expect_close(n.gx, -4.0698320772189742, "ReLUConvBN input gradient");
  expect_close(n.gw, 4.1437556221767498, "ReLUConvBN parameter gradients");
}

TEST(Operations, EvalModeUsesRunningStatisticsAndTrainingUpdatesThem) {
  Generator gen(5);
  auto op = make_operation(P::kSepConv3x3, 4, 1, OpForm::kSearch, options(gen));
  const Tensor x = Tensor::from_vector(formula(2 * 4 * 6 * 6, input_formula), {2, 4, 6, 6});
  const NamedTensors buffers = op->named_buffers();
  const std::vector<double> before = buffers[0].second.to_doubles();
  op->forward(x, false);
  EXPECT_EQ(buffers[0].second.to_doubles(), before);
  op->forward(x, true);
  EXPECT_NE(buffers[0].second.to_doubles(), before);
}

}  // namespace
}  // namespace bnas::nas
