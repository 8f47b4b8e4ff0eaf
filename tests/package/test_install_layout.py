"""`cmake --install` into a staging DESTDIR puts every file where a Debian
admin, net-snmp and systemd look for it, the generated unit and man pages name
those very paths, and the unit passes systemd-analyze (verify, and a security
exposure of at most 2.0)."""

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BUILD_DIR = Path(os.environ.get("CUPI_BUILD_DIR") or Path(__file__).resolve().parents[2] / "build")
SOURCE_DIR = Path(os.environ.get("CUPI_SOURCE_DIR") or Path(__file__).resolve().parents[2])
MAX_EXPOSURE = 2.0
UNREPLACED = re.compile(r"@[A-Z][A-Z_]*@")


def roff(path):
    """A path as the man pages write it (hyphens escaped)."""
    return path.replace("-", "\\-")


def cache_value(build, name):
    for line in (build / "CMakeCache.txt").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split("=", 1)[1]
    raise KeyError(name)


def systemd_unit_dir(prefix):
    """What the install rules promise: systemd's own directory, else
    PREFIX/lib/systemd/system."""
    got = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                         capture_output=True, text=True)
    return got.stdout.strip() or prefix + "/lib/systemd/system"


def sysconf_dir(prefix):
    """/etc for /usr and /usr/local, as Debian does; GNUInstallDirs' rules
    otherwise (/etc/opt/NAME for /opt/NAME, else PREFIX/etc)."""
    if prefix.rstrip("/") in ("/usr", "/usr/local"):
        return "/etc"
    if prefix.startswith("/opt/"):
        return "/etc" + prefix
    return prefix + "/etc"


def install(build, prefix, stage):
    env = dict(os.environ, DESTDIR=str(stage))
    subprocess.run(["cmake", "--install", str(build), "--prefix", prefix], env=env, check=True,
                   capture_output=True, text=True)


def in_stage(stage, path):
    return stage / path.lstrip("/")


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    prefix = cache_value(BUILD_DIR, "CMAKE_INSTALL_PREFIX")
    stage = tmp_path_factory.mktemp("stage")
    install(BUILD_DIR, prefix, stage)
    return prefix, stage


def test_files_are_where_debian_net_snmp_and_systemd_look(staged):
    prefix, stage = staged
    expected = [
        prefix + "/sbin/cupi-snmp-agent",
        prefix + "/bin/cupictl",
        prefix + "/bin/cupi-sim",
        sysconf_dir(prefix) + "/snmp/cupi-snmp-agent.conf",
        systemd_unit_dir(prefix) + "/cupi-snmp-agent.service",
        prefix + "/share/man/man1/cupictl.1.gz",
        prefix + "/share/man/man1/cupi-sim.1.gz",
        prefix + "/share/man/man5/cupi-snmp-agent.conf.5.gz",
        prefix + "/share/man/man8/cupi-snmp-agent.8.gz",
        prefix + "/share/man/man8/cupi-snmp-install-mibs.8.gz",
        prefix + "/sbin/cupi-snmp-install-mibs",
        sysconf_dir(prefix) + "/snmp/snmpd.conf.d/cupi-snmp.conf",
        prefix + "/share/doc/cupi-snmp/examples/cupi-snmp-agent.conf.sample",
        prefix + "/share/doc/cupi-snmp/examples/snmpd.conf.sample",
        prefix + "/share/doc/cupi-snmp/copyright",
        prefix + "/include/cupi/cupi.h",
    ]
    # The MIB goes into net-snmp's system MIB directory whatever the prefix.
    mibdirs = subprocess.run(["net-snmp-config", "--default-mibdirs"], capture_output=True,
                             text=True, check=True).stdout.strip().split(":")
    system_mibdir = next(d for d in mibdirs if not d.startswith(os.path.expanduser("~")))
    expected.append(system_mibdir + "/CUPI-SMTP-MIB.txt")
    missing = [p for p in expected if not in_stage(stage, p).is_file()]
    assert not missing, "not installed: %s" % missing
    for binary in ("sbin/cupi-snmp-agent", "bin/cupictl", "bin/cupi-sim",
                   "sbin/cupi-snmp-install-mibs"):
        assert os.access(in_stage(stage, prefix + "/" + binary), os.X_OK)
    dlmod = list(in_stage(stage, prefix).glob("lib*/**/snmp/dlmod/cupi_smtp.so"))
    assert len(dlmod) == 1, dlmod
    # Nothing of the Debian packages' own files in a plain install.
    assert not list(stage.rglob("changelog.Debian.gz"))
    assert not list(stage.rglob("lintian"))


def test_unit_and_man_pages_name_the_installed_paths(staged):
    prefix, stage = staged
    unit = in_stage(stage, systemd_unit_dir(prefix) + "/cupi-snmp-agent.service").read_text()
    execstart = re.search(r"^ExecStart=(\S+)", unit, re.M).group(1)
    assert execstart == prefix + "/sbin/cupi-snmp-agent"
    assert in_stage(stage, execstart).is_file()
    assert re.search(r"^User=_cupi-snmp$", unit, re.M)
    assert re.search(r"^Type=notify$", unit, re.M)
    assert re.search(r"^StateDirectory=cupi-snmp$", unit, re.M)

    conf = sysconf_dir(prefix) + "/snmp/cupi-snmp-agent.conf"
    pages = {p.name: gzip.decompress(p.read_bytes()).decode()
             for p in in_stage(stage, prefix + "/share/man").rglob("*.gz")}
    assert set(pages) == {"cupictl.1.gz", "cupi-sim.1.gz", "cupi-snmp-agent.conf.5.gz",
                          "cupi-snmp-agent.8.gz", "cupi-snmp-install-mibs.8.gz"}
    for name, text in pages.items():
        assert not UNREPLACED.search(text), name
        assert ".SH FILES" in text, name
    agent8 = pages["cupi-snmp-agent.8.gz"]
    files = agent8[agent8.index(".SH FILES"):]
    assert roff(conf) in files
    assert roff(systemd_unit_dir(prefix) + "/cupi-snmp-agent.service") in files
    assert roff(execstart) in files
    assert roff(conf) in pages["cupictl.1.gz"]
    assert roff(conf) in pages["cupi-snmp-agent.conf.5.gz"]
    assert not UNREPLACED.search(unit)


def test_a_second_install_keeps_the_admins_configuration(staged, tmp_path):
    prefix, stage = staged
    conf = in_stage(stage, sysconf_dir(prefix) + "/snmp/cupi-snmp-agent.conf")
    assert "cupiStateFile /var/lib/cupi-snmp/state.json" in conf.read_text()
    mine = "cupiServer 1 cuc-here https://cuc.example.net\n"
    shutil.copy(conf, tmp_path / "orig")
    try:
        conf.write_text(mine)
        install(BUILD_DIR, prefix, stage)
        assert conf.read_text() == mine
    finally:
        shutil.copy(tmp_path / "orig", conf)


def test_unit_passes_systemd_analyze(staged, tmp_path):
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: scripts/deps.sh installs it"
    prefix, stage = staged
    unit = in_stage(stage, systemd_unit_dir(prefix) + "/cupi-snmp-agent.service")
    # verify wants the Exec*= programs to exist: point them into the stage,
    # the only change, and let man(1) find the staged man pages.
    staged_unit = tmp_path / "cupi-snmp-agent.service"
    staged_unit.write_text(unit.read_text().replace(
        "=" + prefix + "/", "=" + str(in_stage(stage, prefix)) + "/"))
    env = dict(os.environ, MANPATH=str(in_stage(stage, prefix + "/share/man")))
    got = subprocess.run(["systemd-analyze", "verify", str(staged_unit)], env=env,
                         capture_output=True, text=True, cwd=tmp_path)
    assert got.returncode == 0 and not got.stderr.strip(), got.stderr

    got = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                          str(unit)], capture_output=True, text=True, cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", got.stdout).group(1))
    print("\nsystemd-analyze security: %.1f" % score)
    assert score <= MAX_EXPOSURE, got.stdout


@pytest.mark.parametrize("prefix, sysconf", [
    ("/usr", "/etc"),
    ("/usr/local", "/etc"),
    ("/opt/cupi", "/etc/opt/cupi"),
    ("/srv/cupi", "/srv/cupi/etc"),
])
def test_configured_paths_follow_the_prefix(tmp_path, prefix, sysconf):
    """Configuring is enough: the unit, configuration and man pages are
    generated then."""
    build = tmp_path / "b"
    subprocess.run(["cmake", "-S", str(SOURCE_DIR), "-B", str(build),
                    "-DCMAKE_INSTALL_PREFIX=" + prefix, "-DCUPI_BUILD_TESTS=OFF"],
                   check=True, capture_output=True, text=True)
    unit = (build / "doc" / "cupi-snmp-agent.service").read_text()
    assert re.search(r"^ExecStart=%s/sbin/cupi-snmp-agent " % re.escape(prefix), unit, re.M)
    conf = (build / "doc" / "cupi-snmp-agent.conf").read_text()
    assert conf.startswith("# %s/snmp/cupi-snmp-agent.conf" % sysconf)
    assert "%s/share/doc/cupi-snmp/examples" % prefix in conf
    assert roff(sysconf + "/snmp/cupi-snmp-agent.conf") in (build / "doc" / "cupictl.1").read_text()
    assert cache_value(build, "CUPI_SYSCONFDIR") == ""
