// stb_image behind image.h, compiled here rather than taken from libstb, for three reasons
// found by fuzzing (tests/fuzz/fuzz_image.cpp): Debian's stb_image 2.27 reads Huffman tables
// that a corrupt JPEG never defined from uninitialised heap memory (a wild read that crashes
// depending on what malloc recycles), so every stb allocation here is zeroed; only the JPEG
// and PNG decoders are compiled in (the other formats of 2.27 carry more known bugs and no
// dataset needs them); and the fuzz build instruments this copy, so libFuzzer's coverage sees
// inside the decoder. Functions are static (STB_IMAGE_STATIC), so they never clash with libstb,
// which the tests still use for stb_image_write. The failure reason is thread-local, so
// decoding from many threads is safe.
#include "data/image.h"

#include <cstdlib>
#include <cstring>

namespace {
void* zeroed_malloc(size_t n) { return std::calloc(1, n); }
void* zeroed_realloc(void* p, size_t old_n, size_t n) {
  void* q = std::calloc(1, n);
  if (q && p) std::memcpy(q, p, old_n < n ? old_n : n);
  std::free(p);
  return q;
}
}  // namespace

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_MALLOC(n) zeroed_malloc(n)
#define STBI_REALLOC_SIZED(p, old_n, n) zeroed_realloc(p, old_n, n)
#define STBI_FREE(p) std::free(p)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb_image.h>
#pragma GCC diagnostic pop

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
