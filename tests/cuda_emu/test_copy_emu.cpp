// kernels/cuda/copy.cu on the emulated device against kernels/cpu copy_strided / fill (kernels/layout.h):
// every source and destination dtype, transposed, strided, broadcast (stride 0) and dense layouts
// of up to 5 dims over several 256-thread blocks, and fills of every dtype. Exact.
#include "copy_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/layout.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_copy;
using bnas::DType;
using kernels::Layout;

Layout layout(std::vector<int64_t> size, std::vector<int64_t> stride) {
  Layout l;
  l.ndim = static_cast<int>(size.size());
  for (size_t d = 0; d < size.size(); ++d) l.size[d] = size[d], l.stride[d] = stride[d];
  return l;
}
// Elements a layout can reach (offsets are non-negative here).
int64_t extent(const Layout& l) {
  int64_t e = 1;
  for (int d = 0; d < l.ndim; ++d) e += (l.size[d] - 1) * l.stride[d];
  return e;
}

template <class T> std::vector<T> values(int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(std::is_floating_point_v<T> ? i * 0.37 - 20 : i % 251);
  return v;
}
template <class T> T poison() { return std::is_floating_point_v<T> ? static_cast<T>(NAN) : static_cast<T>(0xAB); }

template <class S, class D> EmuCase copy_case(std::string name, DType st, DType dt, Layout sl, Layout dl) {
  return {name, [=] {
            const std::vector<S> src = values<S>(extent(sl));
            std::vector<D> a(static_cast<size_t>(extent(dl)), poison<D>());
            DeviceBuffer<S> dsrc(src);
            DeviceBuffer<D> b(a);
            kernels::cpu::copy_strided(src.data(), st, sl, a.data(), dt, dl);
            gpu::copy_strided(dsrc.get(), st, sl, b.get(), dt, dl, nullptr);
            EXPECT_TRUE(same(b.to_host(), a));
          }};
}
template <class T> EmuCase fill_case(std::string name, DType t, int64_t n, double v) {
  return {name, [=] {
            std::vector<T> a(static_cast<size_t>(n + 1), T(123));  // 123: never a fill value here
            DeviceBuffer<T> b(a);
            kernels::cpu::fill(a.data(), t, n, v);
            gpu::fill(b.get(), t, n, v, nullptr);
            EXPECT_TRUE(same(b.to_host(), a));
          }};
}

std::vector<EmuCase> cases() {
  const Layout dense3 = layout({3, 5, 28}, {140, 28, 1});
  const Layout transposed3 = layout({3, 5, 28}, {1, 84, 3});    // the same shape, read across
  const Layout padded3 = layout({3, 5, 28}, {300, 30, 1});      // rows 30 apart: 2 gaps each
  const Layout broadcast5 = layout({2, 3, 1, 4, 20}, {0, 20, 7, 0, 1});  // stride-0 dims
  const Layout dense5 = layout({2, 3, 1, 4, 20}, {240, 80, 80, 20, 1});
  return {
      copy_case<float, double>("f32_to_f64_transposed", DType::F32, DType::F64, transposed3, dense3),
      copy_case<double, float>("f64_to_f32_padded_dst", DType::F64, DType::F32, dense3, padded3),
      copy_case<float, float>("f32_dense", DType::F32, DType::F32, dense3, dense3),
      copy_case<float, float>("f32_transposed_to_padded", DType::F32, DType::F32, transposed3, padded3),
      copy_case<uint8_t, float>("u8_to_f32_broadcast5", DType::U8, DType::F32, broadcast5, dense5),
      copy_case<int32_t, int32_t>("i32_broadcast5", DType::I32, DType::I32, broadcast5, dense5),
      copy_case<int32_t, float>("i32_to_f32_transposed", DType::I32, DType::F32, transposed3, dense3),
      copy_case<uint8_t, uint8_t>("u8_padded", DType::U8, DType::U8, padded3, dense3),
      fill_case<float>("fill_f32", DType::F32, 300, -1.25),
      fill_case<double>("fill_f64", DType::F64, 513, 3.5e-7),
      fill_case<int32_t>("fill_i32", DType::I32, 1, -42),
      fill_case<uint8_t>("fill_u8", DType::U8, 257, 200),
  };
}
INSTANTIATE_TEST_SUITE_P(emu_copy, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
