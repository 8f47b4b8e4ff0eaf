# Debian and RPM packages with CPack, from the same install rules as
# "cmake --install" (scripts/package.sh drives it):
#   component "runtime" -> cupi-snmp      (agent, cupi_smtp.so, cupictl, MIB,
#                                          unit, docs, configuration, snmpd.conf.d)
#   component "sim"     -> cupi-sim       (the CUPI simulator: a lab and test
#                                          tool, with libmicrohttpd and GnuTLS)
#   component "dev"     -> libcupi-dev / cupi-snmp-devel (header, static
#                                          library, pkg-config file)
# The shared libcupi (component "lib") is left out: nothing packaged links it.

set(CUPI_PACKAGE_MAINTAINER "cupi-snmp maintainers <cupi-snmp@example.org>" CACHE STRING
  "Maintainer field of the packages")
set(CUPI_PACKAGE_RELEASE 1 CACHE STRING "Debian revision / RPM release of the packages")
option(CUPI_PACKAGE_DEBIAN_FILES "Put Debian's changelog and lintian overrides in the packages" ON)

set(_cupi_pkg ${PROJECT_SOURCE_DIR}/packaging)
set(_cupi_pkg_out ${PROJECT_BINARY_DIR}/packaging)

# The newest changelog entry must be this very version: a version bump without
# a changelog entry would give a package whose changelog lies.
file(STRINGS ${_cupi_pkg}/changelog _cupi_top LIMIT_COUNT 1)
if(NOT _cupi_top MATCHES "^cupi-snmp \\(${PROJECT_VERSION}-${CUPI_PACKAGE_RELEASE}\\) ")
  message(FATAL_ERROR "packaging/changelog: the newest entry must be for "
    "${PROJECT_VERSION}-${CUPI_PACKAGE_RELEASE}, not: ${_cupi_top}")
endif()

# Debian wants copyright and changelog.Debian.gz in every package's doc
# directory. A plain "cmake --install" gets only cupi-snmp's copyright; the
# rest is installed only when a package asks for its component.
install(FILES ${_cupi_pkg}/copyright DESTINATION ${CUPI_DOCDIR} COMPONENT runtime)
if(CUPI_PACKAGE_DEBIAN_FILES)
  install(FILES ${_cupi_pkg_out}/changelog.Debian.gz
    DESTINATION ${CUPI_DOCDIR} COMPONENT runtime EXCLUDE_FROM_ALL)
  install(FILES ${_cupi_pkg}/copyright ${_cupi_pkg_out}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/libcupi-dev COMPONENT dev EXCLUDE_FROM_ALL)
  install(FILES ${_cupi_pkg}/copyright ${_cupi_pkg_out}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/cupi-sim COMPONENT sim EXCLUDE_FROM_ALL)
  # lintian's overrides, each with the reason beside it.
  install(FILES ${_cupi_pkg}/lintian/cupi-snmp
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT runtime EXCLUDE_FROM_ALL)
  install(FILES ${_cupi_pkg}/lintian/libcupi-dev
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT dev EXCLUDE_FROM_ALL)
  install(FILES ${_cupi_pkg}/lintian/cupi-sim
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT sim EXCLUDE_FROM_ALL)
endif()
file(MAKE_DIRECTORY ${_cupi_pkg_out})
add_custom_command(OUTPUT ${_cupi_pkg_out}/changelog.Debian.gz
  COMMAND sh -c "gzip -9nc '${_cupi_pkg}/changelog' > changelog.Debian.gz"
  DEPENDS ${_cupi_pkg}/changelog
  WORKING_DIRECTORY ${_cupi_pkg_out}
  VERBATIM)
add_custom_target(cupi_package_changelog ALL DEPENDS ${_cupi_pkg_out}/changelog.Debian.gz)

foreach(script postinst postrm conffiles)
  configure_file(${_cupi_pkg}/deb/${script}.in ${_cupi_pkg_out}/deb/${script} @ONLY)
endforeach()
configure_file(${_cupi_pkg}/deb/prerm ${_cupi_pkg_out}/deb/prerm COPYONLY)
configure_file(${_cupi_pkg}/rpm/post.in ${_cupi_pkg_out}/rpm/post @ONLY)

set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(CPACK_PACKAGE_NAME cupi-snmp)
set(CPACK_PACKAGE_VENDOR "cupi-snmp")
set(CPACK_PACKAGE_CONTACT "${CUPI_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before each
# package's own synopsis. The first line of a *_DESCRIPTION is the synopsis;
# an empty line separates paragraphs.
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime sim dev)
set(CPACK_COMPONENT_RUNTIME_DISPLAY_NAME "cupi-snmp")
set(CPACK_COMPONENT_SIM_DISPLAY_NAME "cupi-sim")
set(CPACK_COMPONENT_DEV_DISPLAY_NAME "libcupi development files")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/cpack)

# --- Debian -----------------------------------------------------------------
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${CUPI_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SOURCE cupi-snmp)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME cupi-snmp)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "snmpd")
# snmp-mibs-downloader (non-free) or cupi-snmp-install-mibs (curl for a
# URL) give the net-snmp tools the IETF modules CUPI-SMTP-MIB imports.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "snmp, snmptrapd, snmp-mibs-downloader, curl, cupi-sim")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  ${_cupi_pkg_out}/deb/postinst ${_cupi_pkg_out}/deb/prerm ${_cupi_pkg_out}/deb/postrm
  ${_cupi_pkg_out}/deb/conffiles)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(_cupi_runtime_summary "SNMP access to the SMTP settings of Cisco Unity Connection")
set(_cupi_runtime_text
"Cisco Unity Connection exposes its SMTP server and SMTP smart-host
configuration only through its REST provisioning API, CUPI. This package
serves it as CUPI-SMTP-MIB through net-snmp: an AgentX subagent,
cupi-snmp-agent, run by systemd as an unprivileged user, or the same module
loaded into snmpd as cupi_smtp.so. Reads come from memory, SETs become
validated CUPI requests, and notifications report configuration changes and
unreachable servers.

It also contains cupictl, a command-line client for the same settings, and
cupi-snmp-install-mibs, which installs the IETF MIB modules CUPI-SMTP-MIB
imports.")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "${_cupi_runtime_summary}\n${_cupi_runtime_text}")

set(CPACK_DEBIAN_SIM_PACKAGE_NAME cupi-sim)
set(CPACK_DEBIAN_SIM_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SIM_PACKAGE_SHLIBDEPS ON)
set(_cupi_sim_summary "simulator of the Cisco Unity Connection SMTP provisioning API")
set(_cupi_sim_text
"cupi-sim answers the CUPI REST requests for the SMTP server and SMTP
smart-host configuration of Cisco Unity Connection, for one or many
simulated servers, over HTTP or HTTPS, with faults injected on demand. It
lets cupi-snmp's agent and cupictl be tried and tested without a Unity
Connection server: a lab and test tool, not needed in production.")
set(CPACK_DEBIAN_SIM_DESCRIPTION "${_cupi_sim_summary}\n${_cupi_sim_text}")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcupi-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libcurl4-openssl-dev | libcurl-dev, libssl-dev, libxml2-dev, libcjson-dev")
set(_cupi_dev_summary "client library for the CUPI SMTP configuration API (development)")
set(_cupi_dev_text
"libcupi reads and writes the SMTP server and SMTP smart-host configuration of
Cisco Unity Connection through its REST provisioning API, CUPI, with
validation of every field. cupi-snmp's agent and cupictl are built on it.

This package holds the header, the static library and the pkg-config file.")
set(CPACK_DEBIAN_DEV_DESCRIPTION "${_cupi_dev_summary}\n${_cupi_dev_text}")

# --- RPM ------------------------------------------------------------------------
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE ${CUPI_PACKAGE_RELEASE})
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_COMPRESSION_TYPE xz)
set(CPACK_RPM_RUNTIME_PACKAGE_NAME cupi-snmp)
set(CPACK_RPM_DEV_PACKAGE_NAME cupi-snmp-devel)
set(CPACK_RPM_SIM_PACKAGE_NAME cupi-sim)
set(CPACK_RPM_SIM_PACKAGE_SUMMARY "${_cupi_sim_summary}")
set(CPACK_RPM_SIM_PACKAGE_DESCRIPTION "${_cupi_sim_text}")
set(CPACK_RPM_RUNTIME_USER_FILELIST
  "%config(noreplace) ${CUPI_SNMP_CONFDIR}/cupi-snmp-agent.conf"
  "%config(noreplace) ${CUPI_SNMP_CONFDIR}/snmpd.conf.d/cupi-snmp.conf")
set(CPACK_RPM_RUNTIME_PACKAGE_REQUIRES_POST "shadow-utils")
set(CPACK_RPM_RUNTIME_POST_INSTALL_SCRIPT_FILE ${_cupi_pkg_out}/rpm/post)
set(CPACK_RPM_RUNTIME_PRE_UNINSTALL_SCRIPT_FILE ${_cupi_pkg}/rpm/preun)
set(CPACK_RPM_RUNTIME_PACKAGE_SUMMARY "${_cupi_runtime_summary}")
set(CPACK_RPM_RUNTIME_PACKAGE_DESCRIPTION "${_cupi_runtime_text}")
set(CPACK_RPM_DEV_PACKAGE_SUMMARY "${_cupi_dev_summary}")
set(CPACK_RPM_DEV_PACKAGE_DESCRIPTION "${_cupi_dev_text}")
# Directories other packages (filesystem, systemd, net-snmp) own.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
  /etc/snmp /etc/snmp/snmpd.conf.d /lib /lib/systemd /lib/systemd/system /usr/lib/systemd /usr/lib/systemd/system
  /usr/share/snmp /usr/share/snmp/mibs /usr/share/man /usr/share/man/man1 /usr/share/man/man5
  /usr/share/man/man8 /usr/share/doc ${CUPI_FULL_LIBDIR} ${CUPI_FULL_LIBDIR}/snmp
  ${CUPI_FULL_LIBDIR}/pkgconfig /usr/include)

include(CPack)
