# bnas_cuda_emu_source(VAR FILE [NAME=VALUE ...]): converts kernels/cuda/FILE.cu at build time
# (cuda_emu.py, overrides as its NAME=VALUE arguments) into ${CMAKE_CURRENT_BINARY_DIR}/FILE_emu.inc,
# whose path goes into VAR: list it among a test's SOURCES and include it after cuda_emu.h.
find_package(Python3 COMPONENTS Interpreter QUIET)
find_package(Threads REQUIRED)
set(BNAS_CUDA_EMU_DIR ${CMAKE_CURRENT_LIST_DIR})
function(bnas_cuda_emu_source var file)
  set(inc ${CMAKE_CURRENT_BINARY_DIR}/${file}_emu.inc)
  file(GLOB headers ${PROJECT_SOURCE_DIR}/kernels/cuda/*.cuh)
  add_custom_command(OUTPUT ${inc}
    COMMAND Python3::Interpreter ${BNAS_CUDA_EMU_DIR}/cuda_emu.py ${PROJECT_SOURCE_DIR}/kernels/cuda/${file}.cu
            ${inc} ${ARGN}
    DEPENDS ${BNAS_CUDA_EMU_DIR}/cuda_emu.py ${PROJECT_SOURCE_DIR}/kernels/cuda/${file}.cu ${headers}
    COMMENT "Converting kernels/cuda/${file}.cu for the host emulator" VERBATIM)
  set(${var} ${inc} PARENT_SCOPE)
endfunction()
