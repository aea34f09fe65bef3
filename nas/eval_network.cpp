#include "nas/eval_network.h"

#include "engine/check.h"
#include "engine/ops.h"

namespace bnas::nas {

EvalNetwork::EvalNetwork(const Genotype& g, const EvalNetworkConfig& cfg)
    : genotype_(g), cfg_(cfg), drop_gen_(cfg.seed, RngStream::DropPath) {
  validate_genotype(g, "evaluation network genotype");
  const int stem_channels = cfg.stem == StemKind::kCifar ? kStemMultiplier * cfg.C : cfg.C;
  build(broad_layout(cfg, stem_channels, GapTaps::kOutputsBeforeBroadCells),
        [this](const CellPlace& p, const ParamOptions& o) {
          const bool conv = p.kind == CellKind::kConvolution;
          auto& cells = conv ? conv_cells : en_cells;
          cells.push_back(std::make_unique<EvalCell>(conv ? genotype_.normal : genotype_.reduce,
                                                     conv ? genotype_.normal_concat : genotype_.reduce_concat,
                                                     p.c_prev_prev, p.c_prev, p.c, p.reduction, p.reduction_prev, o));
          return MadeCell{cells.back().get(), cells.back()->multiplier() * p.c};
        });
}

void EvalNetwork::set_drop_prob(double p) {
  BNAS_CHECK(p >= 0.0 && p < 1.0, "the drop-path probability must be in [0, 1), got ", p);
  drop_prob_ = p;
}

Tensor EvalNetwork::forward(const Tensor& images, bool training) {
  BNAS_CHECK(images.ndim() == 4 && images.size(1) == cfg_.input_channels,
             "the evaluation network expects N x ", cfg_.input_channels, " x H x W images, got ",
             images.shape().str());
  return forward_structure(images, training, [&](CellKind kind, size_t i, const Tensor& r0, const Tensor& r1) {
    EvalCell& cell = kind == CellKind::kConvolution ? *conv_cells[i] : *en_cells[i];
    return cell.forward_relu_applied(r0, r1, training, drop_prob_, drop_gen_);
  });
}

}  // namespace bnas::nas
