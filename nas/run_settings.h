// The settings a search (nas/search.h) and a training (nas/train.h) share, once: network sizes,
// the epoch schedule, the weights' SGD with gradient clipping and cosine learning rate, the seed,
// logging and checkpoints. SearchConfig and TrainConfig derive from RunSettings and start their
// tables with run_setting_rows(); their constructors set the defaults where they differ.
#pragma once
#include <cstdint>
#include <string>

#include "nas/settings.h"

namespace bnas::nas {

struct RunSettings {
  // Network (used by whoever builds it).
  int channels = 16;  // initial node width C
  int layers = 2;     // convolution cells (even)
  int en_layers = 1;  // enhancement cells
  // Epochs and the weights' SGD: cosine learning rate from lr to lr_min after an optional linear
  // warm-up, momentum, weight decay added to the gradient, gradient-norm clipping.
  int epochs = 50;
  int batch = 256;
  double lr = 0.025, lr_min = 0.001;
  int warmup_epochs = 0;
  double momentum = 0.9, weight_decay = 3e-4;
  double grad_clip = 5;  // 0: off
  uint64_t seed = 2;
  // cuDNN: only deterministic convolution algorithms (process-wide; set by the run's
  // constructor), so that two GPU runs are bit-identical at some cost in speed.
  bool deterministic = false;
  // Bookkeeping.
  int log_interval = 50;       // steps between progress callbacks (0: epoch ends only)
  int checkpoint_every = 1;    // epochs (0: never)
  std::string checkpoint_dir;  // empty: no checkpoints
};

// The rows of RunSettings (settings.h) for a config C deriving from it.
template <class C>
SettingTable<C> run_setting_rows() {
  return {
      setting<C>("channels", [](auto& c) -> auto& { return c.channels; }, "initial node width C", at_least(1)),
      setting<C>("layers", [](auto& c) -> auto& { return c.layers; }, "convolution cells (even)", at_least(2)),
      setting<C>("en_layers", [](auto& c) -> auto& { return c.en_layers; }, "enhancement cells", at_least(1)),
      setting<C>("epochs", [](auto& c) -> auto& { return c.epochs; }, "epochs", at_least(1)),
      setting<C>("batch", [](auto& c) -> auto& { return c.batch; }, "batch size", at_least(1)),
      setting<C>("lr", [](auto& c) -> auto& { return c.lr; }, "weight learning rate (cosine schedule start)",
                 above(0)),
      setting<C>("lr_min", [](auto& c) -> auto& { return c.lr_min; }, "final weight learning rate (<= lr)",
                 at_least(0)),
      setting<C>("warmup_epochs", [](auto& c) -> auto& { return c.warmup_epochs; },
                 "linear warm-up epochs of the weight learning rate (< epochs)", at_least(0)),
      setting<C>("momentum", [](auto& c) -> auto& { return c.momentum; }, "SGD momentum", in_closed_open(0, 1)),
      setting<C>("weight_decay", [](auto& c) -> auto& { return c.weight_decay; }, "weight decay (L2)",
                 at_least(0)),
      setting<C>("grad_clip", [](auto& c) -> auto& { return c.grad_clip; },
                 "weight gradient-norm clipping (0: off)", at_least(0)),
      setting<C>("seed", [](auto& c) -> auto& { return c.seed; }, "random seed (weights, data order, augmentation)"),
      setting<C>("deterministic", [](auto& c) -> auto& { return c.deterministic; },
                 "cuDNN: deterministic convolution algorithms only (bit-identical GPU runs)")
          .may_change_on_resume(),
      setting<C>("log_interval", [](auto& c) -> auto& { return c.log_interval; },
                 "steps between progress lines (0: epoch ends only)", at_least(0))
          .may_change_on_resume(),
      setting<C>("checkpoint_every", [](auto& c) -> auto& { return c.checkpoint_every; },
                 "epochs between checkpoints (0: never)", at_least(0))
          .may_change_on_resume(),
      setting<C>("checkpoint_dir", [](auto& c) -> auto& { return c.checkpoint_dir; },
                 "checkpoint folder (empty: none; the command line uses <run directory>/checkpoints)")
          .may_change_on_resume(),
  };
}

// What no single row can say: lr_min <= lr, warm-up shorter than the run, an even number of
// convolution cells. Throws a sentence naming the setting.
void check_run_settings(const RunSettings& s);

}  // namespace bnas::nas
