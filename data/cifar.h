// CIFAR-10 and CIFAR-100 in their binary distribution formats.
//
// CIFAR-10 (cifar-10-batches-bin/): data_batch_1.bin .. data_batch_5.bin (training, 10000
// records each) and test_batch.bin; a record is 1 label byte (0-9) + 3072 pixel bytes, the
// red, green and blue 32x32 planes in row-major order, i.e. uint8 [3, 32, 32] per image.
// CIFAR-100 (cifar-100-binary/): train.bin (50000 records) and test.bin (10000); a record is
// 1 coarse label byte (0-19) + 1 fine label byte (0-99) + 3072 pixel bytes. Fine labels by
// default. Optional batches.meta.txt / fine_label_names.txt / coarse_label_names.txt supply
// class names.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace bnas::data {

enum class Split { Train, Test };
enum class Cifar100Labels { Fine, Coarse };

// One or more whole records of a CIFAR binary file held in memory; `name` names the file in
// errors. label_bytes is 1 (CIFAR-10) or 2 (CIFAR-100); label_index selects which label byte;
// every label must be below num_classes.
ImageSet parse_cifar(const uint8_t* bytes, size_t size, int label_bytes, int label_index,
                     int num_classes, const std::string& name);

// dir holds the .bin files (the extracted cifar-10-batches-bin / cifar-100-binary folder).
ImageSet read_cifar10(const std::string& dir, Split split);
ImageSet read_cifar100(const std::string& dir, Split split, Cifar100Labels labels = Cifar100Labels::Fine);

}  // namespace bnas::data
