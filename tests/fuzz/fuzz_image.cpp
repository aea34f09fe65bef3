// Fuzzes image decoding (stb_image behind the header check) and runs the decoded image through
// both test and random-resized-crop/jitter transforms, so that the bilinear sampler sees every
// odd image size a decoder can produce.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/augment.h"
#include "data/image.h"
#include "engine/check.h"
#include "kernels/augment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const bnas::data::DecodedImage img = bnas::data::decode_image(data, size, "fuzz-image");
    if (static_cast<int64_t>(img.h) * img.w > (int64_t{1} << 22)) return 0;  // keep runs fast
    bnas::data::ImageAugment a = bnas::data::ImageAugment::imagenet_train();
    a.size = 16;
    std::vector<float> out(3 * 16 * 16);
    const auto train = bnas::data::resample_params(a, bnas::data::augment_range(size, 0, 0, bnas::kernels::ResampleJitter::kLanes));
    bnas::kernels::cpu::resample_jitter(img.rgb.data(), img.h, img.w, train, 0, out.data());
    a = bnas::data::ImageAugment::imagenet_test();
    a.size = 16;
    a.resize = 18;
    bnas::kernels::cpu::resample_jitter(img.rgb.data(), img.h, img.w, bnas::data::resample_params(a, {}), 0, out.data());
  } catch (const bnas::Error&) {
  }
  return 0;
}
