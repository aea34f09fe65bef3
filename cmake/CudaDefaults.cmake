# CUDA defaults that must be set before enable_language(CUDA).
# Architectures: 80;90 unless the user passes -DCMAKE_CUDA_ARCHITECTURES or sets $CUDAARCHS
# (CI builds one architecture to save compile time). "native" would fail on GPU-less machines.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
  set(CMAKE_CUDA_ARCHITECTURES 80 90 CACHE STRING "CUDA architectures")
endif()
# One CUDA runtime for every target (static and shared runtimes must not be mixed in tests).
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
