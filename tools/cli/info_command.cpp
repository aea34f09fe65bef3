// `bnas_engine info`: the build (version, type, compiler, CUDA/NCCL/OpenMP) and the devices
// (CUDA runtime, driver, cuDNN, NCCL versions and every GPU, or why no GPU is usable) as plain
// lines on stdout.
#include <omp.h>

#include <cstdio>

#if BNAS_WITH_CUDA
#include <cuda_runtime.h>
#include <cudnn.h>
#if BNAS_WITH_NCCL
#include <nccl.h>
#endif
#endif

#include "engine/device.h"
#include "tools/cli/build_info.h"
#include "tools/cli/commands.h"
#include "tools/cli_app.h"

namespace bnas::cli {
namespace {

int run_info() {
  std::printf("bnas_engine %s (%s build, %s)\n", BNAS_VERSION, BNAS_BUILD_TYPE, BNAS_CXX_COMPILER);
  std::printf("build options: CUDA %s, NCCL %s, OpenMP %d, BLAS OpenBLAS\n", built_with_cuda() ? "on" : "off",
              BNAS_WITH_NCCL ? "on" : "off", _OPENMP);
  std::printf("cpu: %d threads\n", omp_get_max_threads());
#if BNAS_WITH_CUDA
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;  // 0 also means: no driver installed
  cudaGetLastError();
  std::printf("CUDA runtime %s, driver %s\n", detail::cuda_version_string(runtime).c_str(),
              driver > 0 ? detail::cuda_version_string(driver).c_str() : "none (no NVIDIA driver)");
  const size_t cudnn = cudnnGetVersion();
  std::printf("cuDNN %zu.%zu.%zu\n", cudnn / 10000, (cudnn % 10000) / 100, cudnn % 100);
#if BNAS_WITH_NCCL
  int nccl = 0;
  if (ncclGetVersion(&nccl) == ncclSuccess)
    std::printf("NCCL %d.%d.%d\n", nccl / 10000, (nccl % 10000) / 100, nccl % 100);
  else
    std::printf("NCCL: version unknown\n");
#endif
#endif
  const int count = cuda_device_count();
  // Why no GPU is usable (no driver, an old driver, no device, a CPU-only build), in one line.
  if (count == 0) std::printf("GPUs: none usable: %s (running on the CPU)\n", cuda_unavailable_reason().c_str());
#if BNAS_WITH_CUDA
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    const cudaError_t err = cudaGetDeviceProperties(&p, i);
    if (err != cudaSuccess) {
      cudaGetLastError();
      std::printf("cuda:%d  properties unavailable: %s\n", i, cudaGetErrorString(err));
      continue;
    }
    std::printf("cuda:%d  %s, %.1f GiB, compute capability %d.%d, %d SMs\n", i, p.name,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), p.major, p.minor,
                p.multiProcessorCount);
  }
#endif
  return kOk;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  return {app.add_subcommand("info", "devices, CUDA/cuDNN/NCCL versions and build options"), run_info};
}

}  // namespace bnas::cli
