// The cross-row rules of the shared run settings (run_settings.h).
#include "nas/run_settings.h"

#include "engine/check.h"

namespace bnas::nas {

void check_run_settings(const RunSettings& s) {
  BNAS_CHECK(s.layers % 2 == 0, "layers must be even (the broad network alternates two cell kinds), got ",
             s.layers);
  BNAS_CHECK(s.lr_min <= s.lr, "lr_min (", s.lr_min, ") must not exceed lr (", s.lr, ")");
  BNAS_CHECK(s.warmup_epochs < s.epochs, "warmup_epochs (", s.warmup_epochs, ") must be shorter than the run (",
             s.epochs, " epochs)");
}

}  // namespace bnas::nas
