// kernels/cuda/optim.cu on the emulated device against kernels/cpu/optim, with 64-thread blocks
// and host norm batches of 3 chunks (so 7 chunks take 3 launches): SGD (with and without momentum
// and weight decay, first and later steps), Adam, DARTS's unrolled weight moves, zeroing, the sums of squares over device tables
// and host arrays, the norm, clipping. Chunks shorter and longer than a block. The norm's sums are
// doubles added in another order (partials: about 1e-16 apart, hence 1e-12; the float norm:
// kDoubleSumTol); the SGD and Adam updates are multiply-adds the kernel contracts into FMAs, as on
// a GPU (kFmaTol); zeroing and clipping are exact.
#include "optim_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/cpu/optim.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_optim;
namespace cpu = kernels::cpu;
using kernels::NormChunk;
using kernels::OptimChunk;

constexpr double kDoublePartialTol = 1e-12;
const std::vector<int64_t> kSizes{100, 64, 1, 200, 37, 65, 3};  // 7 chunks

// Parameters, gradients and two state buffers, one chunk per size; make two from one seed, one
// for each side. to_device() moves a group's values to device copies, which its chunk tables then
// point at (the tables themselves are host arrays: upload them for the *_table and update entry
// points, which read them on the device); to_host() brings the values back.
struct Group {
  explicit Group(unsigned seed) {
    std::mt19937 rng(seed);
    for (int64_t n : kSizes) {
      for (auto* v : {&param, &grad, &s0, &s1}) v->push_back(randn(rng, n));
      for (float& x : s1.back()) x = std::abs(x);  // Adam's second moment
    }
  }
  void to_device() {
    for (int f = 0; f < 4; ++f)
      for (const auto& v : *field(f)) dev[f].emplace_back(v);
  }
  void to_host() {
    for (int f = 0; f < 4; ++f)
      for (size_t i = 0; i < kSizes.size(); ++i) (*field(f))[i] = dev[f][i].to_host();
  }
  float* at(int f, size_t i) { return dev[f].empty() ? (*field(f))[i].data() : dev[f][i].get(); }
  std::vector<OptimChunk<float>> chunks(bool states) {
    std::vector<OptimChunk<float>> c;
    for (size_t i = 0; i < kSizes.size(); ++i)
      c.push_back({at(0, i), at(1, i), states ? at(2, i) : nullptr, states ? at(3, i) : nullptr, kSizes[i]});
    return c;
  }
  std::vector<NormChunk<float>> norm_chunks() {
    std::vector<NormChunk<float>> c;
    for (size_t i = 0; i < kSizes.size(); ++i) c.push_back({at(1, i), kSizes[i]});
    return c;
  }
  std::vector<std::vector<float>>* field(int f) {  // 0..3: param, grad, s0, s1
    std::vector<std::vector<float>>* all[4] = {&param, &grad, &s0, &s1};
    return all[f];
  }
  std::vector<std::vector<float>> param, grad, s0, s1;
  std::vector<DeviceBuffer<float>> dev[4];
};

// Every buffer of b equal to a's (tol < 0), or within tol of it (close()).
void expect_same(const Group& b, const Group& a, double tol = -1) {
  auto check = [tol](const std::vector<float>& got, const std::vector<float>& want) {
    return tol < 0 ? same(got, want) : close(got, want, tol);
  };
  for (size_t i = 0; i < kSizes.size(); ++i) {
    EXPECT_TRUE(check(b.param[i], a.param[i])) << "param of chunk " << i;
    EXPECT_TRUE(check(b.grad[i], a.grad[i])) << "grad of chunk " << i;
    EXPECT_TRUE(check(b.s0[i], a.s0[i])) << "state0 of chunk " << i;
    EXPECT_TRUE(check(b.s1[i], a.s1[i])) << "state1 of chunk " << i;
  }
}

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  out.push_back({"advance_step", [] {
                   int32_t a = 6;
                   DeviceBuffer b(std::vector<int32_t>{6});
                   cpu::advance_step(&a);
                   gpu::advance_step(b.get(), nullptr);
                   EXPECT_EQ(b.to_host()[0], a);
                 }});
  for (float momentum : {0.0f, 0.9f})
    for (float wd : {0.0f, 1e-3f})
      for (int32_t step : {1, 2}) {
        const std::string name = std::string("sgd_step") + (momentum > 0 ? "_momentum" : "") + (wd > 0 ? "_wd" : "") +
                                 "_step" + std::to_string(step);
        out.push_back({name, [=] {
                         Group a(1), b(1);
                         if (step == 1)  // the first step writes the momentum buffer without reading it
                           for (auto* g : {&a, &b})
                             for (auto& v : g->s0) std::fill(v.begin(), v.end(), NAN);
                         b.to_device();
                         const float lr = 0.05f;
                         const kernels::SgdHyper<float> h{momentum, wd};
                         const auto ca = a.chunks(momentum > 0);
                         DeviceBuffer cb(b.chunks(momentum > 0));
                         DeviceBuffer dlr(std::vector<float>{lr});
                         DeviceBuffer dstep(std::vector<int32_t>{step});
                         cpu::sgd_step(ca.data(), int64_t(ca.size()), &lr, &step, h);
                         gpu::sgd_step(cb.get(), int64_t(cb.size()), dlr.get(), dstep.get(), h, nullptr);
                         b.to_host();
                         expect_same(b, a, kFmaTol);
                       }});
      }
  for (int32_t step : {0, 4})
    out.push_back({"adam_prologue_step" + std::to_string(step), [=] {
                     int32_t sa = step;
                     const float lr = 3e-4f;
                     std::vector<float> a = nans(2);
                     DeviceBuffer sb(std::vector<int32_t>{step});
                     DeviceBuffer dlr(std::vector<float>{lr}), b(nans(2));
                     cpu::adam_prologue(&sa, &lr, a.data(), 0.9, 0.999);
                     gpu::adam_prologue(sb.get(), dlr.get(), b.get(), 0.9, 0.999, nullptr);
                     EXPECT_EQ(sb.to_host()[0], sa);
                     EXPECT_TRUE(same(b.to_host(), a));
                   }});
  for (float wd : {0.0f, 1e-2f})
    out.push_back({std::string("adam_step") + (wd > 0 ? "_wd" : ""), [=] {
                     Group a(2), b(2);
                     b.to_device();
                     const std::vector<float> scalars{0.003f, 0.05f};
                     const kernels::AdamHyper<float> h{0.9f, 0.999f, 0.1f, 0.001f, 1e-8f, wd};
                     const auto ca = a.chunks(true);
                     DeviceBuffer cb(b.chunks(true));
                     DeviceBuffer dscalars(scalars);
                     cpu::adam_step(ca.data(), int64_t(ca.size()), scalars.data(), h);
                     gpu::adam_step(cb.get(), int64_t(cb.size()), dscalars.get(), h, nullptr);
                     b.to_host();
                     expect_same(b, a, kFmaTol);
                   }});
  out.push_back({"zero_grads", [] {
                   Group a(3), b(3);
                   b.to_device();
                   const auto ca = a.chunks(false);
                   DeviceBuffer cb(b.chunks(false));
                   cpu::zero_grads(ca.data(), int64_t(ca.size()));
                   gpu::zero_grads(cb.get(), int64_t(cb.size()), nullptr);
                   b.to_host();
                   expect_same(b, a);
                 }});
  // DARTS's unrolled moves: virtual step (with and without momentum), perturbation (with a zero
  // norm too: nothing added), save and restore. state1 is the backup.
  using kernels::UnrollMove;
  const std::pair<UnrollMove, const char*> moves[] = {{UnrollMove::kVirtualStep, "virtual_step"},
                                                      {UnrollMove::kPerturb, "perturb"},
                                                      {UnrollMove::kSave, "save"},
                                                      {UnrollMove::kRestore, "restore"}};
  for (const auto& [move, move_name] : moves)
    for (float scalar : {0.0f, 0.7f})
      for (bool momentum : {false, true}) {
        const std::string name = std::string("unroll_") + move_name + (momentum ? "_momentum" : "") +
                                 (scalar == 0 ? "_zero_scalar" : "");
        out.push_back({name, [=] {
                         Group a(5), b(5);
                         b.to_device();
                         auto table = [&](Group& g) {
                           auto c = g.chunks(true);
                           if (!momentum)
                             for (auto& k : c) k.state0 = nullptr;
                           return c;
                         };
                         const auto ca = table(a);
                         DeviceBuffer cb(table(b));
                         DeviceBuffer dscalar(std::vector<float>{scalar});
                         const kernels::SgdHyper<float> h{0.9f, 3e-4f};
                         cpu::unroll(ca.data(), int64_t(ca.size()), move, &scalar, 0.01f, h);
                         gpu::unroll(cb.get(), int64_t(cb.size()), move, dscalar.get(), 0.01f, h, nullptr);
                         b.to_host();
                         expect_same(b, a, kFmaTol);
                       }});
      }
  for (bool table : {false, true})
    out.push_back({table ? "sum_squares_table" : "sum_squares", [=] {
                     Group g(4);
                     const auto chunks = g.norm_chunks();
                     const int64_t count = int64_t(chunks.size());
                     std::vector<double> a(chunks.size(), NAN);
                     DeviceBuffer b(a);
                     cpu::sum_squares(chunks.data(), count, a.data());
                     g.to_device();
                     const auto dchunks = g.norm_chunks();  // a host array of device chunks
                     if (table) {
                       DeviceBuffer dtable(dchunks);
                       gpu::sum_squares_table(dtable.get(), count, b.get(), nullptr);
                     } else {
                       gpu::sum_squares(dchunks.data(), count, b.get(), nullptr);
                     }
                     const std::vector<double> got = b.to_host();
                     for (size_t i = 0; i < a.size(); ++i)
                       EXPECT_TRUE(close(std::vector<double>{got[i]}, std::vector<double>{a[i]}, kDoublePartialTol))
                           << "chunk " << i;
                   }});
  for (int64_t n : {1, 7, 100})
    out.push_back({"finish_norm_n" + std::to_string(n), [=] {
                     std::mt19937 rng(5);
                     std::vector<double> partials;
                     for (float v : randn(rng, n)) partials.push_back(double(v) * v);
                     auto a = nans(1);
                     DeviceBuffer dpartials(partials);
                     DeviceBuffer b(nans(1));
                     cpu::finish_norm(partials.data(), n, a.data());
                     gpu::finish_norm(dpartials.get(), n, b.get(), nullptr);
                     EXPECT_TRUE(close(b.to_host(), a, kDoubleSumTol));
                   }});
  for (bool table : {false, true})
    out.push_back({table ? "clip_scale_table" : "clip_scale", [=] {
                     Group a(6), b(6);
                     b.to_device();
                     const float norm = 7.5f, max_norm = 2.f;
                     const auto ca = a.norm_chunks(), cb = b.norm_chunks();
                     DeviceBuffer dnorm(std::vector<float>{norm});
                     cpu::clip_scale(ca.data(), int64_t(ca.size()), &norm, max_norm);
                     if (table) {
                       DeviceBuffer dtable(cb);
                       gpu::clip_scale_table(dtable.get(), int64_t(cb.size()), dnorm.get(), max_norm, nullptr);
                     } else {
                       gpu::clip_scale(cb.data(), int64_t(cb.size()), dnorm.get(), max_norm, nullptr);
                     }
                     b.to_host();
                     expect_same(b, a);
                   }});
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_optim, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
