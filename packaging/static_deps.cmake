# Static archives of the engine's dependencies, for a wheel or a prebuilt
# addon that must load where none of them is installed. Debian's -dev packages
# ship them built as PIC, except libuv's (libuv_a.a: core.c.o refers to
# `environ` with R_X86_64_PC32, which a shared object cannot hold). So a
# wheel links a PIC build of libuv.a (HP_UV_STATIC_ARCHIVE, below), and
# without one links the shared libuv, which auditwheel would bundle; the Node
# addon links no libuv at all. For each pkg-config
# prefix X this sets X_STATIC_LINK: the archive followed by what it needs from
# libc, or nothing when the archive is missing (HP_STATIC_DEPS then fails).

# hp_static_archive(<pkg-config prefix> <system libs> <archive names...>)
function(hp_static_archive prefix system_libs)
  find_library(${prefix}_ARCHIVE NAMES ${ARGN} HINTS ${${prefix}_LIBRARY_DIRS})
  if(${prefix}_ARCHIVE)
    set(${prefix}_STATIC_LINK ${${prefix}_ARCHIVE} ${system_libs} PARENT_SCOPE)
  else()
    set(${prefix}_STATIC_LINK "" PARENT_SCOPE)
  endif()
endfunction()

set(HP_UV_STATIC_ARCHIVE "" CACHE FILEPATH "A libuv.a built with -fPIC, linked when HP_STATIC_DEPS=ON")
# packaging/build-libuv-pic.sh builds one (HOTPATH_UV_PIC_ARCHIVE names it,
# else build/libuv-pic/libuv.a), which packaging/dist.sh links into the wheel.
if(NOT HP_UV_STATIC_ARCHIVE)
  set(_hp_uv_pic "$ENV{HOTPATH_UV_PIC_ARCHIVE}")
  if(NOT _hp_uv_pic)
    set(_hp_uv_pic ${PROJECT_SOURCE_DIR}/build/libuv-pic/libuv.a)
  endif()
  if(EXISTS ${_hp_uv_pic})
    set(HP_UV_STATIC_ARCHIVE ${_hp_uv_pic})
  endif()
endif()
hp_static_archive(HP_HIREDIS "" libhiredis.a)
hp_static_archive(HP_MAXMINDDB "" libmaxminddb.a)
hp_static_archive(HP_SQLITE "m;dl;pthread" libsqlite3.a)
hp_static_archive(HP_ZLIB "" libz.a)
hp_static_archive(HP_DEFLATE "" libdeflate.a)
# RE2: Debian's libre2.a is PIE (local-exec TLS), which a shared object cannot
# hold; packaging/build-re2-pic.sh builds a PIC archive from Debian's source
# (HOTPATH_RE2_PIC_ARCHIVE names it, else build/re2-pic/libre2.a).
set(_hp_re2_pic "$ENV{HOTPATH_RE2_PIC_ARCHIVE}")
if(NOT _hp_re2_pic)
  set(_hp_re2_pic ${PROJECT_SOURCE_DIR}/build/re2-pic/libre2.a)
endif()
if(EXISTS ${_hp_re2_pic})
  set(HP_RE2_STATIC_LINK ${_hp_re2_pic} pthread)
else()
  set(HP_RE2_STATIC_LINK "")
endif()
hp_static_archive(HP_CRYPTO "dl;pthread" libcrypto.a)

# What the prebuilt Node addon links, in link order (not libuv or libcrypto,
# which node provides); empty if an archive is missing.
set(HP_STATIC_DEPS_LINK "")
set(HP_STATIC_DEPS_MISSING "")
foreach(prefix HP_HIREDIS HP_MAXMINDDB HP_SQLITE HP_ZLIB HP_DEFLATE HP_RE2)
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
  if(HP_STATIC_DEPS_MISSING)
    message(FATAL_ERROR "HP_STATIC_DEPS: no static archive for ${HP_STATIC_DEPS_MISSING}; install the "
                        "-dev packages that ship them (for HP_RE2 run packaging/build-re2-pic.sh) or "
                        "configure with -DHP_STATIC_DEPS=OFF")
  endif()
  set(_hp_static "")
  if(HP_UV_STATIC_ARCHIVE)
    set(HP_UV_STATIC_LINK ${HP_UV_STATIC_ARCHIVE} pthread dl rt)
    list(APPEND _hp_static HP_UV)
  endif()
  foreach(prefix ${_hp_static} HP_HIREDIS HP_MAXMINDDB HP_SQLITE HP_ZLIB HP_DEFLATE HP_RE2 HP_CRYPTO)
    set_target_properties(PkgConfig::${prefix} PROPERTIES
      INTERFACE_LINK_LIBRARIES "${${prefix}_STATIC_LINK}" INTERFACE_LINK_DIRECTORIES "")
    message(STATUS "HP_STATIC_DEPS: ${${prefix}_STATIC_LINK}")
  endforeach()
endif()
