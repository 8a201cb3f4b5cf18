"""A real Neo4j Community server that the project installs and runs itself, without Docker.

The server's entry point ships in the Maven artifact ``org.neo4j:neo4j``; Maven copies it and
its runtime dependencies (plus the Neo4j Browser jar) into a cache folder once. Each server
*home* (a folder of the user's choosing) holds its own ``conf/``, ``data/``, ``logs/``, the
pid file and a generated password (``credentials``, mode 600) that the CLI uses when no
password is configured. The server listens on 127.0.0.1 only.

Secrets and modes: the home is created 0700 and every file in it is created private (the
server and the admin tool run with umask 077, files written here are opened 0600), so the
store, ``auth.ini`` and the credentials are never readable by other users, not even for a
moment. The initial password reaches the admin tool through a private file (picocli's
``@file`` argument expansion), never on a command line where ``ps`` would show it.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mllmrec.config import Neo4jSettings
from mllmrec.errors import ServerError

NEO4J_VERSION = "5.26.25"
BROWSER_VERSION = "5.24.0"

# The --add-opens flags of the official launcher; without them vector index population can stall.
_JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+AlwaysPreTouch",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=jdk.internal.vm.ci/jdk.vm.ci.code=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>mllmrec</groupId><artifactId>neo4j-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId>
      <version>{neo4j}</version></dependency>
    <dependency><groupId>org.neo4j.client</groupId><artifactId>neo4j-browser</artifactId>
      <version>{browser}</version></dependency>
  </dependencies>
</project>
"""


def cache_dir() -> Path:
    """Where the server jars are kept, shared by every home: ``$MLLMREC_CACHE`` or
    ``~/.cache/mllmrec``."""
    base = os.environ.get("MLLMREC_CACHE") or Path.home() / ".cache" / "mllmrec"
    return Path(base) / f"neo4j-{NEO4J_VERSION}"


def lib_dir() -> Path:
    return cache_dir() / "lib"


def is_installed() -> bool:
    lib = lib_dir()
    return (lib / f"neo4j-{NEO4J_VERSION}.jar").is_file() and (
        lib / f"neo4j-browser-{BROWSER_VERSION}.jar"
    ).is_file()


def install(force: bool = False) -> Path:
    """Fetch the server and Browser jars from Maven Central once. Returns the lib folder.

    Installs of the same cache are serialised by a lock file, so two shells (or a ``make test``
    beside a ``make demo``) never stage into the same folder: the second waits, then finds the
    jars the first fetched."""
    if is_installed() and not force:
        return lib_dir()
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / "install.lock"):
        if is_installed() and not force:
            return lib_dir()
        for tool in ("mvn", "java"):
            if shutil.which(tool) is None:
                raise ServerError(f"'{tool}' is not on PATH; install a JDK 17 and Maven first")
        staging = root / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        pom = root / "pom.xml"
        pom.write_text(_POM.format(neo4j=NEO4J_VERSION, browser=BROWSER_VERSION))
        cmd = [
            "mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise ServerError("Maven could not fetch the Neo4j jars:\n" + "\n".join(tail))
        shutil.rmtree(lib_dir(), ignore_errors=True)
        staging.rename(lib_dir())  # atomic: a half-finished download never looks installed
    return lib_dir()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class ServerPaths:
    home: Path

    @property
    def conf(self) -> Path:
        return self.home / "conf"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def pidfile(self) -> Path:
        return self.home / "neo4j.pid"

    @property
    def credentials(self) -> Path:
        return self.home / "credentials"

    @property
    def console_log(self) -> Path:
        return self.logs / "console.log"


_PRIVATE_UMASK = 0o077


def write_private(path: Path, text: str) -> None:
    """Write a file that is mode 0600 from the moment it exists (replacing any old one)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def make_private_dir(path: Path) -> None:
    """Create a folder (and missing parents) as 0700; an existing one is made 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def read_credentials(home: Path) -> str | None:
    """The password the local server in ``home`` was created with, if any."""
    path = ServerPaths(Path(home)).credentials
    return path.read_text().strip() if path.is_file() else None


def _write_conf(paths: ServerPaths, settings: Neo4jSettings) -> None:
    lines = {
        "server.directories.data": paths.data.resolve(),
        "server.directories.logs": paths.logs.resolve(),
        "server.directories.plugins": (paths.home / "plugins").resolve(),
        "server.directories.import": (paths.home / "import").resolve(),
        "server.default_listen_address": "127.0.0.1",
        "server.bolt.listen_address": f"127.0.0.1:{settings.bolt_port}",
        "server.http.listen_address": f"127.0.0.1:{settings.http_port}",
        # What the server tells clients (HTTP discovery, routing tables) to connect to.
        "server.bolt.advertised_address": f"127.0.0.1:{settings.bolt_port}",
        "server.http.advertised_address": f"127.0.0.1:{settings.http_port}",
        "server.https.enabled": "false",
        "server.memory.heap.initial_size": settings.heap,
        "server.memory.heap.max_size": settings.heap,
        "server.memory.pagecache.size": settings.pagecache,
        "dbms.security.auth_enabled": "true",
        "dbms.usage_report.enabled": "false",
        "db.tx_log.rotation.retention_policy": "1 files",
        "server.logs.gc.enabled": "false",
    }
    make_private_dir(paths.conf)
    text = "".join(f"{k}={v}\n" for k, v in lines.items())
    write_private(paths.conf / "neo4j.conf", "# written by mllmrec; edit settings in mllmrec's config\n" + text)


def _java_env(paths: ServerPaths) -> dict[str, str]:
    env = dict(os.environ)
    env["NEO4J_HOME"] = str(paths.home.resolve())
    env["NEO4J_CONF"] = str(paths.conf.resolve())
    return env


def _set_initial_password(paths: ServerPaths, settings: Neo4jSettings) -> None:
    """Give the new store a password before its first start: the configured one, or a
    generated one kept in ``credentials`` (0600 from creation). The admin tool reads it from
    a private file (``@file``), so it never appears on a command line."""
    if (paths.data / "dbms" / "auth.ini").exists():
        return
    generated = settings.password is None
    password = settings.password or secrets.token_hex(16)
    secret = paths.credentials if generated else paths.home / ".initial-password"
    if generated:
        write_private(secret, password + "\n")
    else:  # a quoted picocli argument: spaces, quotes and backslashes kept as they are
        write_private(secret, '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"\n')
    cmd = ["java", "-cp", f"{lib_dir()}/*", "org.neo4j.cli.AdminTool",
           "dbms", "set-initial-password", f"@{secret.resolve()}"]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, env=_java_env(paths),
                                umask=_PRIVATE_UMASK)
    finally:
        if not generated:
            secret.unlink(missing_ok=True)
    if result.returncode != 0:
        if generated:
            secret.unlink(missing_ok=True)
        raise ServerError("could not set the initial password: " + result.stderr.strip()[-500:])


def read_pid(paths: ServerPaths) -> int | None:
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def start(settings: Neo4jSettings, timeout: float = 180.0) -> int:
    """Start the server in ``settings.home`` (installing jars first if needed) and wait until
    Bolt answers. Returns the pid. Starting a running server is a no-op."""
    paths = ServerPaths(Path(settings.home))
    pid = read_pid(paths)
    if pid is not None:
        return pid
    for what, port, key in (("Bolt", settings.bolt_port, "neo4j.bolt_port"),
                            ("HTTP", settings.http_port, "neo4j.http_port")):
        if port_open(port):
            raise ServerError(
                f"{what} port {port} is already in use by another process; stop it or set "
                f"{key} to a free port" + (" (or NEO4J_URI to use that server instead)"
                                            if what == "Bolt" else ""))
    install()
    make_private_dir(paths.home)
    for folder in (paths.data, paths.logs, paths.home / "plugins", paths.home / "import"):
        make_private_dir(folder)
    _write_conf(paths, settings)
    _set_initial_password(paths, settings)
    cmd = [
        "java", *_JVM_FLAGS, f"-Xms{settings.heap}", f"-Xmx{settings.heap}",
        "-cp", f"{lib_dir()}/*", "org.neo4j.server.CommunityEntryPoint",
        f"--home-dir={paths.home.resolve()}", f"--config-dir={paths.conf.resolve()}",
        "--console-mode",
    ]
    log_file = open(os.open(  # noqa: SIM115 (closed right after Popen has inherited it)
        paths.console_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    proc = subprocess.Popen(
        cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=_java_env(paths), start_new_session=True, umask=_PRIVATE_UMASK,
    )
    log_file.close()
    write_private(paths.pidfile, str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            paths.pidfile.unlink(missing_ok=True)
            tail = paths.console_log.read_text(errors="replace").splitlines()[-20:]
            raise ServerError("Neo4j exited during start:\n" + "\n".join(tail))
        if port_open(settings.bolt_port) and _log_says_started(paths):
            return proc.pid
        time.sleep(0.5)
    stop(settings)
    raise ServerError(f"Neo4j did not answer on Bolt within {timeout:.0f}s; see {paths.console_log}")


def _log_says_started(paths: ServerPaths) -> bool:
    try:
        with open(paths.console_log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4000))
            return b"Started." in f.read()
    except OSError:
        return False


def stop(settings: Neo4jSettings, timeout: float = 60.0) -> bool:
    """Stop the server cleanly (SIGTERM, then SIGKILL after ``timeout``). Returns whether
    a server was running."""
    paths = ServerPaths(Path(settings.home))
    pid = read_pid(paths)
    if pid is None:
        paths.pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        _reap(pid)
        time.sleep(0.3)
    else:
        os.kill(pid, signal.SIGKILL)
    paths.pidfile.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@dataclass(frozen=True)
class ServerStatus:
    installed: bool
    pid: int | None
    bolt: bool
    http: bool
    home: Path

    def lines(self, settings: Neo4jSettings) -> list[str]:
        return [
            f"version      Neo4j {NEO4J_VERSION} Community (Browser {BROWSER_VERSION})",
            f"jars         {'installed in ' + str(lib_dir()) if self.installed else 'not installed'}",
            f"home         {self.home.resolve()}",
            f"process      {'running, pid ' + str(self.pid) if self.pid else 'not running'}",
            f"bolt         {'answers' if self.bolt else 'closed'} on 127.0.0.1:{settings.bolt_port}",
            f"browser      {f'http://127.0.0.1:{settings.http_port}/browser/' if self.http else 'closed'}",
        ]


def status(settings: Neo4jSettings) -> ServerStatus:
    paths = ServerPaths(Path(settings.home))
    pid = read_pid(paths)
    return ServerStatus(
        installed=is_installed(),
        pid=pid,
        bolt=port_open(settings.bolt_port),
        http=port_open(settings.http_port),
        home=paths.home,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def temporary(heap: str = "1g", pagecache: str = "256m", prefix: str = "mllmrec-neo4j-"
              ) -> Iterator[Neo4jSettings]:
    """A fresh server on free ports in a temporary home, stopped and deleted on exit: what
    the test suite and the benchmarks run against, never touching the user's database."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    bolt = free_port()
    settings = Neo4jSettings(home=home, bolt_port=bolt, http_port=free_port(), heap=heap,
                             pagecache=pagecache, uri=f"bolt://127.0.0.1:{bolt}")
    try:
        start(settings)
        yield settings
    finally:
        stop(settings)
        shutil.rmtree(home, ignore_errors=True)
