// ImageNet-style folder layout: root/<class>/<image>, e.g. ILSVRC/train/n01440764/*.JPEG. Class
// names are the sub-folder names sorted byte-wise (label = position, as torchvision's
// ImageFolder); files with a .jpeg/.jpg/.png extension (any case) are images, anything else is
// ignored. A class folder without images, an unreadable folder or a root without class folders
// is an error naming the folder.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnas::data {

struct FolderRecord {
  std::string path;
  int32_t label = 0;
};

struct FolderIndex {
  std::vector<std::string> class_names;
  std::vector<FolderRecord> records;  // sorted by (label, file name)
};

FolderIndex scan_image_folder(const std::string& root);

}  // namespace bnas::data
