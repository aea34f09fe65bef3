#include "engine/ops/dispatch.h"

namespace bnas::ops::detail {

void check_same(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    BNAS_CHECK(is_floating(t->dtype()), op, ": expected a float tensor, got ", t->str());
    if (!first) {
      first = t;
      continue;
    }
    BNAS_CHECK(t->device() == first->device(), op, ": tensors on different devices (",
               first->device().str(), " and ", t->device().str(), ")");
    BNAS_CHECK(t->dtype() == first->dtype(), op, ": tensors of different dtypes (",
               dtype_name(first->dtype()), " and ", dtype_name(t->dtype()), ")");
  }
}

void check_ndim(const char* op, const Tensor& x, int ndim) {
  BNAS_CHECK(x.ndim() == ndim, op, ": expected a ", ndim, "-D tensor, got shape ", x.shape().str());
}

void check_channel_selection(const char* op, const Tensor& selected, const Tensor& x, int64_t Cs, int64_t C) {
  if (!selected.defined()) return;
  BNAS_CHECK(selected.dtype() == DType::I32 && selected.device() == x.device() && selected.ndim() == 1 &&
                 selected.size(0) == Cs,
             op, ": the channel selection must be an int32 [", Cs, "] tensor on ", x.device().str(), ", got ",
             selected.str());
  if (selected.is_cuda()) return;
  const Tensor host = selected.contiguous();
  const int32_t* s = host.data<int32_t>();
  for (int64_t j = 0; j < Cs; ++j)
    BNAS_CHECK(s[j] >= 0 && s[j] < C && (j == 0 || s[j] > s[j - 1]), op, ": the channel selection must hold ", Cs,
               " distinct channels of [0, ", C, ") in increasing order");
}

#if BNAS_WITH_CUDA
cudaStream_t cuda_launch(const char* op, const Tensor& x) {
  BNAS_CHECK(x.dtype() == DType::F32, op, ": the CUDA backend computes in float32, got ",
             dtype_name(x.dtype()));
  set_cuda_device(x.device());
  return cuda_stream(x.device());
}
#endif

}  // namespace bnas::ops::detail
