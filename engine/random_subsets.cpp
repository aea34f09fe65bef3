#include "engine/random_subsets.h"

#include "engine/ops/dispatch.h"
#include "kernels/cpu/random_subsets.h"
#include "kernels/random_subsets_math.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/random_subsets.cuh"
#endif

namespace bnas {

RandomSubsets::RandomSubsets(const std::vector<int>& sizes, int k, uint64_t seed, RngStream stream, Device device)
    : sizes_(sizes), k_(k), seed_(seed), stream_(static_cast<uint64_t>(stream)) {
  namespace rs = kernels::random_subsets;
  BNAS_CHECK(!sizes.empty() && sizes.size() <= static_cast<size_t>(rs::kMaxRows), "random subsets need 1 to ",
             rs::kMaxRows, " rows, got ", sizes.size());
  BNAS_CHECK(k >= 1, "random subsets: the proportion k must be at least 1, got ", k);
  for (size_t r = 0; r < sizes.size(); ++r) {
    BNAS_CHECK(sizes[r] > 0 && sizes[r] <= rs::kMaxRowSize && sizes[r] % k == 0, "random subsets: row ", r,
               " has ", sizes[r], " elements, which must be a positive multiple of k = ", k, " and at most ",
               rs::kMaxRowSize);
    starts_.push_back(total_ / k);
    total_ += sizes[r];
  }
  sizes_tensor_ = Tensor::from_ints(std::vector<int32_t>(sizes.begin(), sizes.end()), {rows()}, device);
  counter_ = Tensor::zeros({1}, DType::I32, device);
  scratch_ = Tensor::empty({total_ + rows()}, DType::I32, device);
}

Tensor RandomSubsets::draw() {
  Tensor out = Tensor::empty({total_ / k_}, DType::I32, counter_.device());
  auto* counter = reinterpret_cast<uint32_t*>(counter_.data<int32_t>());
  auto* scratch = reinterpret_cast<uint32_t*>(scratch_.data<int32_t>());
  if (out.is_cuda()) {
    BNAS_ON_CUDA(set_cuda_device(out.device());
                 kernels::cuda::draw_subsets(sizes_tensor_.data<int32_t>(), rows(), k_, seed_, stream_, counter,
                                             scratch, out.data<int32_t>(), cuda_stream(out.device())));
  } else {
    kernels::cpu::draw_subsets(sizes_tensor_.data<int32_t>(), rows(), k_, seed_, stream_, counter, scratch,
                               out.data<int32_t>());
  }
  return out;
}

Tensor RandomSubsets::row(const Tensor& drawn, int r) const {
  BNAS_CHECK(r >= 0 && r < rows(), "random subsets: no row ", r, " among ", rows());
  BNAS_CHECK(drawn.dtype() == DType::I32 && drawn.ndim() == 1 && drawn.numel() == total_ / k_,
             "random subsets: expected a draw of ", total_ / k_, " int32 elements, got ", drawn.str());
  return drawn.view({1, total_ / k_}).channel_slice(starts_[r], starts_[r] + sizes_[r] / k_).view({sizes_[r] / k_});
}

uint32_t RandomSubsets::draws() const { return static_cast<uint32_t>(counter_.to_ints()[0]); }

void RandomSubsets::set_draws(uint32_t n) {
  counter_.copy_(Tensor::from_ints({static_cast<int32_t>(n)}, {1}));
}

}  // namespace bnas
