// Element types (defined at the kernels layer, which the engine builds on). float32 is the working type; float64 exists on the CPU for gradient checks;
// int32 holds labels and uint8 holds raw images. The enum leaves room for bf16/fp16 storage
// (with float32 accumulation) without changing signatures that take a DType.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace bnas {

enum class DType : uint8_t { F32, F64, I32, U8 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::U8: return 1;
  }
  return 0;
}
inline const char* dtype_name(DType t) {  // safetensors spelling
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    case DType::U8: return "U8";
  }
  return "?";
}
inline bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::U8; };

}  // namespace bnas
