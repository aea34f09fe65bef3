#include "engine/weight_unroll.h"

#include "engine/ops/dispatch.h"
#include "kernels/cpu/optim.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/optim.cuh"
#endif

namespace bnas {

namespace {
std::vector<Tensor> backups_of(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(Tensor::empty(t.shape(), t.dtype(), t.device()));
  return out;
}
}  // namespace

WeightUnroll::WeightUnroll(const SGD& sgd, const std::vector<Tensor>& buffers)
    : sgd_(sgd),
      w_backup_(backups_of(sgd.params())),
      buf_backup_(backups_of(buffers)),
      weights_("the unrolled weights", sgd.params(), sgd.grads(), sgd.momentum_buffers(), w_backup_) {
  if (!buffers.empty()) buffers_ = ChunkTable("the buffers saved around the unrolled step", buffers, {}, {}, buf_backup_);
}

void WeightUnroll::move(const ChunkTable& table, kernels::UnrollMove m, const Tensor* scalar, double alpha) {
  if (table.count() == 0) return;
  const double mu = sgd_.options().momentum, lambda = sgd_.options().weight_decay;
  if (table.device().is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::unroll(table.chunks<float>(), table.count(), m,
                                       scalar ? scalar->data<float>() : nullptr, static_cast<float>(alpha),
                                       kernels::SgdHyper<float>{static_cast<float>(mu), static_cast<float>(lambda)},
                                       ops::detail::cuda_launch("WeightUnroll", sgd_.params().front())));
  } else {
    BNAS_DISPATCH_FLOAT(table.dtype(), T, {
      kernels::cpu::unroll(table.chunks<T>(), table.count(), m, scalar ? scalar->data<T>() : nullptr,
                           static_cast<T>(alpha), kernels::SgdHyper<T>{static_cast<T>(mu), static_cast<T>(lambda)});
    });
  }
}

void WeightUnroll::virtual_step() { move(weights_, kernels::UnrollMove::kVirtualStep, &sgd_.lr_tensor(), 0); }

void WeightUnroll::perturb(const Tensor& norm, double alpha) {
  BNAS_CHECK(norm.numel() == 1 && norm.device() == sgd_.device() && norm.dtype() == sgd_.dtype(),
             "WeightUnroll::perturb: the norm must be a one-element ", dtype_name(sgd_.dtype()), " tensor on ",
             sgd_.device().str(), ", got ", norm.str());
  move(weights_, kernels::UnrollMove::kPerturb, &norm, alpha);
}

void WeightUnroll::restore() { move(weights_, kernels::UnrollMove::kRestore, nullptr, 0); }
void WeightUnroll::save_buffers() { move(buffers_, kernels::UnrollMove::kSave, nullptr, 0); }
void WeightUnroll::restore_buffers() { move(buffers_, kernels::UnrollMove::kRestore, nullptr, 0); }

}  // namespace bnas
