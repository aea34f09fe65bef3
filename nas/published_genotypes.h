// The published genotypes of the BNAS-v2, DARTS and PC-DARTS papers, by name. Their JSON is
// embedded in the library at build time (nas/published_genotypes.json, the repository's
// own data; see nas/CMakeLists.txt), so no data file is needed at run time.
#pragma once

#include <string>
#include <vector>

#include "nas/genotype.h"

namespace bnas::nas {

// DARTS_V1, DARTS_V2, PC_DARTS_cifar, PC_DARTS_image, BNASv2_PC_cifar_v1, BNASv2_PC_cifar_v2,
// BNASv2_PC_image, BNASv2_CLR_v1, BNASv2_CLR_v2, in the order of the data file.
const std::vector<std::string>& published_genotype_names();
bool is_published_genotype(const std::string& name);
// Throws, listing the names, if `name` is not published.
const Genotype& published_genotype(const std::string& name);
// The embedded JSON text (the whole genotypes.json), for tests and tools.
const std::string& published_genotypes_json();
// A published name, else a file path (JSON or DARTS text, nas/genotype_file.h), else genotype
// text itself (starting with '{' or "Genotype"), else an error saying neither.
Genotype resolve_genotype(const std::string& name_or_path);

}  // namespace bnas::nas
