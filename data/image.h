// Encoded image decoding (JPEG and PNG, through stb_image compiled in image.cpp) into
// interleaved RGB uint8 [H, W, 3]. Grey and RGBA inputs are converted to RGB by stb. The header
// is checked before decoding so that a corrupt or hostile file cannot ask for a huge allocation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnas::data {

struct DecodedImage {
  int h = 0, w = 0;
  std::vector<uint8_t> rgb;  // [h, w, 3]
};

constexpr int64_t kMaxImagePixels = int64_t{1} << 26;  // 64 Mpixel, far above ImageNet's largest

// Width and height from the header only; throws bnas::Error naming `name` when the bytes are
// not a readable image.
void image_size(const uint8_t* bytes, size_t size, const std::string& name, int* h, int* w);
DecodedImage decode_image(const uint8_t* bytes, size_t size, const std::string& name);

}  // namespace bnas::data
