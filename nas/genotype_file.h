// Genotype text in either form (JSON, nas/genotype.h, or DARTS text, nas/genotype_darts.h), and
// genotype files.
#pragma once

#include <string>

#include "nas/genotype.h"

namespace bnas::nas {

// JSON if the first non-blank character is '{', DARTS text otherwise.
Genotype parse_genotype(const std::string& text, const std::string& source = "genotype text");
// Reads a JSON or DARTS-text genotype file; errors name the file.
Genotype read_genotype_file(const std::string& path);
// Writes JSON if path ends in ".json", DARTS text (one line) otherwise. Writes to a temporary
// file beside `path` and renames it over (engine write_file_atomically), so a failure never
// leaves a half-written file.
void write_genotype_file(const Genotype& g, const std::string& path);

}  // namespace bnas::nas
