# Where an installed cupi-snmp puts what net-snmp, systemd and a Debian admin
# look for, whatever the prefix. Each is a cache variable, so a distribution
# can override it; an empty value means "work it out", done again on every
# configure so that a changed CMAKE_INSTALL_PREFIX is followed.
#
# Results (absolute paths):
#   CUPI_FULL_SYSCONFDIR   /etc for the /usr and /usr/local prefixes (Debian's
#                          rule; GNUInstallDirs only knows it for /usr), else
#                          GNUInstallDirs' (/etc/opt/NAME for /opt/NAME,
#                          PREFIX/etc otherwise)
#   CUPI_SNMP_CONFDIR      CUPI_FULL_SYSCONFDIR/snmp: beside snmpd.conf, on
#                          net-snmp's configuration path
#   CUPI_MIBDIR            the first system directory of net-snmp's default MIB
#                          path, so snmptranslate and snmpd find the MIB with
#                          no -M
#   CUPI_SYSTEMD_UNITDIR   systemd's own system unit directory (pkg-config
#                          systemd), else PREFIX/lib/systemd/system
#   CUPI_STATEDIR          /var/lib/cupi-snmp (the unit's StateDirectory)
#   CUPI_SERVICE_USER, CUPI_SERVICE_GROUP  who the unit runs the agent as
#   CUPI_FULL_SBINDIR, CUPI_FULL_BINDIR, CUPI_FULL_LIBDIR, CUPI_DOCDIR,
#   CUPI_FULL_DLMODDIR

include(GNUInstallDirs)

set(CUPI_SYSCONFDIR "" CACHE PATH
  "Configuration root (empty: /etc for the /usr and /usr/local prefixes, else GNUInstallDirs')")
set(CUPI_MIBDIR "" CACHE PATH
  "Where the MIB is installed (empty: net-snmp's first system MIB directory)")
set(CUPI_SYSTEMD_UNITDIR "" CACHE PATH
  "Where the systemd unit is installed (empty: pkg-config systemd, else PREFIX/lib/systemd/system)")

if(CUPI_SYSCONFDIR)
  set(CUPI_FULL_SYSCONFDIR "${CUPI_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/usr(/local)?/?$")
  set(CUPI_FULL_SYSCONFDIR "/etc")
else()
  set(CUPI_FULL_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}")
endif()
set(CUPI_SNMP_CONFDIR "${CUPI_FULL_SYSCONFDIR}/snmp")

if(CUPI_MIBDIR)
  set(_cupi_mibdir "${CUPI_MIBDIR}")
else()
  # e.g. "$HOME/.snmp/mibs:/usr/share/snmp/mibs:/usr/share/snmp/mibs/iana:..."
  # (the $HOME entry already expanded): the first one outside a home.
  set(_cupi_mibdir "/usr/share/snmp/mibs")
  find_program(CUPI_NET_SNMP_CONFIG net-snmp-config)
  if(CUPI_NET_SNMP_CONFIG)
    execute_process(COMMAND ${CUPI_NET_SNMP_CONFIG} --default-mibdirs
      OUTPUT_VARIABLE _cupi_mibdirs OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _cupi_rc ERROR_QUIET)
    if(_cupi_rc EQUAL 0 AND _cupi_mibdirs)
      string(REPLACE ":" ";" _cupi_mibdirs "${_cupi_mibdirs}")
      foreach(_d ${_cupi_mibdirs})
        if(IS_ABSOLUTE "${_d}" AND NOT _d MATCHES "(^\\$HOME|^/root/|^/home/|/\\.snmp/)")
          set(_cupi_mibdir "${_d}")
          break()
        endif()
      endforeach()
    endif()
  endif()
endif()
set(CUPI_FULL_MIBDIR "${_cupi_mibdir}")

if(CUPI_SYSTEMD_UNITDIR)
  set(CUPI_FULL_SYSTEMD_UNITDIR "${CUPI_SYSTEMD_UNITDIR}")
else()
  set(CUPI_FULL_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_get_variable(_cupi_unitdir systemd systemdsystemunitdir)
    if(_cupi_unitdir)
      set(CUPI_FULL_SYSTEMD_UNITDIR "${_cupi_unitdir}")
    endif()
  endif()
endif()

set(CUPI_STATEDIR "/var/lib/cupi-snmp")
# Debian names new system users with a leading underscore.
set(CUPI_SERVICE_USER "_cupi-snmp" CACHE STRING
  "System user the systemd unit runs the agent as (the packages create it)")
set(CUPI_SERVICE_GROUP "_cupi-snmp" CACHE STRING
  "Its group; snmpd's AgentX socket must let this group connect")
set(CUPI_FULL_SBINDIR "${CMAKE_INSTALL_FULL_SBINDIR}")
set(CUPI_FULL_BINDIR "${CMAKE_INSTALL_FULL_BINDIR}")
set(CUPI_FULL_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
set(CUPI_DOCDIR "${CMAKE_INSTALL_FULL_DATADIR}/doc/cupi-snmp")
set(CUPI_FULL_DLMODDIR "${CMAKE_INSTALL_FULL_LIBDIR}/snmp/dlmod")

message(STATUS "cupi-snmp: config ${CUPI_SNMP_CONFDIR}, MIB ${CUPI_FULL_MIBDIR}, "
  "unit ${CUPI_FULL_SYSTEMD_UNITDIR}")
