// Flag names of settings (setting_flags.h).
#include "tools/cli/setting_flags.h"

namespace bnas::cli {

std::string flag_name(const std::string& setting) {
  std::string f = "--" + setting;
  for (char& ch : f)
    if (ch == '_') ch = '-';
  return f;
}

}  // namespace bnas::cli
