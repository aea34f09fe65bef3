// The commands of bnas_engine, one file each (info_command.cpp, genotype_command.cpp,
// search_command.cpp, train_command.cpp, eval_command.cpp). Each adds its subcommand and flags
// to the app and returns what runs it once the command line has chosen it; run() in
// tools/cli_app.cpp parses, dispatches and turns errors into one line and an exit status.
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace bnas::cli {

struct Command {
  CLI::App* sub = nullptr;   // the subcommand: chosen when sub->parsed()
  std::function<int()> run;  // returns the exit status (tools/cli_app.h); throws on a failure
};

Command add_info_command(CLI::App& app);
Command add_genotype_command(CLI::App& app);
Command add_search_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);

}  // namespace bnas::cli
