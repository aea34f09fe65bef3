# bnas_emu_test_kernels(VAR FILE TEST_SOURCE [NAME=VALUE ...]) (BNAS_CUDA_EMULATOR builds only):
# converts kernels/cuda/FILE.cu at build time with emulator/convert.py --test (namespace
# bnas::kernels::cuda_emu_FILE; NAME=VALUE shrinks a constexpr constant) into
# ${CMAKE_CURRENT_BINARY_DIR}/FILE_emu_test.inc, whose path goes into VAR: list it among the
# test's SOURCES and #include it first in TEST_SOURCE. TEST_SOURCE is compiled with
# BNAS_EMU_KERNEL_FLAGS, so the kernels round as on a GPU (nvcc contracts a * x + b into an FMA);
# the kernels/cpu reference it compares with is compiled without them, as in the engine.
function(bnas_emu_test_kernels var file test_source)
  set(inc ${CMAKE_CURRENT_BINARY_DIR}/${file}_emu_test.inc)
  file(GLOB headers ${PROJECT_SOURCE_DIR}/kernels/cuda/*.cuh)
  add_custom_command(OUTPUT ${inc}
    COMMAND ${BNAS_EMU_PYTHON} ${BNAS_EMU_CONVERT} ${PROJECT_SOURCE_DIR}/kernels/cuda/${file}.cu ${inc} --test ${ARGN}
    DEPENDS ${BNAS_EMU_CONVERT} ${PROJECT_SOURCE_DIR}/kernels/cuda/${file}.cu ${headers}
    COMMENT "Converting kernels/cuda/${file}.cu for an emulator test" VERBATIM)
  set_source_files_properties(${test_source} PROPERTIES COMPILE_OPTIONS "${BNAS_EMU_KERNEL_FLAGS}")
  set(${var} ${inc} PARENT_SCOPE)
endfunction()
