#include "engine/chunk_table.h"

#include <algorithm>
#include <type_traits>

#include "engine/memory.h"

namespace bnas {

ChunkTable::ChunkTable(const char* what, const std::vector<Tensor>& param, const std::vector<Tensor>& grad,
                       const std::vector<Tensor>& state0, const std::vector<Tensor>& state1) {
  BNAS_CHECK(!param.empty(), what, ": the chunk table has no tensors");
  const Tensor& p0 = param.front();
  on_gpu_ = p0.is_cuda();
  device_ = p0.device();
  dtype_ = p0.dtype();
  const std::vector<Tensor>* slots[] = {&param, &grad, &state0, &state1};
  const char* slot_names[] = {"param", "grad", "state0", "state1"};
  for (int k = 0; k < 4; ++k) {
    const std::vector<Tensor>& slot = *slots[k];
    BNAS_CHECK(slot.empty() || slot.size() == param.size(), what, ": slot ", slot_names[k], " holds ", slot.size(),
               " tensors but slot param holds ", param.size());
    for (size_t i = 0; i < slot.size(); ++i) {
      const Tensor& t = slot[i];
      BNAS_CHECK(t.defined() && t.device() == p0.device() && t.dtype() == p0.dtype() && t.is_contiguous() &&
                     t.shape() == param[i].shape(),
                 what, ": tensor ", i, " of slot ", slot_names[k], " is ", t.defined() ? t.str() : "undefined",
                 " but must be a contiguous ", dtype_name(p0.dtype()), " tensor of shape ", param[i].shape().str(),
                 " on ", p0.device().str());
    }
  }
  BNAS_CHECK(is_floating(p0.dtype()) && (!on_gpu_ || p0.dtype() == DType::F32), what,
             ": the chunk table holds ", dtype_name(p0.dtype()), " tensors on ", p0.device().str(),
             ", but needs float32 (or float64 on the CPU)");

  auto build = [&](auto* tag, auto& table, auto& grad_table) {
    using T = std::remove_pointer_t<decltype(tag)>;
    auto at = [](const std::vector<Tensor>& slot, size_t i) { return slot.empty() ? nullptr : slot[i].data<T>(); };
    for (size_t i = 0; i < param.size(); ++i) {
      T* ptr[4] = {at(param, i), at(grad, i), at(state0, i), at(state1, i)};
      const int64_t n = param[i].numel();
      auto off = [](T* x, int64_t b) { return x ? x + b : nullptr; };
      for (int64_t b = 0; b < n; b += kernels::kOptimChunk)
        table.push_back({off(ptr[0], b), off(ptr[1], b), off(ptr[2], b), off(ptr[3], b),
                         std::min(kernels::kOptimChunk, n - b)});
    }
    for (const auto& c : table) grad_table.push_back({c.grad, c.n});
    count_ = static_cast<int64_t>(table.size());
  };
  if (p0.dtype() == DType::F32)
    build(static_cast<float*>(nullptr), chunks_f_, grad_chunks_f_);
  else
    build(static_cast<double*>(nullptr), chunks_d_, grad_chunks_d_);
  if (on_gpu_) {
    // Uploaded once; this construction-time copy from pageable memory syncs, launches never do.
    auto upload = [&](const auto& table) {
      const size_t bytes = table.size() * sizeof(table[0]);
      Tensor t = Tensor::empty(Shape{static_cast<int64_t>(std::max<size_t>(bytes, 1))}, DType::U8, p0.device());
      if (bytes > 0) copy_bytes(p0.device(), t.raw(), Device::cpu(), table.data(), bytes);
      return t;
    };
    chunks_dev_ = upload(chunks_f_);
    grad_chunks_dev_ = upload(grad_chunks_f_);
  }
}

template <class T> const kernels::OptimChunk<T>* ChunkTable::chunks() const {
  if constexpr (std::is_same_v<T, float>) {
    return on_gpu_ ? static_cast<const kernels::OptimChunk<float>*>(chunks_dev_.raw()) : chunks_f_.data();
  } else {
    BNAS_CHECK(!on_gpu_, "the GPU chunk table holds float32 chunks only");
    return chunks_d_.data();
  }
}

template <class T> const kernels::NormChunk<T>* ChunkTable::grad_chunks() const {
  if constexpr (std::is_same_v<T, float>) {
    return on_gpu_ ? static_cast<const kernels::NormChunk<float>*>(grad_chunks_dev_.raw()) : grad_chunks_f_.data();
  } else {
    BNAS_CHECK(!on_gpu_, "the GPU chunk table holds float32 chunks only");
    return grad_chunks_d_.data();
  }
}

template const kernels::OptimChunk<float>* ChunkTable::chunks<float>() const;
template const kernels::OptimChunk<double>* ChunkTable::chunks<double>() const;
template const kernels::NormChunk<float>* ChunkTable::grad_chunks<float>() const;
template const kernels::NormChunk<double>* ChunkTable::grad_chunks<double>() const;

}  // namespace bnas
