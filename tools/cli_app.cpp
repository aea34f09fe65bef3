// The bnas_engine entry (cli_app.h): builds the CLI11 app from the commands in tools/cli/,
// parses, runs the chosen command and turns every failure into one line and an exit status.
#include "tools/cli_app.h"

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/cli/build_info.h"
#include "tools/cli/commands.h"

namespace bnas::cli {

int run(int argc, char** argv) {
  CLI::App app{"bnas_engine: BNAS-v2 broad neural architecture search, from scratch in C++/CUDA", "bnas_engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bnas_engine ") + BNAS_VERSION);
  app.footer("Run `bnas_engine <command> --help` for a command's options. Documentation: docs/CLI.md");
  const std::vector<Command> commands = {add_info_command(app), add_genotype_command(app), add_search_command(app),
                                         add_train_command(app), add_eval_command(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "bnas_engine: error: %s (see bnas_engine --help)\n", e.what());
    return kUsage;
  }

  try {
    for (const Command& c : commands)
      if (c.sub->parsed()) return c.run();
  } catch (const std::exception& e) {
    // bnas::Error's what() is the sentence for the user; one line, after any open progress line.
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "%sbnas_engine: error: %s\n", ::isatty(STDERR_FILENO) ? "\r\033[K" : "", msg.c_str());
    return kError;
  }
  return kOk;
}

}  // namespace bnas::cli
