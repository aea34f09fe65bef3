// Folder scan (see image_folder.h). Every listing goes through error_code overloads so that a
// permission problem becomes one bnas::Error naming the folder, never a filesystem_error.
#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "engine/check.h"

namespace bnas::data {
namespace fs = std::filesystem;
namespace {

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".jpeg" || ext == ".jpg" || ext == ".png";
}

// Entries of dir (sorted), with `want_dirs` choosing folders or regular files.
std::vector<fs::path> list(const fs::path& dir, bool want_dirs) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  BNAS_CHECK(!ec, "cannot read folder ", dir.string(), " (", ec.message(), ").");
  std::vector<fs::path> out;
  for (; it != end; it.increment(ec)) {
    BNAS_CHECK(!ec, "cannot read folder ", dir.string(), " (", ec.message(), ").");
    std::error_code tec;
    const bool is_dir = it->is_directory(tec), is_file = it->is_regular_file(tec);
    if (want_dirs ? is_dir : is_file) out.push_back(it->path());
  }
  BNAS_CHECK(!ec, "cannot read folder ", dir.string(), " (", ec.message(), ").");
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

FolderIndex scan_image_folder(const std::string& root) {
  std::error_code ec;
  BNAS_CHECK(fs::exists(root, ec), "image folder ", root, " does not exist.");
  BNAS_CHECK(fs::is_directory(root, ec), root, " is not a folder.");
  FolderIndex index;
  for (const fs::path& class_dir : list(root, true)) {
    const auto label = static_cast<int32_t>(index.class_names.size());
    size_t found = 0;
    for (const fs::path& f : list(class_dir, false)) {
      if (!is_image_name(f)) continue;
      index.records.push_back({f.string(), label});
      ++found;
    }
    BNAS_CHECK(found > 0, "class folder ", class_dir.string(), " holds no .jpeg, .jpg or .png images.");
    index.class_names.push_back(class_dir.filename().string());
  }
  BNAS_CHECK(!index.class_names.empty(), "image folder ", root, " has no class sub-folders.");
  return index;
}

}  // namespace bnas::data
