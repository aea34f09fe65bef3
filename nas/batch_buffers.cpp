#include "nas/batch_buffers.h"

#include "engine/memory.h"
#include "engine/ops.h"

namespace bnas::nas {
namespace {
// src's bytes into dst (same dtype and shape, dst contiguous).
void copy_into(const Tensor& dst, const Tensor& src) {
  const Tensor c = src.contiguous();
  copy_bytes(dst.device(), dst.raw(), c.device(), c.raw(), c.nbytes());
}
}  // namespace

data::Batch BatchBuffers::stage(const data::Batch& b, StepGraph& graphs) {
  const Shape s = b.images.shape();
  bool fits = buf_.images.defined() && buf_.images.ndim() == s.ndim() && buf_.images.size(0) >= s[0] &&
              buf_.images.dtype() == b.images.dtype() && buf_.labels.dtype() == b.labels.dtype();
  for (int i = 1; fits && i < s.ndim(); ++i) fits = buf_.images.size(i) == s[i];
  if (!fits) {
    graphs.clear();
    buf_.images = Tensor::empty(s, b.images.dtype(), graphs.device());
    buf_.labels = Tensor::empty(b.labels.shape(), b.labels.dtype(), graphs.device());
  }
  const data::Batch view{ops::narrow(buf_.images, 0, 0, s[0]), ops::narrow(buf_.labels, 0, 0, s[0])};
  copy_into(view.images, b.images);
  copy_into(view.labels, b.labels);
  return view;
}

}  // namespace bnas::nas
