// The bnas_engine command line: `info`, `genotype show|draw`, `search`, `train`, `eval`
// (docs/CLI.md). The executable's main only calls run(); the commands are a library so that
// tests can call them in-process too. The commands live in tools/cli/, one file each.
//
// Errors: every failure (bad flag, missing data, corrupt genotype, bnas::Error from the library)
// prints one line "bnas_engine: error: <sentence>" on stderr and returns a non-zero status;
// outputs are written atomically, so a failure never leaves a half-written file.
#pragma once

namespace bnas::cli {

// Exit statuses.
constexpr int kOk = 0;
constexpr int kError = 1;        // a runtime failure (bad data, bad genotype, I/O)
constexpr int kUsage = 2;        // bad command line
constexpr int kInterrupted = 130;  // stopped by Ctrl-C after writing a checkpoint

int run(int argc, char** argv);

}  // namespace bnas::cli
