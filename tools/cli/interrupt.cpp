// The Ctrl-C handler (interrupt.h): it only counts, so that the loops stop at an epoch's end
// where a checkpoint is consistent; the second press restores the default action and re-raises.
#include "tools/cli/interrupt.h"

#include <atomic>

namespace bnas::cli {
namespace {

std::atomic<int> g_interrupts{0};

extern "C" void on_sigint(int) {
  if (g_interrupts.fetch_add(1) >= 1) {
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once
    std::raise(SIGINT);
  }
}

}  // namespace

SigintScope::SigintScope() {
  g_interrupts = 0;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_);
}

SigintScope::~SigintScope() { sigaction(SIGINT, &old_, nullptr); }

bool interrupted() { return g_interrupts > 0; }

void announce_interrupt(Progress& progress) {
  static bool announced = false;
  if (interrupted() && !announced) {
    announced = true;
    progress.line("Ctrl-C: finishing this epoch, then writing a checkpoint (Ctrl-C again to stop at once)");
  }
}

}  // namespace bnas::cli
