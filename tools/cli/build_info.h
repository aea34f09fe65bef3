// What this build is: version, build type and compiler, set as compile definitions of bnas_cli by
// tools/CMakeLists.txt; the fallbacks keep the sources compilable on their own. Printed by
// `bnas_engine info` and --version and recorded in every run's config.json.
#pragma once

#ifndef BNAS_VERSION
#define BNAS_VERSION "unknown"
#endif
#ifndef BNAS_BUILD_TYPE
#define BNAS_BUILD_TYPE "unknown"
#endif
#ifndef BNAS_CXX_COMPILER
#define BNAS_CXX_COMPILER "unknown"
#endif
