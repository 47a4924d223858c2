# Static archives of the engine's dependencies, for a wheel or a prebuilt
# addon that must load where none of them is installed. Debian's -dev packages
# ship them built as PIC. For each pkg-config prefix X this sets
# X_STATIC_LINK: the archive followed by what it needs from libc, or nothing
# when the archive is missing (HP_STATIC_DEPS then fails, see below).

# hp_static_archive(<pkg-config prefix> <system libs> <archive names...>)
function(hp_static_archive prefix system_libs)
  find_library(${prefix}_ARCHIVE NAMES ${ARGN} HINTS ${${prefix}_LIBRARY_DIRS})
  if(${prefix}_ARCHIVE)
    set(${prefix}_STATIC_LINK "${${prefix}_ARCHIVE};${system_libs}" PARENT_SCOPE)
  else()
    set(${prefix}_STATIC_LINK "" PARENT_SCOPE)
  endif()
endfunction()

# Debian names the libuv archive libuv_a.a; upstream's install names it libuv.a.
hp_static_archive(HP_UV "pthread;dl;rt" libuv_a.a libuv.a)
hp_static_archive(HP_HIREDIS "" libhiredis.a)
hp_static_archive(HP_MAXMINDDB "" libmaxminddb.a)
hp_static_archive(HP_SQLITE "m;dl;pthread" libsqlite3.a)
hp_static_archive(HP_ZLIB "" libz.a)
hp_static_archive(HP_DEFLATE "" libdeflate.a)

# Everything but libuv, in link order; empty if an archive is missing.
set(HP_STATIC_DEPS_LINK "")
set(HP_STATIC_DEPS_MISSING "")
foreach(prefix HP_HIREDIS HP_MAXMINDDB HP_SQLITE HP_ZLIB HP_DEFLATE)
  if(${prefix}_STATIC_LINK)
    list(APPEND HP_STATIC_DEPS_LINK ${${prefix}_STATIC_LINK})
  else()
    list(APPEND HP_STATIC_DEPS_MISSING ${prefix})
  endif()
endforeach()
if(HP_STATIC_DEPS_MISSING)
  set(HP_STATIC_DEPS_LINK "")
endif()

# HP_STATIC_DEPS=ON: the pkg-config targets themselves point at the archives.
if(HP_STATIC_DEPS)
  if(NOT HP_UV_STATIC_LINK)
    list(APPEND HP_STATIC_DEPS_MISSING HP_UV)
  endif()
  if(HP_STATIC_DEPS_MISSING)
    message(FATAL_ERROR "HP_STATIC_DEPS: no static archive for ${HP_STATIC_DEPS_MISSING}; install the "
                        "-dev packages that ship them or configure with -DHP_STATIC_DEPS=OFF")
  endif()
  foreach(prefix HP_UV HP_HIREDIS HP_MAXMINDDB HP_SQLITE HP_ZLIB HP_DEFLATE)
    set_target_properties(PkgConfig::${prefix} PROPERTIES
      INTERFACE_LINK_LIBRARIES "${${prefix}_STATIC_LINK}" INTERFACE_LINK_DIRECTORIES "")
    message(STATUS "HP_STATIC_DEPS: ${${prefix}_STATIC_LINK}")
  endforeach()
endif()
