#!/usr/bin/env bash
# package.sh - builds cupi-snmp's packages into dist/ and prints their paths:
#   cupi-snmp_VERSION_ARCH.deb     agent, cupi_smtp.so, cupictl, MIB,
#                                  cupi-snmp-install-mibs, systemd unit, man
#                                  pages, configuration, snmpd.conf.d/cupi-snmp.conf
#   cupi-sim_VERSION_ARCH.deb      the CUPI simulator (libmicrohttpd, GnuTLS)
#   libcupi-dev_VERSION_ARCH.deb   header, static library, pkg-config file
# and, where rpmbuild is installed, the same as RPMs (Fedora's layout).
#
#   scripts/package.sh [--no-rpm]
#
# Release builds with Debian's hardening flags (dpkg-buildflags), in
# build-package/ and build-package-rpm/, packed by CPack from the same install
# rules as "cmake --install". CUPI_DIST_DIR names another output directory.
set -euo pipefail

rpm=1
for arg in "$@"; do
  case "$arg" in
    --no-rpm) rpm=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--no-rpm]" >&2; exit 2 ;;
  esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
dist=${CUPI_DIST_DIR:-$top/dist}
jobs=$(nproc 2>/dev/null || echo 2)

# shellcheck source=scripts/deps.sh
. "$top/scripts/deps.sh"
cupi_install_deps build package

# Debian's flags for a package: optimisation, fortify, stack protector,
# relro and bind-now.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)

# build_tree DIR GENERATOR [cmake options...]: configure, build, pack; the
# packages are left in DIR/cpack.
build_tree() {
  local dir=$1 gen=$2
  shift 2
  echo "==> $gen: configure and build in $dir" >&2
  cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
    -DCUPI_BUILD_TESTS=OFF -DCUPI_BUILD_BENCH=OFF -DCUPI_SANITIZE=OFF \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" -DCMAKE_MODULE_LINKER_FLAGS="$ldflags" \
    "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  rm -rf "$dir/cpack"
  (cd "$dir" && cpack -G "$gen" -B "$dir/cpack" >/dev/null)
}

build_tree "$top/build-package" DEB
built=("$top/build-package/cpack"/*.deb)
if [ "$rpm" = 1 ] && command -v rpmbuild >/dev/null; then
  # Where RPM distributions keep 64-bit libraries and systemd units.
  build_tree "$top/build-package-rpm" RPM -DCMAKE_INSTALL_LIBDIR=lib64 \
    -DCUPI_SYSTEMD_UNITDIR=/usr/lib/systemd/system -DCUPI_PACKAGE_DEBIAN_FILES=OFF
  built+=("$top/build-package-rpm/cpack"/*.rpm)
fi

mkdir -p "$dist"
rm -f "$dist"/*.deb "$dist"/*.rpm
for f in "${built[@]}"; do
  cp "$f" "$dist/"
  echo "$dist/$(basename "$f")"
done
