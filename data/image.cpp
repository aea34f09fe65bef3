// stb_image behind image.h. stb keeps its failure reason in a thread-local when built with
// STBI_THREAD_LOCAL (Debian's libstb is), so decoding from many threads is safe.
#include "data/image.h"

#include <stb_image.h>

#include <climits>

#include "engine/check.h"

namespace bnas::data {

void image_size(const uint8_t* bytes, size_t size, const std::string& name, int* h, int* w) {
  BNAS_CHECK(size > 0, name, " is empty.");
  BNAS_CHECK(size <= static_cast<size_t>(INT_MAX), name, " is larger than 2 GiB.");
  int comp = 0;
  BNAS_CHECK(stbi_info_from_memory(bytes, static_cast<int>(size), w, h, &comp), name,
             " is not a readable image (", stbi_failure_reason(), ").");
  BNAS_CHECK(*w > 0 && *h > 0 && static_cast<int64_t>(*w) * *h <= kMaxImagePixels, name,
             " declares a ", *w, "x", *h, " image, outside the supported 1 to ", kMaxImagePixels, " pixels.");
}

DecodedImage decode_image(const uint8_t* bytes, size_t size, const std::string& name) {
  DecodedImage img;
  image_size(bytes, size, name, &img.h, &img.w);
  int w = 0, h = 0, comp = 0;
  stbi_uc* px = stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &comp, 3);
  BNAS_CHECK(px != nullptr, name, " could not be decoded (", stbi_failure_reason(), ").");
  img.h = h;
  img.w = w;
  img.rgb.assign(px, px + static_cast<size_t>(w) * h * 3);
  stbi_image_free(px);
  return img;
}

}  // namespace bnas::data
