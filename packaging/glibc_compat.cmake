# hp_glibc_compat(<target>): a shared object that loads on glibc 2.28
# (manylinux_2_28) although this system's glibc is newer; see
# packaging/glibc_compat/glibc_compat.c. Wraps every symbol that file names
# in an HP_COMPAT_JUMP or HP_COMPAT_WRAP line.
set(_hp_glibc_compat_source ${CMAKE_CURRENT_LIST_DIR}/glibc_compat/glibc_compat.c)
file(STRINGS ${_hp_glibc_compat_source} _hp_glibc_compat_lines REGEX "^HP_COMPAT_(JUMP|WRAP)\\(")
set(HP_GLIBC_COMPAT_SYMBOLS "")
foreach(line ${_hp_glibc_compat_lines})
  string(REGEX REPLACE "^HP_COMPAT_(JUMP|WRAP)\\(([A-Za-z0-9_]+).*" "\\2" sym "${line}")
  list(APPEND HP_GLIBC_COMPAT_SYMBOLS ${sym})
endforeach()

function(hp_glibc_compat target)
  if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux" OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    return()
  endif()
  target_sources(${target} PRIVATE ${_hp_glibc_compat_source})
  foreach(sym ${HP_GLIBC_COMPAT_SYMBOLS})
    target_link_options(${target} PRIVATE "LINKER:--wrap=${sym}")
  endforeach()
endfunction()
