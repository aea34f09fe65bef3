// Unit tests of the architecture step, the confident learning rate, add_scaled_, presets and
// the search loop's warm-up, bilevel step and communicator call sites (the architect's and the
// loop's on both the TinySupernet and a small real BroadSupernet, whose edges are fused).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "nas/architect.h"
#include "nas/confident_lr.h"
#include "nas/search.h"
#include "search_test_util.h"

namespace bnas::nas {
namespace {

// ---- add_scaled_ -------------------------------------------------------------------------------

template <class T> void check_add_scaled(DType dt) {
  Tensor y = Tensor::from_vector({1, 2, 3, 4, 5}, Shape{5}, dt);
  const Tensor x = Tensor::from_vector({0.5, -1, 2, 0.25, 3}, Shape{5}, dt);
  const Tensor c = Tensor::from_vector({4}, Shape{1}, dt);
  ops::add_scaled_(y, x, c, -0.5);  // y += -2 x
  EXPECT_EQ(y.to_doubles(), (std::vector<double>{0, 4, -1, 3.5, -1}));
  const Tensor zero = Tensor::zeros(Shape{1}, dt);
  ops::add_scaled_(y, x, zero, 1.0);
  EXPECT_EQ(y.to_doubles(), (std::vector<double>{0, 4, -1, 3.5, -1}));
}

TEST(AddScaled, CpuFloatAndDouble) {
  check_add_scaled<float>(DType::F32);
  check_add_scaled<double>(DType::F64);
}

TEST(AddScaled, LargeAndStridedSource) {
  const int64_t n = 100000;  // above the OpenMP threshold
  std::vector<double> xv(n), yv(n);
  for (int64_t i = 0; i < n; ++i) xv[i] = std::sin(0.1 * i), yv[i] = std::cos(0.3 * i);
  Tensor y = Tensor::from_vector(yv, Shape{n}, DType::F64);
  const Tensor x = Tensor::from_vector(xv, Shape{n}, DType::F64);
  const Tensor c = Tensor::from_vector({0.75}, Shape{1}, DType::F64);
  ops::add_scaled_(y, x, c, 2.0);
  const auto out = y.to_doubles();
  for (int64_t i = 0; i < n; i += 997) EXPECT_DOUBLE_EQ(out[i], yv[i] + 1.5 * xv[i]);
  // A channel-slice source is read through contiguous().
  const Tensor big = Tensor::from_vector(std::vector<double>(2 * 4 * 3 * 3, 1.0), Shape{2, 4, 3, 3}, DType::F64);
  Tensor dst = Tensor::zeros(Shape{2, 2, 3, 3}, DType::F64);
  ops::add_scaled_(dst, big.channel_slice(1, 3), c, 1.0);
  for (double v : dst.to_doubles()) EXPECT_EQ(v, 0.75);
}

TEST(AddScaled, RejectsBadArguments) {
  Tensor y = Tensor::zeros(Shape{3});
  EXPECT_THROW(ops::add_scaled_(y, Tensor::zeros(Shape{4}), Tensor::zeros(Shape{1}), 1.0), Error);
  EXPECT_THROW(ops::add_scaled_(y, Tensor::zeros(Shape{3}), Tensor::zeros(Shape{2}), 1.0), Error);
  EXPECT_THROW(ops::add_scaled_(y, Tensor::zeros(Shape{3}), Tensor::zeros(Shape{1}, DType::F64), 1.0), Error);
}

// ---- confident learning rate ------------------------------------------------------------------

TEST(ConfidentLr, ValuesInBothModes) {
  ConfidentLr clr;
  EXPECT_EQ(clr.confidence(0, 50), 1.0);  // off
  EXPECT_EQ(clr.arch_lr(3e-4, 0, 50), 3e-4);
  EXPECT_EQ(clr.val_loss_scale(0, 50), 1.0);
  clr.enabled = true;
  clr.power = 2;
  EXPECT_DOUBLE_EQ(clr.confidence(0, 50), 1.0 / 2500);
  EXPECT_DOUBLE_EQ(clr.confidence(24, 50), 0.25);
  EXPECT_DOUBLE_EQ(clr.confidence(49, 50), 1.0);
  EXPECT_DOUBLE_EQ(clr.arch_lr(3e-4, 9, 50), 3e-4 * 0.04);
  EXPECT_EQ(clr.val_loss_scale(9, 50), 1.0);
  clr.mode = ClrMode::kScaleValLoss;
  EXPECT_EQ(clr.arch_lr(3e-4, 9, 50), 3e-4);
  EXPECT_DOUBLE_EQ(clr.val_loss_scale(9, 50), 0.04);
  clr.power = 1;
  EXPECT_DOUBLE_EQ(clr.val_loss_scale(4, 10), 0.5);
  EXPECT_EQ(parse_clr_mode("arch_lr"), ClrMode::kScaleArchLr);
  EXPECT_EQ(parse_clr_mode("val_loss"), ClrMode::kScaleValLoss);
  EXPECT_THROW(parse_clr_mode("loss"), Error);
}

// ---- presets ------------------------------------------------------------------------------------

TEST(SearchConfig, PresetsFollowTheTable) {
  const auto d = SearchConfig::preset_config("bnas-d");
  EXPECT_EQ(d.pc_k, 1);
  EXPECT_FALSE(d.edge_norm);
  EXPECT_FALSE(d.clr.enabled);
  EXPECT_EQ(d.batch, 256);
  EXPECT_EQ(d.lr, 0.025);
  EXPECT_EQ(d.lr_min, 0.001);
  EXPECT_EQ(d.arch_lr, 3e-4);
  EXPECT_EQ(d.arch_start_epoch, 0);
  EXPECT_EQ(d.epochs, 50);
  EXPECT_EQ(d.channels, 16);
  EXPECT_EQ(d.layers, 2);
  EXPECT_EQ(d.en_layers, 1);
  const auto c = SearchConfig::preset_config("bnas-v2-clr");
  EXPECT_TRUE(c.clr.enabled);
  EXPECT_EQ(c.clr.power, 2);
  EXPECT_EQ(c.clr.mode, ClrMode::kScaleArchLr);
  EXPECT_EQ(c.lr, 0.1);
  EXPECT_EQ(c.lr_min, 0);
  EXPECT_EQ(c.batch, 256);
  const auto p = SearchConfig::preset_config("bnas-v2-pc");
  EXPECT_EQ(p.pc_k, 4);
  EXPECT_TRUE(p.edge_norm);
  EXPECT_FALSE(p.clr.enabled);
  EXPECT_EQ(p.batch, 512);
  EXPECT_EQ(p.lr, 0.2);
  EXPECT_EQ(p.arch_lr, 6e-4);
  EXPECT_EQ(p.arch_start_epoch, 15);
  const auto i = SearchConfig::preset_config("imagenet");
  EXPECT_EQ(i.pc_k, 2);
  EXPECT_TRUE(i.edge_norm);
  EXPECT_EQ(i.warmup_epochs, 5);
  EXPECT_EQ(i.arch_lr, 6e-3);
  EXPECT_EQ(i.arch_grad_clip, 5);
  EXPECT_FALSE(i.unrolled);
  EXPECT_EQ(i.arch_start_epoch, 35);
  EXPECT_EQ(i.batch, 512);
  for (const auto& n : SearchConfig::preset_names()) {
    const auto cfg = SearchConfig::preset_config(n);
    EXPECT_EQ(cfg.momentum, 0.9);
    EXPECT_EQ(cfg.weight_decay, 3e-4);
    EXPECT_EQ(cfg.grad_clip, 5);
    EXPECT_EQ(cfg.arch_weight_decay, 1e-3);
    EXPECT_EQ(cfg.arch_beta1, 0.5);
    EXPECT_NO_THROW(cfg.validate());
  }
  EXPECT_THROW(SearchConfig::preset_config("darts"), Error);
}

TEST(SearchConfig, SwitchesAreIndependent) {
  auto c = SearchConfig::preset_config("bnas-v2-pc");
  c.clr.enabled = true;  // PC + CLR together
  c.clr.mode = ClrMode::kScaleValLoss;
  c.unrolled = true;
  c.pc_k = 2;
  EXPECT_NO_THROW(c.validate());
  c.pc_k = 3;
  EXPECT_THROW(c.validate(), Error);  // 16 channels not divisible by 3
}

// ---- the unrolled architecture gradient against finite differences ------------------------------

// A smooth search model (no ReLU, no max-pool: the unrolled loss contains grad_w L_train, whose
// ReLU/max-pool switches make it discontinuous in alpha, so central differences of it are only
// meaningful on a smooth model). float64 on the CPU:
//   s  = BN(conv3x3(x, w0))                                (non-affine, batch statistics)
//   n0 = mixed(s; alpha row 0)
//   n1 = softmax(beta)_0 mixed(s; alpha row 1) + softmax(beta)_1 mixed(n0; alpha row 2)
//   mixed(h; row) = sum_k softmax(row)_k op_k(h), ops = {conv3x3 + BN, avg_pool 3x3, identity, conv1x1}
//   logits = linear(GAP(concat(n0, n1)))
class SmoothModel : public SearchModel {
 public:
  explicit SmoothModel(uint64_t seed, int c = 3, int classes = 4) {
    Generator g(seed, RngStream::Init);
    auto param = [&](const Shape& sh, double sd) {
      Tensor t = Tensor::from_vector(g.normal(sh.numel(), 0, sd), sh, DType::F64);
      t.set_requires_grad(true);
      return t;
    };
    w0_ = param(Shape{c, 3, 3, 3}, 0.3);
    for (int e = 0; e < 3; ++e) {
      conv3_.push_back(param(Shape{c, c, 3, 3}, 0.3));
      conv1_.push_back(param(Shape{c, c, 1, 1}, 0.5));
      rm_.push_back(Tensor::zeros(Shape{c}, DType::F64));
      rv_.push_back(Tensor::full(Shape{c}, 1.0, DType::F64));
    }
    rm0_ = Tensor::zeros(Shape{c}, DType::F64);
    rv0_ = Tensor::full(Shape{c}, 1.0, DType::F64);
    fc_w_ = param(Shape{classes, 2 * c}, 0.5);
    fc_b_ = param(Shape{classes}, 0.1);
    alpha_ = param(Shape{3, 4}, 0.5);
    beta_ = param(Shape{2}, 0.5);
  }
  Tensor forward(const Tensor& x, bool training) override {
    ops::BatchNormArgs bn;
    bn.training = training;
    const Tensor s = ops::batch_norm(ops::conv2d(x, w0_, {1, 1, 1, 1}), Tensor(), Tensor(), rm0_, rv0_, bn);
    const Tensor a = ops::softmax(alpha_);
    auto mixed = [&](const Tensor& h, int e) {
      std::vector<Tensor> outs{
          ops::batch_norm(ops::conv2d(h, conv3_[e], {1, 1, 1, 1}), Tensor(), Tensor(), rm_[e], rv_[e], bn),
          ops::avg_pool2d(h, {3, 1, 1}), h, ops::conv2d(h, conv1_[e])};
      return ops::weighted_sum(outs, ops::reshape(ops::narrow(a, 0, e, 1), Shape{4}));
    };
    const Tensor n0 = mixed(s, 0);
    const Tensor n1 = ops::weighted_sum({mixed(s, 1), mixed(n0, 2)}, ops::softmax(beta_));
    return ops::linear(ops::global_avg_pool(ops::concat_channels({n0, n1})), fc_w_, fc_b_);
  }
  std::vector<Tensor> weights() const override {
    std::vector<Tensor> w{w0_};
    for (int e = 0; e < 3; ++e) w.push_back(conv3_[e]), w.push_back(conv1_[e]);
    w.push_back(fc_w_);
    w.push_back(fc_b_);
    return w;
  }
  NamedTensors arch_parameters() const override { return {{"alpha_conv", alpha_}, {"beta_conv", beta_}}; }
  NamedTensors state_dict() const override {
    NamedTensors out;
    for (const Tensor& w : weights()) out.emplace_back("w" + std::to_string(out.size()), w);
    out.emplace_back("rm0", rm0_);
    out.emplace_back("rv0", rv0_);
    for (int e = 0; e < 3; ++e) out.emplace_back("rm" + std::to_string(e + 1), rm_[e]), out.emplace_back("rv" + std::to_string(e + 1), rv_[e]);
    return out;
  }
  Genotype genotype() const override { return Genotype{}; }
  Device device() const override { return Device::cpu(); }

 private:
  Tensor w0_, rm0_, rv0_, fc_w_, fc_b_, alpha_, beta_;
  std::vector<Tensor> conv3_, conv1_, rm_, rv_;
};

data::Batch random_batch(uint64_t seed, int n = 6, int classes = 4) {
  Generator g(seed, RngStream::Test);
  data::Batch b;
  b.images = Tensor::from_vector(g.normal(static_cast<uint64_t>(n) * 3 * 6 * 6), Shape{n, 3, 6, 6}, DType::F64);
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(g.below(classes));
  b.labels = Tensor::from_ints(labels, Shape{n});
  return b;
}

Tensor batch_loss(SearchModel& m, const data::Batch& b) {
  return ops::cross_entropy(m.forward(b.images, true), b.labels);
}

// L_val(w - xi (mu m + grad_w L_train(w, alpha) + lambda w), alpha) at the model's current alpha;
// the weights are restored afterwards.
double unrolled_val_loss(SearchModel& m, const SGD& sgd, const data::Batch& tr, const data::Batch& va,
                         double xi) {
  std::vector<Tensor> w = m.weights();
  const auto gw = grad(batch_loss(m, tr), w);
  std::vector<Tensor> backup;
  std::vector<Tensor> mom(w.size());
  for (const auto& [n, t] : sgd.state())
    if (n.rfind("momentum.", 0) == 0) mom[std::stoul(n.substr(9))] = t;
  for (size_t i = 0; i < w.size(); ++i) {
    backup.push_back(w[i].clone());
    ops::add_(w[i], mom[i], -xi * sgd.options().momentum);
    ops::add_(w[i], gw[i], -xi);
    ops::add_(w[i], backup[i], -xi * sgd.options().weight_decay);
  }
  NoGradGuard ng;
  const double l = batch_loss(m, va).item();
  for (size_t i = 0; i < w.size(); ++i) w[i].copy_(backup[i]);
  return l;
}

struct FdComparison {
  double first_order_err = 0;
  std::vector<double> unrolled_err;  // per radius
};

// The architect's gradients against central differences (h = 1e-6) of the unrolled validation
// loss over every architecture entry, with momentum 0.9 (a non-zero buffer after one real SGD
// step) and weight decay 3e-4 included consistently.
FdComparison compare_unrolled(double xi, const std::vector<double>& radii) {
  SmoothModel model(5);
  const data::Batch tr = random_batch(11), va = random_batch(12), first = random_batch(13);
  SgdOptions so;
  so.lr = xi, so.momentum = 0.9, so.weight_decay = 3e-4;
  SGD sgd(model.weights(), so);
  sgd.zero_grad();
  backward(batch_loss(model, first), model.weights());
  sgd.step();

  auto arch_grad = [&](bool unrolled, double r) {
    ArchitectOptions ao;
    ao.unrolled = unrolled;
    ao.fd_radius = r;
    Architect arch(model, ao, &sgd);  // xi: sgd's learning rate
    arch.compute_gradient(tr, va);
    std::vector<double> out;
    for (const Tensor& t : arch.optimizer().grads()) {
      const auto v = t.to_doubles();
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  };
  std::vector<double> fd;
  const double h = 1e-6;
  for (auto& [n, t] : model.arch_parameters()) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      double* p = t.data<double>() + i;
      const double keep = *p;
      *p = keep + h;
      const double lp = unrolled_val_loss(model, sgd, tr, va, xi);
      *p = keep - h;
      const double lm = unrolled_val_loss(model, sgd, tr, va, xi);
      *p = keep;
      fd.push_back((lp - lm) / (2 * h));
    }
  }
  auto rel = [&](const std::vector<double>& gv) {
    double num = 0, den = 0;
    for (size_t i = 0; i < fd.size(); ++i) num += (gv[i] - fd[i]) * (gv[i] - fd[i]), den += fd[i] * fd[i];
    return std::sqrt(num / den);
  };
  FdComparison c;
  c.first_order_err = rel(arch_grad(false, 0.01));
  for (double r : radii) c.unrolled_err.push_back(rel(arch_grad(true, r)));
  return c;
}

TEST(Architect, UnrolledGradientMatchesFiniteDifferences) {
  const std::vector<double> radii{1.0, 0.1, 0.01, 1e-3, 1e-4};
  const FdComparison c = compare_unrolled(0.5, radii);
  std::printf("architecture gradient vs central differences of the one-step-unrolled validation loss "
              "(float64, xi 0.5, momentum 0.9, wd 3e-4):\n  first-order gradient: rel err %.3e\n",
              c.first_order_err);
  for (size_t i = 0; i < radii.size(); ++i)
    std::printf("  unrolled, eps = %g / ||v||: rel err %.3e\n", radii[i], c.unrolled_err[i]);
  EXPECT_GT(c.first_order_err, 1e-2);       // the Hessian term matters at this xi
  EXPECT_LT(c.unrolled_err[2], 1e-4);       // the specified eps = 0.01 / ||v||
  // The finite-difference Hessian error is O(eps^2): it shrinks towards the exact-Hessian limit.
  EXPECT_LT(c.unrolled_err[1], c.unrolled_err[0] / 10);
  EXPECT_LT(c.unrolled_err[2], c.unrolled_err[1]);
  EXPECT_LT(c.unrolled_err[3], 1e-6);
}

// The architect and the loop on both networks: the TinySupernet and a small real BroadSupernet.
class ArchitectStep : public ::testing::TestWithParam<testing::Supernet> {};
class SearchLoop : public ::testing::TestWithParam<testing::Supernet> {};
INSTANTIATE_TEST_SUITE_P(Supernets, ArchitectStep,
                         ::testing::Values(testing::Supernet::kTiny, testing::Supernet::kBroad),
                         testing::SupernetName());
INSTANTIATE_TEST_SUITE_P(Supernets, SearchLoop,
                         ::testing::Values(testing::Supernet::kTiny, testing::Supernet::kBroad),
                         testing::SupernetName());

// Two float64 batches of 8 of synthetic_set's 8 x 8 images, in order.
struct Batches64 {
  data::Batch train, valid;
  Batches64() {
    const auto set = testing::synthetic_set(16, 4, 8, 3);
    auto dev = data::upload(set, Device::cpu());
    data::LoaderOptions lo;
    lo.batch_size = 8;
    lo.shuffle = false;
    data::CropAugment aug;
    aug.mean = {0.3f, 0.3f, 0.3f}, aug.std = {0.3f, 0.3f, 0.3f};
    data::DeviceLoader l(dev, data::split_range(16, 0, 1), aug, lo);
    train = l.next_batch();
    valid = l.next_batch();
    train.images = train.images.to(DType::F64);
    valid.images = valid.images.to(DType::F64);
  }
};

TEST_P(ArchitectStep, UnrolledStepRestoresTheWeights) {
  const Batches64 b;
  SearchConfig c = testing::small_search(1, 8, 3e-3);
  c.pc_k = 2, c.edge_norm = true, c.seed = 5;
  const std::unique_ptr<SearchModel> net = testing::make_supernet(GetParam(), c, 8, DType::F64);
  SearchModel& model = *net;
  SgdOptions so;
  so.lr = 0.1, so.momentum = 0.9, so.weight_decay = 3e-4;
  SGD sgd(model.weights(), so);
  ArchitectOptions ao;
  ao.unrolled = true;
  Architect arch(model, ao, &sgd);
  NamedTensors ws;
  for (const Tensor& w : model.weights()) ws.emplace_back("w", w);
  const auto before = testing::flat(ws);
  const auto alpha = testing::flat(model.arch_parameters());
  arch.compute_gradient(b.train, b.valid);
  EXPECT_EQ(testing::flat(ws), before);  // bit-restored from the backup
  EXPECT_EQ(testing::flat(model.arch_parameters()), alpha);  // no step yet
  arch.apply();
  EXPECT_NE(testing::flat(model.arch_parameters()), alpha);
}

TEST(Architect, FirstOrderScalesWithValLossInValLossMode) {
  SmoothModel model(6);
  const data::Batch tr = random_batch(21), va = random_batch(22);
  ArchitectOptions ao;
  ao.scale_val_loss = true;
  Architect arch(model, ao);
  arch.compute_gradient(tr, va);  // the scale starts at 1
  const auto g1 = testing::flat({{"a", arch.optimizer().grads()[0]}});
  arch.set_val_loss_scale(0.25);
  arch.compute_gradient(tr, va);
  const auto g2 = testing::flat({{"a", arch.optimizer().grads()[0]}});
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 0.25 * g1[i], 1e-15 + 1e-12 * std::fabs(g1[i]));
}

// ---- the loop: warm-up and the communicator ----------------------------------------------------

// A search of one step of 8 per epoch on 16 synthetic 8 x 8 images.
struct OneStepSearch {
  explicit OneStepSearch(testing::Supernet kind, const SearchConfig& c = testing::small_search(3, 8, 3e-3))
      : config(c), model(testing::make_supernet(kind, config, 8)) {}
  data::ImageSet set = testing::synthetic_set(16, 4, 8, 1);
  testing::SearchLoaders loaders = testing::make_loaders(set, 8, 3);
  SearchConfig config;
  std::unique_ptr<SearchModel> model;
};

TEST_P(SearchLoop, NoArchitectureUpdateBeforeTheStartEpoch) {
  OneStepSearch t(GetParam());
  SearchModel& model = *t.model;
  t.config.arch_start_epoch = 2;
  Search s(model, t.loaders.data(), t.config);
  const auto a0 = testing::flat(model.arch_parameters());
  const auto w0 = testing::flat(model.state_dict());
  s.run(2);
  EXPECT_EQ(testing::flat(model.arch_parameters()), a0);  // bit-unchanged
  EXPECT_NE(testing::flat(model.state_dict()), w0);       // the weights did train
  EXPECT_FALSE(s.records()[1].arch_updated);
  s.run();
  EXPECT_NE(testing::flat(model.arch_parameters()), a0);
  EXPECT_TRUE(s.records()[2].arch_updated);
}

// One bilevel step (K = 2, edge normalisation) moves every architecture tensor, alpha and beta of
// both cell kinds (their gradients flow back through every edge), and the weights.
TEST_P(SearchLoop, OneStepMovesAlphaBetaAndWeights) {
  SearchConfig c = testing::small_search(1, 8, 3e-3);
  c.pc_k = 2, c.edge_norm = true;
  OneStepSearch t(GetParam(), c);
  SearchModel& model = *t.model;
  Search s(model, t.loaders.data(), t.config);
  ASSERT_EQ(t.loaders.train->batches_per_epoch(), 1);
  std::vector<std::vector<double>> before;
  for (const auto& [name, a] : model.arch_parameters()) before.push_back(a.to_doubles());
  const auto w0 = testing::flat(model.state_dict());
  s.run();
  const NamedTensors arch = model.arch_parameters();
  ASSERT_EQ(arch.size(), 4u);  // alpha_conv, alpha_enh, beta_conv, beta_enh
  for (size_t i = 0; i < arch.size(); ++i) {
    const std::vector<double> after = arch[i].second.to_doubles();
    size_t moved = 0;
    for (size_t j = 0; j < after.size(); ++j) moved += after[j] != before[i][j];
    EXPECT_EQ(moved, after.size()) << arch[i].first;
  }
  EXPECT_NE(testing::flat(model.state_dict()), w0);
}

class CountingComm : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 2; }
  void all_reduce_mean(const std::vector<Tensor>& ts) override {
    ++reduces;
    sizes.push_back(ts.size());
  }
  void broadcast(const std::vector<Tensor>&, int) override { ++broadcasts; }
  int reduces = 0, broadcasts = 0;
  std::vector<size_t> sizes;
};

TEST_P(SearchLoop, GradientsGoThroughTheCommunicator) {
  OneStepSearch t(GetParam());
  SearchModel& model = *t.model;
  t.config.epochs = 1;
  CountingComm comm;
  Search s(model, t.loaders.data(), t.config, &comm);
  EXPECT_EQ(comm.broadcasts, 1);
  s.run();
  const int64_t steps = t.loaders.train->batches_per_epoch();
  EXPECT_EQ(comm.reduces, 2 * steps);  // architecture gradients, then weight gradients
  EXPECT_EQ(comm.sizes[0], model.arch_parameters().size());
  EXPECT_EQ(comm.sizes[1], model.weights().size());
}

}  // namespace
}  // namespace bnas::nas
