# Project-wide warnings, as an interface target the layers link.
add_library(bnas_warnings INTERFACE)
target_compile_options(bnas_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>)
