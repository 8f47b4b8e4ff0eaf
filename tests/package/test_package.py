"""scripts/package.sh builds the Debian packages (and the RPMs), lintian finds
nothing to report beyond information, and the packages carry what an install
needs: dependencies, the configuration files as conffiles, the maintainer
scripts that create the system user, the unit, the MIB; the simulator and its
libraries in a package of their own.

Installing and purging the .deb is left out here (the system user a purge
must keep, Debian policy, would stay on the CI machine): tests/deploy does it
on a Debian 12 booted under systemd-nspawn."""

import gzip
import os
import re
import shutil
import subprocess
import tarfile
import io
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or Path(__file__).resolve().parents[2])
PACKAGE_SH = SOURCE_DIR / "scripts" / "package.sh"
PACKAGE_LIMIT_S = 900


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=True, **kw).stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, CUPI_DIST_DIR=str(out))
    got = subprocess.run([str(PACKAGE_SH)], env=env, capture_output=True, text=True,
                         timeout=PACKAGE_LIMIT_S)
    assert got.returncode == 0, got.stderr
    printed = [Path(line) for line in got.stdout.split()]
    assert printed and all(p.parent == out and p.is_file() for p in printed), got.stdout
    assert sorted(printed) == sorted(out.iterdir())
    for p in printed:
        print("\n%s: %d bytes" % (p.name, p.stat().st_size), end="")
    return {p.name: p for p in printed}


def deb(dist, name):
    found = [p for n, p in dist.items() if n.startswith(name + "_") and n.endswith(".deb")]
    assert len(found) == 1, list(dist)
    return found[0]


def rpm(dist, name):
    found = [p for n, p in dist.items()
             if re.match(re.escape(name) + r"-\d", n) and n.endswith(".rpm")]
    assert len(found) == 1, list(dist)
    return found[0]


def deb_member(path, member):
    """A file of the package's data, as bytes."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.extractfile("./" + member.lstrip("/")).read()


def test_lintian_reports_no_errors_or_warnings(dist):
    assert shutil.which("lintian"), "lintian missing: scripts/deps.sh installs it"
    debs = [str(p) for n, p in dist.items() if n.endswith(".deb")]
    assert len(debs) == 3
    got = subprocess.run(["lintian", "--display-info", "--pedantic"] + debs,
                         capture_output=True, text=True)
    print("\n" + got.stdout)
    tags = [line for line in got.stdout.splitlines() if re.match(r"[EWX]: ", line)]
    assert not tags, "\n".join(tags)
    # lintian exits 0 unless it found errors (or could not run).
    assert got.returncode == 0, got.stderr


def test_cupi_snmp_deb_metadata(dist):
    path = deb(dist, "cupi-snmp")
    fields = {k: run("dpkg-deb", "-f", str(path), k).strip()
              for k in ("Package", "Version", "Depends", "Recommends", "Section", "Maintainer")}
    assert fields["Package"] == "cupi-snmp"
    assert re.fullmatch(r"\d+\.\d+\.\d+-\d+", fields["Version"])
    depends = fields["Depends"]
    # Found by dpkg-shlibdeps from the binaries, plus what the scripts call.
    for lib in ("libc6", "libcurl4", "libxml2", "libcjson1", "libsnmp40", "adduser"):
        assert re.search(r"(^|, )%s\b" % lib, depends), depends
    # The simulator's libraries belong to the cupi-sim package only.
    assert "libmicrohttpd" not in depends and "libgnutls" not in depends, depends
    assert fields["Recommends"] == "snmpd"
    suggests = run("dpkg-deb", "-f", str(path), "Suggests")
    assert "snmp-mibs-downloader" in suggests and "cupi-sim" in suggests
    assert fields["Section"] == "net"

    control = Path(run("mktemp", "-d").strip())
    try:
        run("dpkg-deb", "-e", str(path), str(control))
        assert (control / "conffiles").read_text().split() == [
            "/etc/snmp/cupi-snmp-agent.conf", "/etc/snmp/snmpd.conf.d/cupi-snmp.conf"]
        postinst = (control / "postinst").read_text()
        assert re.search(r"adduser --system --group .*\"\$user\"", postinst, re.S)
        assert "user=_cupi-snmp" in postinst and "statedir=/var/lib/cupi-snmp" in postinst
        assert 'install -d -m 0750 -o "$user" -g "$user" "$statedir"' in postinst
        postrm = (control / "postrm").read_text()
        purge = postrm[postrm.index("purge)"):]
        assert "statedir=/var/lib/cupi-snmp" in postrm and 'rm -rf "$statedir"' in purge
        assert "deluser --system" not in purge.split("cat <<EOF")[0]  # the user stays
        assert "Left in place" in purge  # and purge says what else stays
        # An existing /var/agentx that snmpd made 0700 is opened, and closed
        # again on purge.
        assert 'chmod 0755 "$agentx_dir"' in postinst and 'chmod 0700 "$agentx_dir"' in purge
        for script in ("postinst", "prerm", "postrm"):
            assert os.access(control / script, os.X_OK), script
    finally:
        shutil.rmtree(control)

    listing = run("dpkg-deb", "-c", str(path))
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, name = line.split(None, 5)
        entries[name.lstrip(".")] = (mode, owner)
    for f, mode in [("/usr/sbin/cupi-snmp-agent", "-rwxr-xr-x"),
                    ("/usr/bin/cupictl", "-rwxr-xr-x"),
                    ("/usr/sbin/cupi-snmp-install-mibs", "-rwxr-xr-x"),
                    ("/etc/snmp/cupi-snmp-agent.conf", "-rw-r--r--"),
                    ("/etc/snmp/snmpd.conf.d/cupi-snmp.conf", "-rw-r--r--"),
                    ("/lib/systemd/system/cupi-snmp-agent.service", "-rw-r--r--"),
                    ("/usr/share/snmp/mibs/CUPI-SMTP-MIB.txt", "-rw-r--r--"),
                    ("/usr/share/doc/cupi-snmp/copyright", "-rw-r--r--"),
                    ("/usr/share/doc/cupi-snmp/changelog.Debian.gz", "-rw-r--r--"),
                    ("/usr/share/man/man8/cupi-snmp-install-mibs.8.gz", "-rw-r--r--"),
                    ("/usr/share/man/man8/cupi-snmp-agent.8.gz", "-rw-r--r--")]:
        assert f in entries, f
        assert entries[f] == (mode, "root/root"), (f, entries[f])
    assert any(re.fullmatch(r"/usr/lib/[^/]+/snmp/dlmod/cupi_smtp\.so", n) for n in entries)
    assert not [n for n in entries if "cupi-sim" in n]
    # No state directory in the package: postinst makes it, purge removes it.
    assert not any(n.startswith("/var/") for n in entries)

    unit = deb_member(path, "lib/systemd/system/cupi-snmp-agent.service").decode()
    assert re.search(r"^ExecStart=/usr/sbin/cupi-snmp-agent -f ", unit, re.M)
    # The configuration is checked before a start and before a reload.
    assert re.search(r"^ExecStartPre=/usr/sbin/cupi-snmp-agent -t$", unit, re.M)
    reload = re.findall(r"^ExecReload=(.*)$", unit, re.M)
    assert reload[0] == "/usr/sbin/cupi-snmp-agent -t" and "HUP" in reload[1], reload
    snippet = deb_member(path, "etc/snmp/snmpd.conf.d/cupi-snmp.conf").decode()
    assert re.search(r"^agentXPerms 0660 0755 Debian-snmp _cupi-snmp$", snippet, re.M)
    assert re.search(r"^agentxTimeout 25$", snippet, re.M)
    assert re.search(r"^agentxRetries 0$", snippet, re.M)
    assert re.search(r"^User=_cupi-snmp$", unit, re.M)
    changelog = gzip.decompress(deb_member(path, "usr/share/doc/cupi-snmp/changelog.Debian.gz"))
    assert changelog.decode().startswith("cupi-snmp (%s) " % fields["Version"])


def test_cupi_sim_deb_has_the_simulator_and_its_libraries(dist):
    path = deb(dist, "cupi-sim")
    depends = run("dpkg-deb", "-f", str(path), "Depends")
    assert "libmicrohttpd12" in depends and "libgnutls30" in depends, depends
    assert "libsnmp" not in depends
    names = run("dpkg-deb", "-c", str(path))
    for f in ("/usr/bin/cupi-sim", "/usr/share/man/man1/cupi-sim.1.gz",
              "/usr/share/doc/cupi-sim/copyright", "/usr/share/doc/cupi-sim/changelog.Debian.gz"):
        assert "." + f in names, f
    assert "cupi-snmp-agent" not in names and "cupictl" not in names


def test_libcupi_dev_deb(dist):
    path = deb(dist, "libcupi-dev")
    names = run("dpkg-deb", "-c", str(path))
    for f in ("/usr/include/cupi/cupi.h", "/usr/share/doc/libcupi-dev/copyright"):
        assert "." + f in names, f
    assert re.search(r"\./usr/lib/[^/]+/libcupi\.a", names)
    assert re.search(r"\./usr/lib/[^/]+/pkgconfig/cupi\.pc", names)
    assert "libcupi.so" not in names  # the shared library is not packaged
    depends = run("dpkg-deb", "-f", str(path), "Depends")
    assert "libcurl4-openssl-dev" in depends and "libcjson-dev" in depends


def test_rpms_hold_the_same_in_fedoras_layout(dist):
    assert shutil.which("rpm"), "rpm missing: scripts/deps.sh installs it"
    path = rpm(dist, "cupi-snmp")
    files = run("rpm", "-qpl", str(path)).split()
    for f in ("/usr/sbin/cupi-snmp-agent", "/usr/bin/cupictl", "/usr/sbin/cupi-snmp-install-mibs",
              "/etc/snmp/cupi-snmp-agent.conf", "/etc/snmp/snmpd.conf.d/cupi-snmp.conf",
              "/usr/lib/systemd/system/cupi-snmp-agent.service",
              "/usr/lib64/snmp/dlmod/cupi_smtp.so", "/usr/share/snmp/mibs/CUPI-SMTP-MIB.txt"):
        assert f in files, f
    assert not [f for f in files if "cupi-sim" in f]
    assert "/usr/bin/cupi-sim" in run("rpm", "-qpl", str(rpm(dist, "cupi-sim"))).split()
    assert not [f for f in files if "lintian" in f or "changelog.Debian" in f]
    assert sorted(run("rpm", "-qp", "--configfiles", str(path)).split()) == [
        "/etc/snmp/cupi-snmp-agent.conf", "/etc/snmp/snmpd.conf.d/cupi-snmp.conf"]
    scripts = run("rpm", "-qp", "--scripts", str(path))
    assert "useradd -r -g _cupi-snmp" in scripts
    requires = run("rpm", "-qpR", str(path))
    assert "libcurl.so.4()(64bit)" in requires and "libnetsnmpagent.so.40()(64bit)" in requires

    devel = run("rpm", "-qpl", str(rpm(dist, "cupi-snmp-devel"))).split()
    assert "/usr/include/cupi/cupi.h" in devel and "/usr/lib64/libcupi.a" in devel
