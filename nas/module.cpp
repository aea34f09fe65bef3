#include "nas/module.h"

#include <algorithm>

#include "engine/check.h"

namespace bnas::nas {

void Module::register_parameter(const std::string& name, Tensor* t) {
  BNAS_CHECK(t && t->defined(), "parameter '", name, "' is undefined");
  params_.emplace_back(name, t);
}

void Module::register_buffer(const std::string& name, Tensor* t) {
  BNAS_CHECK(t && t->defined(), "buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
}

void Module::register_module(const std::string& name, Module* m) {
  BNAS_CHECK(m != nullptr, "submodule '", name, "' is null");
  children_.emplace_back(name, m);
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, *t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, *t);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

namespace {
void check_options(const ParamOptions& o) {
  BNAS_CHECK(o.dtype == DType::F32 || o.dtype == DType::F64,
             "parameters must be float32 or float64, not ", dtype_name(o.dtype));
}
}  // namespace

Tensor uniform_parameter(const Shape& shape, double bound, const ParamOptions& o) {
  check_options(o);
  BNAS_CHECK(o.gen != nullptr, "creating a randomly initialised parameter needs a generator");
  const std::vector<float> u = o.gen->uniform(static_cast<uint64_t>(shape.numel()));
  std::vector<double> v(u.size());
  for (size_t i = 0; i < u.size(); ++i) v[i] = (2.0 * static_cast<double>(u[i]) - 1.0) * bound;
  Tensor t = Tensor::from_vector(v, shape, o.dtype, o.device);
  t.set_requires_grad(true);
  return t;
}

Tensor constant_parameter(const Shape& shape, double value, const ParamOptions& o) {
  Tensor t = constant_buffer(shape, value, o);
  t.set_requires_grad(true);
  return t;
}

Tensor constant_buffer(const Shape& shape, double value, const ParamOptions& o) {
  check_options(o);
  return Tensor::full(shape, value, o.dtype, o.device);
}

}  // namespace bnas::nas
