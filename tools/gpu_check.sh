#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, configure for that GPU, build, run the gpu-labelled
# tests, the end-to-end command-line runs and the benchmarks, and print a short table. Writes
# everything under ${OUT:-gpu_check_out}. Fails (non-zero) when a gpu test failed, when no gpu
# test ran, or when any was skipped (a machine whose GPU the engine cannot use, e.g. a driver
# older than the CUDA runtime: `bnas_engine info` says why).
#   tools/gpu_check.sh            (from the repository root; its run time on a GPU is not measured yet)
# A device machine without Debian's dataset-fashion-mnist gets it carried in: before the call,
#   mkdir -p .gpu_data && cp -r /usr/share/datasets/fashion-mnist .gpu_data/   (about 30 MB)
# and carry ".gpu_data".
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_check_out}
mkdir -p "$out"

# cuDNN and NCCL may exist only inside PyTorch's Python wheels (nvidia.cudnn, nvidia.nccl).
py_pkg_root() { python3 -c "import importlib, os; m = importlib.import_module('$1'); print(os.path.dirname(m.__file__) if m.__file__ else list(m.__path__)[0])" 2>/dev/null; }
if [ -z "${CUDNN_ROOT:-}" ] && [ ! -e /usr/local/cuda/include/cudnn.h ]; then CUDNN_ROOT=$(py_pkg_root nvidia.cudnn); fi
if [ -z "${NCCL_ROOT:-}" ] && [ ! -e /usr/local/cuda/include/nccl.h ]; then NCCL_ROOT=$(py_pkg_root nvidia.nccl); fi
export CUDNN_ROOT=${CUDNN_ROOT:-} NCCL_ROOT=${NCCL_ROOT:-}
for r in "$CUDNN_ROOT" "$NCCL_ROOT"; do
  [ -n "$r" ] && export LD_LIBRARY_PATH="$r/lib:${LD_LIBRARY_PATH:-}"
  # Wheels ship libcudnn.so.9 / libnccl.so.2 only: give the linker the unversioned names.
  if [ -n "$r" ] && [ -d "$r/lib" ]; then
    for l in "$r"/lib/libcudnn.so.* "$r"/lib/libnccl.so.*; do
      [ -e "$l" ] || continue
      base=$(basename "$l" | sed -E 's/\.so\..*/.so/')
      [ -e "$r/lib/$base" ] || ln -sf "$(basename "$l")" "$r/lib/$base" 2>/dev/null || true
    done
  fi
done

arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
arch=${arch:-90}
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
echo "GPU: ${gpu:-unknown} (sm_$arch); CUDNN_ROOT=${CUDNN_ROOT:-system} NCCL_ROOT=${NCCL_ROOT:-system}"

t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DCUDNN_ROOT="$CUDNN_ROOT" -DNCCL_ROOT="$NCCL_ROOT" > "$out/configure.log" 2>&1 \
  && cmake --build build-gpu -j "$(nproc)" > "$out/build.log" 2>&1
build_rc=$?
t1=$(date +%s)
[ $build_rc -eq 0 ] || { echo "build failed (see $out/build.log)"; tail -30 "$out/build.log"; exit 1; }

# Why the engine would not use the GPU, if it would not (no driver, an old driver, no device).
build-gpu/tools/bnas_engine info > "$out/info.txt" 2>&1
grep -E '^(CUDA runtime|GPUs:|cuda:)' "$out/info.txt"

# The gpu tests skip themselves without a usable GPU, and ctest counts a skip as a pass: read
# the JUnit report and fail unless at least one gpu test ran and none was skipped.
junit=$(cd "$out" && pwd)/gpu_tests.xml
rm -f "$junit"
ctest --test-dir build-gpu -L gpu --no-tests=error --output-on-failure --output-junit "$junit" > "$out/gpu_tests.log" 2>&1
tests_rc=$?
t2=$(date +%s)
gpu_ran=0; gpu_skipped=0; skipped_names=""
[ -f "$junit" ] && read -r gpu_ran gpu_skipped skipped_names < <(tools/junit_counts.sh "$junit")
gpu_ok=1
if [ "$gpu_ran" -eq 0 ]; then
  # Nothing ran on the GPU: the end-to-end runs and benchmarks would time the CPU. Stop here.
  echo "GPU CHECK FAILED: no gpu test ran ($gpu_skipped skipped; see $out/gpu_tests.log and $out/info.txt)"
  exit 1
elif [ "$gpu_skipped" -gt 0 ]; then
  gpu_ok=0
  echo "GPU CHECK FAILED: $gpu_skipped gpu test(s) were skipped, $gpu_ran ran (skipped: ${skipped_names}...; see $out/gpu_tests.log)"
fi

# The end-to-end command-line runs (Fashion-MNIST, and the CIFAR-10 path on it) take the GPU
# (--device auto). They need Fashion-MNIST: $BNAS_E2E_DATA, or a copy carried in as
# .gpu_data/fashion-mnist (an ignored folder), or Debian's dataset-fashion-mnist.
fm=${BNAS_E2E_DATA:-}
for d in .gpu_data/fashion-mnist /usr/share/datasets/fashion-mnist; do
  [ -z "$fm" ] && [ -e "$d/train-images-idx3-ubyte.gz" ] && fm=$(cd "$d" && pwd)
done
e2e="skipped (no Fashion-MNIST)"
if [ -n "$fm" ]; then
  BNAS_E2E_DATA=$fm ctest --test-dir build-gpu -R EndToEnd -V > "$out/e2e.log" 2>&1
  e2e="rc=$?, $(grep -hoE '(end-to-end: search|CIFAR-10 path)[^%]*%' "$out/e2e.log" | tr '\n' ' ')"
fi
t3=$(date +%s)

for b in build-gpu/tools/bnas_bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  if [ "$name" = bnas_bench_ops ]; then
    "$b" --device cuda --batch 64 > "$out/$name.txt" 2>&1
  else
    "$b" > "$out/$name.txt" 2>&1
  fi
done

# The same search step in the PyTorch reimplementation (tests/reference), on the same card, so
# that bnas_bench_search's figures come with a ratio measured in one run.
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  (cd tests/reference && python3 bench_search_torch.py --device cuda) > "$out/torch_search_step.txt" 2>&1
fi

echo
echo "| step | result |"
echo "|---|---|"
echo "| build (sm_$arch) | rc=$build_rc, $((t1 - t0)) s |"
echo "| gpu tests | rc=$tests_rc, $gpu_ran ran, $gpu_skipped skipped, $(grep -E 'tests passed|tests failed' "$out/gpu_tests.log" | tail -1), $((t2 - t1)) s |"
echo "| end-to-end CLI | $e2e, $((t3 - t2)) s |"
algos=$(cat "$out"/bnas_bench_*.txt 2>/dev/null | grep -c '^conv_algorithm ')
fallbacks=$(cat "$out"/bnas_bench_*.txt 2>/dev/null | grep '^conv_algorithm ' | grep -c 'fallback:')
echo "| cuDNN algorithms (benchmarks) | $algos chosen, $fallbacks fallbacks (lines conv_algorithm in $out/bnas_bench_*.txt) |"
echo
echo "| op | case | fwd ms | fwd+bwd ms | rate |"
echo "|---|---|---|---|---|"
grep -h '^op=' "$out/bnas_bench_ops.txt" 2>/dev/null | sed -E 's/op=([^ ]*) case=([^ ]*) device=[^ ]* shape=[^ ]* fwd_ms=([^ ]*) fwd_bwd_ms=([^ ]*) (.*)/| \1 | \2 | \3 | \4 | \5 |/'
for f in "$out"/bnas_bench_*.txt "$out"/torch_search_step.txt; do
  [ -e "$f" ] || continue
  [ "$(basename "$f")" = bnas_bench_ops.txt ] && continue
  echo; echo "$(basename "$f" .txt):"; grep -v '^$' "$f" | grep -v "^conv_algorithm " | head -40
done
[ $gpu_ok -eq 1 ] || echo "GPU CHECK FAILED: no gpu test ran, or some were skipped (see above)"
[ $tests_rc -eq 0 ] && [ $gpu_ok -eq 1 ]
