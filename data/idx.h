// MNIST-family IDX files (MNIST, Fashion-MNIST, KMNIST...), raw or gzip-compressed.
//
// IDX layout: bytes 0-1 are zero, byte 2 is the element type (0x08 = unsigned byte, the only
// type these datasets use and the only one accepted), byte 3 the number of dimensions d, then d
// big-endian uint32 sizes, then the elements in row-major order. Images are idx3 [N, H, W],
// labels idx1 [N]. A file starting with the gzip magic is inflated in memory first.
// read_mnist pairs {train,t10k}-images-idx3-ubyte with {train,t10k}-labels-idx1-ubyte
// (each with or without .gz) into an ImageSet of uint8 [N, 1, H, W] with 10 classes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/cifar.h"
#include "data/dataset.h"

namespace bnas::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // row-major, product(dims) bytes
};

// Parses IDX bytes (already inflated); `name` names the file in errors.
IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& name);
// Reads and parses an IDX file, inflating it when it is gzip-compressed.
IdxArray read_idx(const std::string& path);

// Joins an idx3 image array and an idx1 label array (labels < num_classes).
ImageSet images_from_idx(const IdxArray& images, const IdxArray& labels, int num_classes,
                         const std::string& images_name, const std::string& labels_name);

// dir holds the four IDX files, raw or .gz (e.g. /usr/share/datasets/fashion-mnist).
ImageSet read_mnist(const std::string& dir, Split split);

}  // namespace bnas::data
