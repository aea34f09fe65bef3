// The bnas_engine command line: `info`, `genotype show|draw`, `search`, `train`, `eval`
// (docs/CLI.md). The executable's main only calls run(); the commands are a library so that
// tests can call them in-process too.
//
// Errors: every failure (bad flag, missing data, corrupt genotype, bnas::Error from the library)
// prints one line "bnas_engine: error: <sentence>" on stderr and returns a non-zero status;
// outputs are written atomically, so a failure never leaves a half-written file.
#pragma once
#include <string>
#include <vector>

namespace bnas::cli {

// Exit statuses.
constexpr int kOk = 0;
constexpr int kError = 1;        // a runtime failure (bad data, bad genotype, I/O)
constexpr int kUsage = 2;        // bad command line
constexpr int kInterrupted = 130;  // stopped by Ctrl-C after writing a checkpoint

int run(int argc, char** argv);

// Where a dataset's files are looked for: --data, else $BNAS_DATA/<dataset>, else
// ./data/<dataset> (and, for the MNIST family, Debian's /usr/share/datasets/<dataset> when the
// others do not exist). Returns the first existing folder, or the preferred one when none exists.
std::string resolve_data_dir(const std::string& dataset, const std::string& flag);
// Throws a bnas::Error naming the expected files, the folder and where to get them when the
// dataset's files are not in `dir`.
void check_dataset_files(const std::string& dataset, const std::string& dir);

}  // namespace bnas::cli
