"""scripts/package.sh builds the Debian packages (and the RPMs), lintian finds
nothing to report beyond information, and the packages carry what an install
needs: dependencies, the configuration file as a conffile, the maintainer
scripts that create the system user, the unit, the MIB.

Installing and purging the .deb is left out here: the system user a purge
must keep (Debian policy) would stay on the CI machine."""

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
    assert len(debs) == 2
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
    assert fields["Recommends"] == "snmpd"
    assert fields["Section"] == "net"

    control = Path(run("mktemp", "-d").strip())
    try:
        run("dpkg-deb", "-e", str(path), str(control))
        assert (control / "conffiles").read_text().split() == ["/etc/snmp/cupi-snmp-agent.conf"]
        postinst = (control / "postinst").read_text()
        assert re.search(r"adduser --system --group .*\"\$user\"", postinst, re.S)
        assert "user=_cupi-snmp" in postinst and "statedir=/var/lib/cupi-snmp" in postinst
        assert 'install -d -m 0750 -o "$user" -g "$user" "$statedir"' in postinst
        postrm = (control / "postrm").read_text()
        purge = postrm[postrm.index("purge)"):]
        assert "rm -rf /var/lib/cupi-snmp" in purge
        assert "deluser" not in postrm  # the system user stays, as policy says
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
                    ("/usr/bin/cupi-sim", "-rwxr-xr-x"),
                    ("/etc/snmp/cupi-snmp-agent.conf", "-rw-r--r--"),
                    ("/lib/systemd/system/cupi-snmp-agent.service", "-rw-r--r--"),
                    ("/usr/share/snmp/mibs/CUPI-SMTP-MIB.txt", "-rw-r--r--"),
                    ("/usr/share/doc/cupi-snmp/copyright", "-rw-r--r--"),
                    ("/usr/share/doc/cupi-snmp/changelog.Debian.gz", "-rw-r--r--"),
                    ("/usr/share/man/man1/cupi-sim.1.gz", "-rw-r--r--"),
                    ("/usr/share/man/man8/cupi-snmp-agent.8.gz", "-rw-r--r--")]:
        assert f in entries, f
        assert entries[f] == (mode, "root/root"), (f, entries[f])
    assert any(re.fullmatch(r"/usr/lib/[^/]+/snmp/dlmod/cupi_smtp\.so", n) for n in entries)
    # No state directory in the package: postinst makes it, purge removes it.
    assert not any(n.startswith("/var/") for n in entries)

    unit = deb_member(path, "lib/systemd/system/cupi-snmp-agent.service").decode()
    assert re.search(r"^ExecStart=/usr/sbin/cupi-snmp-agent -f ", unit, re.M)
    assert re.search(r"^User=_cupi-snmp$", unit, re.M)
    changelog = gzip.decompress(deb_member(path, "usr/share/doc/cupi-snmp/changelog.Debian.gz"))
    assert changelog.decode().startswith("cupi-snmp (%s) " % fields["Version"])


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
    for f in ("/usr/sbin/cupi-snmp-agent", "/usr/bin/cupictl", "/usr/bin/cupi-sim",
              "/etc/snmp/cupi-snmp-agent.conf", "/usr/lib/systemd/system/cupi-snmp-agent.service",
              "/usr/lib64/snmp/dlmod/cupi_smtp.so", "/usr/share/snmp/mibs/CUPI-SMTP-MIB.txt",
              "/usr/share/man/man1/cupi-sim.1.gz"):
        assert f in files, f
    assert not [f for f in files if "lintian" in f or "changelog.Debian" in f]
    assert run("rpm", "-qp", "--configfiles", str(path)).split() == [
        "/etc/snmp/cupi-snmp-agent.conf"]
    scripts = run("rpm", "-qp", "--scripts", str(path))
    assert "useradd -r -g _cupi-snmp" in scripts
    requires = run("rpm", "-qpR", str(path))
    assert "libcurl.so.4()(64bit)" in requires and "libnetsnmpagent.so.40()(64bit)" in requires

    devel = run("rpm", "-qpl", str(rpm(dist, "cupi-snmp-devel"))).split()
    assert "/usr/include/cupi/cupi.h" in devel and "/usr/lib64/libcupi.a" in devel
