// kernels/cuda/augment.cu on the emulated device against kernels/cpu augment_batch (kernels/augment.h):
// batches gathered out of order from a uint8 dataset, with and without random crops, flips and
// cutout, images of 1, 3 and 4 channels whose C x out_h x out_w spans one or two 256-thread blocks
// (the kernel's block size is a literal). Exact: the same per-element function on both sides.
#include "augment_emu_test.inc"
// (the converted kernel file first: it includes the emulator's device-side header)
#include "kernels/augment.h"
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {
namespace gpu = kernels::cuda_emu_augment;
using kernels::CropFlipCutout;

std::vector<EmuCase> cases() {
  std::vector<EmuCase> out;
  struct Setting {
    const char* name;
    int c, h, w, out_h, out_w, pad, cutout;
    bool random_crop, flip;
  };
  for (const Setting st : {Setting{"c3_random_crop_flip_cutout", 3, 8, 8, 10, 10, 2, 4, true, true},
                           Setting{"c3_center_crop", 3, 8, 8, 10, 10, 2, 0, false, false},
                           Setting{"c1_padded_odd_cutout", 1, 9, 7, 13, 11, 2, 5, true, true},
                           Setting{"c4_no_pad", 4, 12, 12, 8, 7, 0, 3, true, false}})
    out.push_back({std::string("augment_batch_") + st.name, [=] {
                     CropFlipCutout p;
                     p.c = st.c, p.h = st.h, p.w = st.w, p.out_h = st.out_h, p.out_w = st.out_w, p.pad = st.pad;
                     p.random_crop = st.random_crop, p.flip = st.flip, p.cutout = st.cutout;
                     for (int ch = 0; ch < st.c; ++ch) p.mean[ch] = 0.1f * float(ch + 3), p.std[ch] = 0.2f + 0.05f * float(ch);
                     p.seed = 77, p.stream = 2, p.offset = 13;
                     const int64_t images = 10, count = 6, per_image = int64_t(st.c) * st.out_h * st.out_w;
                     std::mt19937 rng(1);
                     std::vector<uint8_t> data(static_cast<size_t>(images * st.c * st.h * st.w));
                     for (uint8_t& v : data) v = static_cast<uint8_t>(rng() % 256);
                     std::vector<int32_t> labels(static_cast<size_t>(images)), indices(static_cast<size_t>(count));
                     for (int32_t& l : labels) l = static_cast<int32_t>(rng() % 10);
                     for (int32_t& i : indices) i = static_cast<int32_t>(rng() % images);
                     auto ya = nans(count * per_image);
                     std::vector<int32_t> la(static_cast<size_t>(count), -1);
                     DeviceBuffer ddata(data);
                     DeviceBuffer dlabels(labels), dindices(indices), lb(la);
                     DeviceBuffer yb(ya);
                     kernels::cpu::augment_batch(data.data(), labels.data(), indices.data(), count, p, ya.data(),
                                                 la.data());
                     gpu::augment_batch(ddata.get(), dlabels.get(), dindices.get(), count, p, yb.get(), lb.get(),
                                        nullptr);
                     EXPECT_TRUE(same(yb.to_host(), ya)) << "images";
                     EXPECT_TRUE(same(lb.to_host(), la)) << "labels";
                   }});
  return out;
}
INSTANTIATE_TEST_SUITE_P(emu_augment, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
