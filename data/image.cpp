// stb_image behind image.h, compiled here rather than taken from libstb, because fuzzing
// (tests/fuzz/fuzz_image.cpp) found two problems in Debian's stb_image 2.27:
//  * a corrupt JPEG's undefined Huffman tables are read from uninitialised heap memory (a wild
//    read whose effect depends on what malloc recycles): every stb allocation here is zeroed;
//  * a 100-byte PNG whose chunk header declares a huge IDAT makes stb allocate gigabytes before
//    noticing the data is missing: every allocation is capped by what an image of the header's
//    size can legitimately need (8 bytes per pixel + twice the file + 1 MiB); beyond that stb
//    gets nullptr and reports "out of memory", which becomes a bnas::Error.
// Only the JPEG and PNG decoders are compiled (2.27's other formats carry more known bugs and no
// dataset needs them), and the fuzz build instruments this copy, so libFuzzer's coverage sees
// inside the decoder. Functions are static (STB_IMAGE_STATIC), so they never clash with libstb,
// which the tests still use for stb_image_write. The failure reason and the cap are
// thread-local, so decoding from many threads is safe.
#include "data/image.h"

#include <cstdlib>
#include <cstring>

namespace {
thread_local size_t alloc_cap = size_t{64} << 20;  // per allocation, set by each decode

void* capped_malloc(size_t n) { return n > alloc_cap ? nullptr : std::calloc(1, n); }
void* capped_realloc(void* p, size_t old_n, size_t n) {  // on failure p stays valid, as realloc
  void* q = capped_malloc(n);
  if (q == nullptr) return nullptr;
  if (p) std::memcpy(q, p, old_n < n ? old_n : n);
  std::free(p);
  return q;
}
}  // namespace

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_MALLOC(n) capped_malloc(n)
#define STBI_REALLOC_SIZED(p, old_n, n) capped_realloc(p, old_n, n)
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
  alloc_cap = 8 * static_cast<size_t>(img.h) * img.w + 2 * size + (size_t{1} << 20);
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
