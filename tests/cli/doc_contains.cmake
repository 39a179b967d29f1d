# Checks that a documentation page still says what the code prints: runs a command and fails
# unless its whole output appears verbatim in the page. On failure it prints the expected block,
# ready to paste.
#   -DCMD="prog|arg|..."   command to run, arguments separated by '|'
#   -DDOC=path             the page
string(REPLACE "|" ";" CMD "${CMD}")
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "command failed (exit ${rc}): ${err}")
endif()
file(READ "${DOC}" doc)
string(FIND "${doc}" "${out}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOC} does not contain this output of the command; update the page with:\n${out}")
endif()
