// bnas_engine: the command line (docs/CLI.md). All behaviour lives in tools/cli_app.cpp.
#include "tools/cli_app.h"

int main(int argc, char** argv) { return bnas::cli::run(argc, argv); }
