#include "engine/tensor.h"

#include <sstream>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "kernels/layout.h"

#if BNAS_WITH_CUDA
#include "engine/cuda_context.h"
#include "kernels/cuda/copy.cuh"
#endif

namespace bnas {

// ---- Shape ----------------------------------------------------------------------------------
Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}
Shape::Shape(const std::vector<int64_t>& dims) {
  BNAS_CHECK(dims.size() <= static_cast<size_t>(kMaxDims), "tensors have at most ", kMaxDims,
             " dimensions, got ", dims.size());
  n_ = static_cast<int>(dims.size());
  for (int i = 0; i < n_; ++i) {
    BNAS_CHECK(dims[static_cast<size_t>(i)] >= 0, "negative dimension in a shape");
    d_[i] = dims[static_cast<size_t>(i)];
  }
}
int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < n_; ++i) n *= d_[i];
  return n;
}
bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}
std::string Shape::str() const {
  std::ostringstream s;
  s << "[";
  for (int i = 0; i < n_; ++i) s << (i ? ", " : "") << d_[i];
  s << "]";
  return s.str();
}

std::array<int64_t, kMaxDims> contiguous_strides(const Shape& s) {
  std::array<int64_t, kMaxDims> st{};
  int64_t acc = 1;
  for (int i = s.ndim() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Storage::~Storage() {
  if (owned) deallocate(device, ptr, bytes);
}

namespace {
kernels::Layout layout_of(const Shape& shape, const std::array<int64_t, kMaxDims>& strides) {
  kernels::Layout l;
  l.ndim = shape.ndim();
  for (int i = 0; i < l.ndim; ++i) {
    l.size[i] = shape[i];
    l.stride[i] = strides[i];
  }
  return l;
}
}  // namespace

// ---- construction ---------------------------------------------------------------------------
Tensor Tensor::make(std::shared_ptr<Storage> s, int64_t offset, const Shape& shape,
                    const std::array<int64_t, kMaxDims>& strides, DType dtype) {
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->storage = std::move(s);
  t.impl_->offset = offset;
  t.impl_->shape = shape;
  t.impl_->strides = strides;
  t.impl_->dtype = dtype;
  return t;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto s = std::make_shared<Storage>();
  s->device = device;
  s->bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  s->ptr = allocate(device, s->bytes);
  return make(std::move(s), 0, shape, contiguous_strides(shape), dtype);
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_zero_bytes(device, t.raw(), t.nbytes());
  return t;
}
Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  BNAS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), values.size(),
             " values do not fill a tensor of shape ", shape.str());
  Tensor host = borrow(const_cast<double*>(values.data()), shape, DType::F64, Device::cpu());
  Tensor t = empty(shape, dtype, device);
  t.copy_(host);
  return t;
}
Tensor Tensor::from_ints(const std::vector<int32_t>& values, const Shape& shape, Device device) {
  BNAS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), values.size(),
             " values do not fill a tensor of shape ", shape.str());
  Tensor t = empty(shape, DType::I32, device);
  copy_bytes(device, t.raw(), Device::cpu(), values.data(), t.nbytes());
  return t;
}
Tensor Tensor::borrow(void* ptr, const Shape& shape, DType dtype, Device device) {
  auto s = std::make_shared<Storage>();
  s->ptr = ptr;
  s->device = device;
  s->bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  s->owned = false;
  return make(std::move(s), 0, shape, contiguous_strides(shape), dtype);
}

// ---- layout ---------------------------------------------------------------------------------
bool Tensor::is_contiguous() const {
  const Impl& m = impl();
  int64_t expect = 1;
  for (int i = m.shape.ndim() - 1; i >= 0; --i) {
    if (m.shape[i] != 1 && m.strides[i] != expect) return false;
    expect *= m.shape[i];
  }
  return true;
}
void* Tensor::raw() const {
  const Impl& m = impl();
  return static_cast<char*>(m.storage->ptr) + m.offset * static_cast<int64_t>(dtype_size(m.dtype));
}

Tensor Tensor::view(const Shape& shape) const {
  BNAS_CHECK(is_contiguous(), "view() needs a contiguous tensor; call contiguous() first");
  BNAS_CHECK(shape.numel() == numel(), "cannot view ", this->shape().str(), " as ", shape.str());
  return make(impl().storage, impl().offset, shape, contiguous_strides(shape), dtype());
}
Tensor Tensor::channel_slice(int64_t c0, int64_t c1) const {
  BNAS_CHECK(ndim() >= 2 && 0 <= c0 && c0 <= c1 && c1 <= size(1), "channel slice [", c0, ", ", c1,
             ") is out of range for shape ", shape().str());
  const Impl& m = impl();
  Shape s = m.shape;
  s[1] = c1 - c0;
  return make(m.storage, m.offset + c0 * m.strides[1], s, m.strides, m.dtype);
}
Tensor Tensor::detach() const {
  const Impl& m = impl();
  return make(m.storage, m.offset, m.shape, m.strides, m.dtype);
}

// ---- copies ---------------------------------------------------------------------------------
Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }
Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  t.copy_(*this);
  return t;
}
Tensor Tensor::to(Device d) const {
  if (device() == d) return *this;
  Tensor t = empty(shape(), dtype(), d);
  t.copy_(*this);
  return t;
}
Tensor Tensor::to(DType ty) const {
  if (dtype() == ty) return *this;
  Tensor t = empty(shape(), ty, device());
  t.copy_(*this);
  return t;
}

void Tensor::copy_(const Tensor& src) {
  BNAS_CHECK(src.shape() == shape(), "copy from shape ", src.shape().str(), " into ", shape().str());
  const Impl& d = impl();
  const Impl& s = src.impl();
  if (device() != src.device()) {
    // Cross-device: make the source contiguous in the destination's dtype on its own device,
    // move the bytes, then lay them out here.
    Tensor staged = src.to(dtype()).contiguous();
    if (is_contiguous()) {
      copy_bytes(device(), raw(), src.device(), staged.raw(), nbytes());
    } else {
      Tensor moved = empty(shape(), dtype(), device());
      copy_bytes(device(), moved.raw(), src.device(), staged.raw(), nbytes());
      copy_(moved);
    }
    return;
  }
  const kernels::Layout sl = layout_of(s.shape, s.strides), dl = layout_of(d.shape, d.strides);
  if (is_cuda()) {
#if BNAS_WITH_CUDA
    set_cuda_device(device());
    kernels::cuda::copy_strided(src.raw(), s.dtype, sl, raw(), d.dtype, dl, cuda_stream(device()));
#endif
  } else {
    kernels::cpu::copy_strided(src.raw(), s.dtype, sl, raw(), d.dtype, dl);
  }
}

void Tensor::fill_(double value) {
  BNAS_CHECK(is_contiguous(), "fill_ needs a contiguous tensor");
  if (is_cuda()) {
#if BNAS_WITH_CUDA
    set_cuda_device(device());
    kernels::cuda::fill(raw(), dtype(), numel(), value, cuda_stream(device()));
#endif
  } else {
    kernels::cpu::fill(raw(), dtype(), numel(), value);
  }
}
void Tensor::zero_() {
  if (is_contiguous()) {
    fill_zero_bytes(device(), raw(), nbytes());
  } else {
    copy_(zeros(shape(), dtype(), device()));
  }
}

std::vector<double> Tensor::to_doubles() const {
  Tensor h = to(Device::cpu()).to(DType::F64).contiguous();
  const double* p = h.data<double>();
  return std::vector<double>(p, p + numel());
}
std::vector<int32_t> Tensor::to_ints() const {
  Tensor h = to(Device::cpu()).to(DType::I32).contiguous();
  const int32_t* p = h.data<int32_t>();
  return std::vector<int32_t>(p, p + numel());
}
double Tensor::item() const {
  BNAS_CHECK(numel() == 1, "item() needs a one-element tensor, got shape ", shape().str());
  return to_doubles()[0];
}

// ---- autograd state -------------------------------------------------------------------------
AutogradMeta& Tensor::meta_or_create() {
  BNAS_CHECK(impl_, "an undefined tensor was used");
  if (!impl_->meta) impl_->meta = std::make_shared<AutogradMeta>();
  return *impl_->meta;
}
const std::shared_ptr<AutogradMeta>& Tensor::autograd_meta() const {
  static const std::shared_ptr<AutogradMeta> none;
  return impl_ ? impl_->meta : none;
}
bool Tensor::requires_grad() const { return impl_ && impl_->meta && impl_->meta->requires_grad; }
Tensor& Tensor::set_requires_grad(bool on) {
  BNAS_CHECK(is_leaf(), "requires_grad can only be set on leaf tensors");
  BNAS_CHECK(!on || is_floating(dtype()), "only floating-point tensors can require gradients");
  meta_or_create().requires_grad = on;
  return *this;
}
const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  return impl_ && impl_->meta ? impl_->meta->grad : undefined;
}
void Tensor::set_grad(const Tensor& g) {
  BNAS_CHECK(!g.defined() || g.shape() == shape(), "gradient shape ", g.shape().str(),
             " does not match tensor shape ", shape().str());
  meta_or_create().grad = g;
}
void Tensor::zero_grad() {
  if (impl_ && impl_->meta && impl_->meta->grad.defined()) impl_->meta->grad.zero_();
}
std::shared_ptr<Node> Tensor::grad_fn() const {
  return impl_ && impl_->meta ? impl_->meta->grad_fn : nullptr;
}
void Tensor::set_grad_fn(std::shared_ptr<Node> fn) {
  AutogradMeta& m = meta_or_create();
  m.grad_fn = std::move(fn);
  m.requires_grad = m.grad_fn != nullptr;
}

std::string Tensor::str() const {
  if (!defined()) return "Tensor[undefined]";
  return detail::concat("Tensor[", dtype_name(dtype()), " ", device().str(), " ", shape().str(), "]");
}

}  // namespace bnas
