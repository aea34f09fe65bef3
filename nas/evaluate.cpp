#include "nas/evaluate.h"

#include "engine/autograd.h"
#include "engine/ops.h"

namespace bnas::nas {

LossAccuracy evaluate(const std::function<Tensor(const Tensor&)>& logits_of, data::Loader& loader,
                      int64_t epoch, DType dtype, Device device) {
  NoGradGuard no_grad;
  loader.restore({epoch, 0});
  Tensor loss = Tensor::zeros(Shape{1}, dtype, device);
  Tensor correct = Tensor::zeros(Shape{1}, DType::F32, device);
  LossAccuracy r;
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    const data::Batch batch = loader.next_batch();
    const Tensor logits = logits_of(batch.images);
    const int64_t n = batch.labels.numel();
    ops::add_(loss, ops::cross_entropy(logits, batch.labels), static_cast<double>(n));
    ops::add_(correct, ops::count_correct(logits, batch.labels));
    r.count += n;
  }
  if (r.count > 0) {
    r.loss = loss.item() / static_cast<double>(r.count);
    r.accuracy = correct.item() / static_cast<double>(r.count);
  }
  return r;
}

}  // namespace bnas::nas
