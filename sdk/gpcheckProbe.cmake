# sdk/gpcheckProbe.cmake - how a probe plugin is built, written once: the
# top CMakeLists.txt includes it for the shipped probes, the installed
# gpcheckConfig.cmake for every outside author.
#
#   gpcheck_add_probe(NAME SOURCES src... [LIBS lib...] [DEFINES def...]
#                     [OUTPUT_DIR dir] [ALLOW_UNDEFINED])
#
# builds the module NAME.so (no "lib" prefix) linked against gpcheck::plugin,
# with hidden visibility and the export map GPCHECK_EXPORT_MAP, so that it
# exports gpcheck_plugin and nothing else. Every symbol must resolve at link
# time (-Wl,--no-undefined) unless ALLOW_UNDEFINED (sanitizer builds, whose
# runtime comes from the executable).
function(gpcheck_add_probe name)
  cmake_parse_arguments(P "ALLOW_UNDEFINED" "OUTPUT_DIR"
                        "SOURCES;LIBS;DEFINES" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "gpcheck_add_probe(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  target_compile_definitions(${name} PRIVATE ${P_DEFINES})
  target_link_libraries(${name} PRIVATE gpcheck::plugin ${P_LIBS})
  if(NOT P_ALLOW_UNDEFINED)
    target_link_options(${name} PRIVATE "-Wl,--no-undefined")
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX "" C_VISIBILITY_PRESET hidden
    LINK_DEPENDS "${GPCHECK_EXPORT_MAP}")
  if(P_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIR}")
  endif()
endfunction()
