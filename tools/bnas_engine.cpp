// bnas_engine: the command line (docs/CLI.md). All behaviour lives in tools/cli_app.cpp and tools/cli/.
#include "tools/cli_app.h"

int main(int argc, char** argv) { return bnas::cli::run(argc, argv); }
