// Tensor: a handle to (storage, offset, shape, strides, dtype, device) plus autograd state.
// Copies of a handle share everything (like a PyTorch tensor); views share storage only.
// Layout is NCHW. Up to 5 dimensions. Most kernels want contiguous memory; channel-slice views
// (x[:, c0:c1]) are cheap strided views that the slice-aware kernels read directly and that
// contiguous() materialises for the others.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/device.h"
#include "engine/dtype.h"

namespace bnas {

constexpr int kMaxDims = 5;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  int ndim() const { return n_; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t numel() const;
  std::vector<int64_t> vec() const { return std::vector<int64_t>(d_.begin(), d_.begin() + n_); }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "[2, 3, 4]"

 private:
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device;
  bool owned = true;  // false for memory wrapped by Tensor::borrow (the caller keeps it alive)
  ~Storage();
};

struct Node;           // autograd.h
struct AutogradMeta;   // autograd.h

class Tensor {
 public:
  Tensor() = default;  // undefined tensor

  // Factories. Uninitialised memory for empty(); the rest fill.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor from_ints(const std::vector<int32_t>& values, const Shape& shape, Device device = Device::cpu());
  // Wraps existing memory without owning it (the caller keeps it alive).
  static Tensor borrow(void* ptr, const Shape& shape, DType dtype, Device device);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int ndim() const { return impl().shape.ndim(); }
  int64_t size(int i) const { return impl().shape[i < 0 ? i + ndim() : i]; }
  int64_t numel() const { return impl().shape.numel(); }
  int64_t stride(int i) const { return impl().strides[i]; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  bool is_cuda() const { return device().is_cuda(); }
  bool is_contiguous() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  // Pointer to the first element; data<T>() checks that T matches the dtype.
  void* raw() const;
  template <class T> T* data() const {
    BNAS_CHECK(dtype_of<T>::value == dtype(), "tensor holds ", dtype_name(dtype()),
               " but was read as ", dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw());
  }

  // Views (share storage, no autograd history: the differentiable versions are in ops.h).
  Tensor view(const Shape& shape) const;                 // needs contiguous; same numel
  Tensor channel_slice(int64_t c0, int64_t c1) const;    // dim 1, [c0, c1)
  Tensor detach() const;                                 // same data, no autograd state

  // Copies.
  Tensor contiguous() const;   // this when already contiguous
  Tensor clone() const;        // always a fresh contiguous copy
  Tensor to(Device d) const;   // this when already there
  Tensor to(DType t) const;    // this when already that type (casts run on the CPU or GPU)
  void copy_(const Tensor& src);  // same shape; any device/dtype combination
  void fill_(double value);
  void zero_();

  // Host read-back (syncs: for tests, logs and checkpoints only).
  std::vector<double> to_doubles() const;
  std::vector<int32_t> to_ints() const;
  double item() const;  // numel() == 1

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on);  // leaves only
  const Tensor& grad() const;          // accumulated gradient of a leaf (undefined if none yet)
  void set_grad(const Tensor& g);
  void zero_grad();                    // zeroes the gradient buffer in place (keeps it allocated)
  std::shared_ptr<Node> grad_fn() const;
  bool is_leaf() const { return grad_fn() == nullptr; }
  const std::shared_ptr<AutogradMeta>& autograd_meta() const;  // null until autograd state exists
  void set_grad_fn(std::shared_ptr<Node> fn);  // used by ops when recording

  bool same_as(const Tensor& o) const { return impl_ == o.impl_; }
  std::string str() const;  // "Tensor[F32 cpu [2, 3]]"

 private:
  struct Impl {
    std::shared_ptr<Storage> storage;
    int64_t offset = 0;  // in elements
    Shape shape;
    std::array<int64_t, kMaxDims> strides{};
    DType dtype = DType::F32;
    std::shared_ptr<AutogradMeta> meta;
  };
  const Impl& impl() const {
    BNAS_CHECK(impl_, "an undefined tensor was used");
    return *impl_;
  }
  static Tensor make(std::shared_ptr<Storage> s, int64_t offset, const Shape& shape,
                     const std::array<int64_t, kMaxDims>& strides, DType dtype);
  AutogradMeta& meta_or_create();
  std::shared_ptr<Impl> impl_;
};

std::array<int64_t, kMaxDims> contiguous_strides(const Shape& s);

}  // namespace bnas
