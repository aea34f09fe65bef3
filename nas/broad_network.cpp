#include "nas/broad_network.h"

#include "engine/check.h"
#include "engine/ops.h"
#include "nas/derive_genotype.h"

namespace bnas::nas {

// ---- configurations ---------------------------------------------------------------------------

SupernetConfig SupernetConfig::pc_cifar() { return SupernetConfig{}; }

SupernetConfig SupernetConfig::full_cifar() {
  SupernetConfig c;
  c.k = 1;
  c.edge_norm = false;
  return c;
}

SupernetConfig SupernetConfig::pc_imagenet() {
  SupernetConfig c;
  c.k = 2;
  c.classes = 1000;
  c.input_size = 224;
  c.stem = StemKind::kImageNet;
  return c;
}

// ---- the supernet -----------------------------------------------------------------------------

namespace {
constexpr int kMultiplier = kCellSteps;  // cell output = 4 node widths
// Architecture parameters come from the Init stream of the seed, far past any weight draw, so
// that they depend on the seed only (not on the network's size) and never overlap the weights.
constexpr uint64_t kArchOffset = uint64_t{1} << 40;
}  // namespace

BroadSupernet::BroadSupernet(const SupernetConfig& cfg)
    : cfg_(cfg) {
  BNAS_CHECK(cfg.k >= 1, "invalid supernet configuration: k ", cfg.k);
  build(broad_layout(cfg, kStemMultiplier * cfg.C, GapTaps::kBroadCellInputs),
        [this](const CellPlace& p, const ParamOptions& o) {
          auto& cells = p.kind == CellKind::kConvolution ? conv_cells : en_cells;
          cells.push_back(
              std::make_unique<SearchCell>(p.c_prev_prev, p.c_prev, p.c, p.reduction, p.reduction_prev, cfg_.k, o));
          return MadeCell{cells.back().get(), kMultiplier * p.c};
        });

  if (cfg.selection == ChannelSelection::kRandom && cfg.k > 1) {
    std::vector<int> widths;
    for (const auto* cells : {&conv_cells, &en_cells})
      for (const auto& cell : *cells) widths.insert(widths.end(), kCellEdges, cell->node_channels);
    channels_ = std::make_unique<RandomSubsets>(widths, cfg.k, cfg.seed, RngStream::Channels, cfg.device);
  }

  Generator agen(cfg.seed, RngStream::Init);
  agen.set_offset(kArchOffset);
  auto arch = [&](const Shape& s) {
    std::vector<double> v = agen.normal(static_cast<uint64_t>(s.numel()));
    for (double& x : v) x *= 1e-3;
    Tensor t = Tensor::from_vector(v, s, cfg.dtype, cfg.device);
    t.set_requires_grad(true);
    return t;
  };
  alpha_conv = arch({kCellEdges, kNumPrimitives});
  alpha_enh = arch({kCellEdges, kNumPrimitives});
  Tensor bc = arch({kCellEdges}), be = arch({kCellEdges});
  if (cfg.edge_norm) {
    beta_conv = bc;
    beta_enh = be;
  }
}

Tensor BroadSupernet::forward(const Tensor& images, bool training) {
  BNAS_CHECK(images.ndim() == 4 && images.size(1) == cfg_.input_channels && images.size(2) == cfg_.input_size &&
                 images.size(3) == cfg_.input_size,
             "the supernet expects N x ", cfg_.input_channels, " x ", cfg_.input_size, " x ", cfg_.input_size,
             " images, got ", images.shape().str());
  const Tensor w_conv = ops::softmax(alpha_conv), w_enh = ops::softmax(alpha_enh);
  const std::vector<Tensor> b_conv = cfg_.edge_norm ? node_softmax(beta_conv) : std::vector<Tensor>{};
  const std::vector<Tensor> b_enh = cfg_.edge_norm ? node_softmax(beta_enh) : std::vector<Tensor>{};
  // The edges' channels for this forward (one launch), or none: the first C/k.
  const Tensor drawn = channels_ ? channels_->draw() : Tensor();
  auto selected = [&](size_t cell) {
    std::vector<Tensor> rows;
    for (int e = 0; drawn.defined() && e < kCellEdges; ++e)
      rows.push_back(channels_->row(drawn, static_cast<int>(cell) * kCellEdges + e));
    return rows;
  };
  return forward_structure(images, training, [&](CellKind kind, size_t i, const Tensor& r0, const Tensor& r1) {
    return kind == CellKind::kConvolution
               ? conv_cells[i]->forward_relu_applied(r0, r1, w_conv, b_conv, training, selected(i))
               : en_cells[i]->forward_relu_applied(r0, r1, w_enh, b_enh, training, selected(conv_cells.size() + i));
  });
}

uint32_t BroadSupernet::channel_draws() const { return channels_ ? channels_->draws() : 0; }

void BroadSupernet::set_channel_draws(uint32_t n) {
  if (channels_) {
    channels_->set_draws(n);
  } else {
    SearchModel::set_channel_draws(n);
  }
}

std::vector<Tensor> BroadSupernet::weights() const { return parameters(); }

NamedTensors BroadSupernet::arch_parameters() const {
  NamedTensors out{{"alpha_conv", alpha_conv}, {"alpha_enh", alpha_enh}};
  if (cfg_.edge_norm) {
    out.emplace_back("beta_conv", beta_conv);
    out.emplace_back("beta_enh", beta_enh);
  }
  return out;
}

Genotype BroadSupernet::genotype() const {
  return derive_genotype(alpha_conv.to_doubles(), alpha_enh.to_doubles(),
                         cfg_.edge_norm ? beta_conv.to_doubles() : std::vector<double>{},
                         cfg_.edge_norm ? beta_enh.to_doubles() : std::vector<double>{});
}

}  // namespace bnas::nas
