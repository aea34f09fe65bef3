#include "tiny_supernet.h"

#include <cmath>
#include <string>

#include "engine/check.h"
#include "engine/ops.h"
#include "nas/derive_genotype.h"

namespace bnas::nas {

namespace {

// A module that only groups children and tensors under a path (nn.Sequential / nn.ModuleList).
class Container : public Module {
 public:
  void add_module(const std::string& name, Module* m) { register_module(name, m); }
  void add_parameter(const std::string& name, Tensor* t) { register_parameter(name, t); }
};

// softmax over the incoming edges of each node: [14] -> [14].
Tensor node_softmax_flat(const Tensor& beta) {
  std::vector<Tensor> parts;
  for (int j = 0; j < kCellSteps; ++j)
    parts.push_back(ops::softmax(ops::narrow(beta, 0, cell_edge_offset(j), j + 2)));
  // concat_channels works on dim 1: view each part as [1, n].
  std::vector<Tensor> rows;
  for (auto& p : parts) rows.push_back(ops::reshape(p, Shape{1, p.numel()}));
  return ops::reshape(ops::concat_channels(rows), Shape{kCellEdges});
}

}  // namespace

class TinySupernet::Cell : public Module {
 public:
  Cell(int c_prev_prev, int c_prev, int c, int k, const ParamOptions& o) : c_(c), k_(k) {
    pre0_ = std::make_unique<ReLUConvBN>(c_prev_prev, c, 1, 1, 0, false, o);
    pre1_ = std::make_unique<ReLUConvBN>(c_prev, c, 1, 1, 0, false, o);
    register_module("preprocess0", pre0_.get());
    register_module("preprocess1", pre1_.get());
    ops_holder_ = std::make_unique<Container>();
    register_module("_ops", ops_holder_.get());
    for (int e = 0; e < kCellEdges; ++e) {
      auto mixed = std::make_unique<Container>();
      std::vector<std::unique_ptr<Op>> cands;
      for (int p = 0; p < kNumPrimitives; ++p) {
        cands.push_back(make_operation(static_cast<Primitive>(p), c / k, 1, OpForm::kSearch, o));
        mixed->add_module(std::to_string(p), cands.back().get());
      }
      auto mixed_ops = std::make_unique<Container>();
      mixed_ops->add_module("_ops", mixed.get());
      ops_holder_->add_module(std::to_string(e), mixed_ops.get());
      edges_.push_back(std::move(cands));
      holders_.push_back(std::move(mixed));
      holders_.push_back(std::move(mixed_ops));
    }
  }

  // alpha: 14 x 8 (leaf); beta: [14] or undefined.
  Tensor forward(const Tensor& s0_in, const Tensor& s1_in, const Tensor& alpha, const Tensor& beta,
                 bool training) {
    const Tensor s0 = pre0_->forward(s0_in, training);
    const Tensor s1 = pre1_->forward(s1_in, training);
    const Tensor w = ops::softmax(alpha);
    const Tensor nb = beta.defined() ? node_softmax_flat(beta) : Tensor();
    std::vector<Tensor> states{s0, s1};
    int e = 0;
    for (int j = 0; j < kCellSteps; ++j) {
      std::vector<Tensor> outs;
      for (size_t i = 0; i < states.size(); ++i, ++e) outs.push_back(edge(e, states[i], w, training));
      Tensor node;
      if (nb.defined()) {
        node = ops::weighted_sum(outs, ops::narrow(nb, 0, cell_edge_offset(j), j + 2));
      } else {
        node = outs[0];
        for (size_t i = 1; i < outs.size(); ++i) node = ops::add(node, outs[i]);
      }
      states.push_back(node);
    }
    return ops::concat_channels({states.begin() + 2, states.end()});
  }

 private:
  Tensor edge(int e, const Tensor& x, const Tensor& w, bool training) {
    const Tensor row = ops::reshape(ops::narrow(w, 0, e, 1), Shape{kNumPrimitives});
    const int cs = c_ / k_;
    const Tensor xs = k_ > 1 ? ops::narrow(x, 1, 0, cs) : x;
    std::vector<Tensor> outs;
    for (auto& op : edges_[e]) outs.push_back(op->forward(xs, training));
    Tensor y = ops::weighted_sum(outs, row);
    if (k_ == 1) return y;
    y = ops::concat_channels({y, ops::narrow(x, 1, cs, c_ - cs)});
    return ops::channel_shuffle(y, k_);
  }

  int c_, k_;
  std::unique_ptr<ReLUConvBN> pre0_, pre1_;
  std::unique_ptr<Container> ops_holder_;
  std::vector<std::vector<std::unique_ptr<Op>>> edges_;
  std::vector<std::unique_ptr<Container>> holders_;
};

TinySupernet::TinySupernet(const TinySupernetOptions& o)
    : opt_(o) {
  BNAS_CHECK(o.channels > 0 && o.in_channels > 0 && o.classes > 0,
             "TinySupernet needs positive channel and class counts");
  BNAS_CHECK(o.pc_k >= 1 && o.channels % o.pc_k == 0, "TinySupernet: the partial-channel proportion K = ",
             o.pc_k, " must divide the channel count ", o.channels);
  Generator init(o.seed, RngStream::Init);
  ParamOptions po{&init, o.dtype, o.device};
  const int c = o.channels;
  stem_conv_ = std::make_unique<Conv2d>(o.in_channels, c, 3, ops::Conv2dArgs{1, 1, 1, 1}, po);
  stem_bn_ = std::make_unique<BatchNorm2d>(c, true, po);
  auto stem = std::make_unique<Container>();
  stem->add_module("0", stem_conv_.get());
  stem->add_module("1", stem_bn_.get());
  stem_ = std::move(stem);
  register_module("stem", stem_.get());
  cell0_ = std::make_unique<Cell>(c, c, c, o.pc_k, po);
  cell1_ = std::make_unique<Cell>(c, 4 * c, c, o.pc_k, po);
  auto cells = std::make_unique<Container>();
  cells->add_module("0", cell0_.get());
  cells->add_module("1", cell1_.get());
  cells_ = std::move(cells);
  register_module("cells", cells_.get());
  const double bound = 1.0 / std::sqrt(4.0 * c);
  fc_weight_ = uniform_parameter(Shape{o.classes, 4 * c}, bound, po);
  fc_bias_ = uniform_parameter(Shape{o.classes}, bound, po);
  auto cls = std::make_unique<Container>();
  cls->add_parameter("weight", &fc_weight_);
  cls->add_parameter("bias", &fc_bias_);
  classifier_ = std::move(cls);
  register_module("classifier", classifier_.get());

  auto arch = [&](const Shape& s) {
    const std::vector<double> v = init.normal(static_cast<uint64_t>(s.numel()), 0.0, 1e-3);
    Tensor t = Tensor::from_vector(v, s, o.dtype, o.device);
    t.set_requires_grad(true);
    return t;
  };
  alpha_conv_ = arch(Shape{kCellEdges, kNumPrimitives});
  alpha_enh_ = arch(Shape{kCellEdges, kNumPrimitives});
  if (o.edge_norm) {
    beta_conv_ = arch(Shape{kCellEdges});
    beta_enh_ = arch(Shape{kCellEdges});
  }
}

TinySupernet::~TinySupernet() = default;

Tensor TinySupernet::forward(const Tensor& images, bool training) {
  const Tensor s = stem_bn_->forward(stem_conv_->forward(images, training), training);
  const Tensor c0 = cell0_->forward(s, s, alpha_conv_, beta_conv_, training);
  const Tensor c1 = cell1_->forward(s, c0, alpha_enh_, beta_enh_, training);
  return ops::linear(ops::global_avg_pool(c1), fc_weight_, fc_bias_);
}

NamedTensors TinySupernet::arch_parameters() const {
  NamedTensors out{{"alpha_conv", alpha_conv_}, {"alpha_enh", alpha_enh_}};
  if (opt_.edge_norm) {
    out.emplace_back("beta_conv", beta_conv_);
    out.emplace_back("beta_enh", beta_enh_);
  }
  return out;
}

Genotype TinySupernet::genotype() const {
  if (opt_.edge_norm)
    return derive_genotype(alpha_conv_.to_doubles(), alpha_enh_.to_doubles(), beta_conv_.to_doubles(),
                           beta_enh_.to_doubles());
  return derive_genotype(alpha_conv_.to_doubles(), alpha_enh_.to_doubles());
}

}  // namespace bnas::nas
