# Fails when DOC differs from what `CONCNAS config-reference` prints.
execute_process(COMMAND ${CONCNAS} config-reference OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "concnas config-reference failed (${rc})")
endif()
file(READ ${DOC} current)
if(NOT generated STREQUAL current)
  message(FATAL_ERROR "${DOC} is out of date: regenerate it with\n  build/bin/concnas config-reference > docs/configuration.md")
endif()
