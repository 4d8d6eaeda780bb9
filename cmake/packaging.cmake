# Debian packages with CPack's DEB generator, one per install component (see the install rules
# in CMakeLists.txt).  scripts/package configures a build for /usr and runs `cpack -G DEB`:
#   libevbus0     (component lib): libevbus.so.0, with a shlibs file for dpkg-shlibdeps
#   libevbus-dev  (component dev): headers, libevbus.a, the .so link, pkg-config, CMake package,
#                                  example sources
#   evbus-cli     (component cli): the program, its man page, /usr/share/evbus/schemas
# As librdkafka's: the runtime package carries only the library, the tools go on their own.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME evbus)
set(CPACK_PACKAGE_VENDOR evbus)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "evbus maintainers <maintainers@users.noreply.h-seed-f5d5ebda.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kafka event bus toolkit, wire-compatible with the Open edX event bus")
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # <package>_<version>-<release>_<arch>.deb
set(EVBUS_DEB_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${EVBUS_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Dependencies on the system's libraries come from dpkg-shlibdeps; libevbus-dev's on libevbus0
# from the component dependency (exact version: its headers and .so link are that library's).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# evbus-cli links libevbus.so.0, which is in no installed package yet: dpkg-shlibdeps finds it
# in the build tree and, knowing no package for it, leaves it to the Depends set below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_CURRENT_BINARY_DIR})
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libevbus${PROJECT_VERSION_MAJOR}) # follows the SONAME
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# DEBIAN/shlibs: "libevbus 0 libevbus0 (>= <version>)".  A release with the same major number
# only adds to the ABI, so a program built against this version runs on any later 0.x.
# (CPack takes these two globally: only a package holding a shared library gets a shlibs file.)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# ld.so.cache is refreshed through dpkg's ldconfig trigger (Debian policy 8.1.1).
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_LIB_DESCRIPTION
  "Kafka event bus library: producer and consumer\n\
libevbus publishes events by type to their configured Kafka topics and\n\
consumes them into handlers and plugins, with retries and a dead-letter\n\
topic.  It speaks the Open edX event bus wire format (Avro, single-object\n\
or Confluent framing, CloudEvents headers).")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libevbus-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
# A static link (libevbus.a, evbus.pc's Requires.private) needs the libraries' own -dev packages.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "librdkafka-dev, libavro-dev, libjansson-dev, libcurl4-openssl-dev | libcurl-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "Kafka event bus library: development files\n\
Headers, the static library, pkg-config files (evbus, evbus-producer,\n\
evbus-consumer), the CMake package (find_package(evbus)) and example\n\
sources for libevbus.")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME evbus-cli)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION net)
# evbus-cli uses the public API only, so any libevbus0 from this version on will do (what the
# shlibs file says for outside programs).
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "libevbus${PROJECT_VERSION_MAJOR} (>= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "Kafka event bus command line: publish, tail, consume, validate\n\
evbus-cli publishes events, tails topics, runs consumer daemons with\n\
plugins, validates producer configurations and checks schemas; it also\n\
has an embedded development broker.  The Open edX event schemas are\n\
installed under /usr/share/evbus/schemas.")

# Every package carries /usr/share/doc/<package>/copyright and changelog.Debian.gz (Debian
# policy 12.5 and 12.7).  EXCLUDE_FROM_ALL: only a component install (cpack) puts them there,
# not a plain `cmake --install`.
set(_evbus_deb_doc ${CMAKE_CURRENT_BINARY_DIR}/debian)
file(MAKE_DIRECTORY ${_evbus_deb_doc})
string(TIMESTAMP _evbus_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${_evbus_deb_doc}/changelog.Debian
"evbus (${PROJECT_VERSION}-${EVBUS_DEB_RELEASE}) unstable; urgency=medium

  * evbus ${PROJECT_VERSION}, packaged with CPack (scripts/package).

 -- ${CPACK_PACKAGE_CONTACT}  ${_evbus_deb_date}
")
find_program(EVBUS_GZIP gzip)
if(EVBUS_GZIP)
  execute_process(COMMAND ${EVBUS_GZIP} -9nf ${_evbus_deb_doc}/changelog.Debian RESULT_VARIABLE _rc)
  if(_rc EQUAL 0)
    foreach(c lib dev cli)
      string(TOUPPER ${c} _C)
      install(FILES ${_evbus_deb_doc}/changelog.Debian.gz ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${CPACK_DEBIAN_${_C}_PACKAGE_NAME}
        COMPONENT ${c} EXCLUDE_FROM_ALL)
    endforeach()
  endif()
endif()
include(CPack)
