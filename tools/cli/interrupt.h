// Ctrl-C during a search or training: the first one lets the epoch finish, writes a checkpoint
// and stops with a hint how to resume (exit status kInterrupted); a second one stops at once.
// SigintScope installs the handler for the run and restores the previous one afterwards.
#pragma once
#include <signal.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "tools/cli/progress.h"

namespace bnas::cli {

class SigintScope {
 public:
  SigintScope();
  ~SigintScope();
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;

 private:
  struct sigaction old_ {};
};

// Whether Ctrl-C was pressed since the current SigintScope began.
bool interrupted();
// Says once, at the next progress point after a Ctrl-C, that the run stops at the epoch's end.
void announce_interrupt(Progress& progress);

// Runs `loop` (nas::Search or nas::Trainer) epoch by epoch up to `epochs`. After a Ctrl-C it
// writes a checkpoint at the epoch's end, prints how to continue the `command` run in `dir` and
// returns false. Call it inside a SigintScope.
template <class Loop>
bool run_epochs(Loop& loop, int epochs, const std::string& checkpoint_dir, const std::string& command,
                const std::string& dir) {
  while (loop.epoch() < epochs) {
    loop.run(loop.epoch() + 1);
    if (interrupted() && loop.epoch() < epochs) {
      loop.save_checkpoint(checkpoint_dir);
      std::fprintf(stderr, "stopped: checkpoint written. Resume with:\n  bnas_engine %s --resume %s\n",
                   command.c_str(), dir.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace bnas::cli
