// The geometry of one 2-D convolution, shared by the CPU kernels (kernels/cpu/conv.h) and the
// cuDNN callers (kernels/cuda/conv_cudnn.h). Plain integers: the kernels know no Tensor.
#pragma once
#include <cstdint>
#include <string>

namespace bnas::kernels {

// x: n x cin x h x w, read with batch stride x_batch_stride (cin * h * w when contiguous; larger
// when x is a channel slice of a wider tensor: channels, rows and columns are always packed).
// w: cout x (cin / groups) x kh x kw, contiguous. y: n x cout x ho x wo, contiguous.
struct ConvShape {
  int64_t n = 0, cin = 0, h = 0, w = 0;
  int64_t cout = 0, kh = 0, kw = 0;
  int64_t stride = 1, pad = 0, dilation = 1, groups = 1;
  int64_t ho = 0, wo = 0;
  int64_t x_batch_stride = 0;

  int64_t cin_g() const { return cin / groups; }
  int64_t cout_g() const { return cout / groups; }
  // Depthwise with channel multiplier 1: one kh x kw filter per channel.
  bool depthwise() const { return groups == cin && cout == cin && groups > 1; }
  bool operator==(const ConvShape& o) const {
    return n == o.n && cin == o.cin && h == o.h && w == o.w && cout == o.cout && kh == o.kh &&
           kw == o.kw && stride == o.stride && pad == o.pad && dilation == o.dilation &&
           groups == o.groups && ho == o.ho && wo == o.wo && x_batch_stride == o.x_batch_stride;
  }
};

// Output extent of one spatial dimension (PyTorch's formula; may be <= 0 for invalid shapes).
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

// "64 x 16 x 32 x 32 -> 16 k3 s1 p1 d1 g16" (n x cin x h x w -> cout, kernel kh or khxkw, stride,
// padding, dilation, groups; " xstride S" when x's batch stride is not cin * h * w).
inline std::string conv_shape_text(const kernels::ConvShape& s) {
  std::string t = std::to_string(s.n) + " x " + std::to_string(s.cin) + " x " + std::to_string(s.h) + " x " +
                  std::to_string(s.w) + " -> " + std::to_string(s.cout) + " k" + std::to_string(s.kh);
  if (s.kw != s.kh) t += "x" + std::to_string(s.kw);
  t += " s" + std::to_string(s.stride) + " p" + std::to_string(s.pad) + " d" + std::to_string(s.dilation) + " g" +
       std::to_string(s.groups);
  if (s.x_batch_stride != 0 && s.x_batch_stride != s.cin * s.h * s.w)
    t += " xstride " + std::to_string(s.x_batch_stride);
  return t;
}

}  // namespace bnas::kernels
