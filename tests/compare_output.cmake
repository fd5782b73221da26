# compare_output.cmake: run PROG and compare its standard output with the
# file EXPECTED, byte for byte. Used for the seed examples.
# EMU: the cross-compiling emulator (qemu), empty for native builds.
execute_process(COMMAND ${EMU} ${PROG} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
file(READ ${EXPECTED} want)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} exited with ${rc}")
endif()
if(NOT out STREQUAL want)
  message(FATAL_ERROR "output differs\n--- got:\n${out}--- expected:\n${want}")
endif()
