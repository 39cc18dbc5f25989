"""Real mail servers for tests, started on free ports: an SMTP server (aiosmtpd) and an IMAP server (Dovecot).

Loaded as a pytest plugin by the root conftest.py, so every test can ask for:

- ``smtp_server``: an in-process aiosmtpd server (one per test session) that keeps every message it
  receives; the list is emptied before each test. ``smtp_server.mailers`` is a MAILERS setting that
  points Django's SMTP backend at it, and ``smtp_mailer`` applies it for one test.
- ``imap_server``: a Dovecot instance (one per test session) run from a generated configuration in a
  temporary directory: IMAP on 127.0.0.1 without TLS, plain login allowed, Maildir storage in the
  temporary directory, every user name accepted with the one password (static passdb), so each test
  gets its own empty mailbox by using a fresh user name.
- ``imap_account``: such a fresh mailbox; ``imap_account.append(message_bytes)`` delivers a message
  with IMAP APPEND, exactly as a mail server would store it.

Without Dovecot on the machine the IMAP tests are skipped with the reason, unless
GUANXI_REQUIRE_SERVICES=1 (CI), where a missing server is a failure.
"""

import email
import email.policy
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

IMAP_PASSWORD = "guanxi-imap-test"


def services_required():
    return os.environ.get("GUANXI_REQUIRE_SERVICES", "") == "1"


def _unavailable(message):
    if services_required():
        pytest.fail(f"{message}, and GUANXI_REQUIRE_SERVICES=1 requires the mail server tests to run")
    pytest.skip(message)


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_for_port(host, port, timeout, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    """One message as the SMTP server received it: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: list
    data: bytes

    @property
    def message(self):
        """The message parsed with the modern email policy (decoded headers, get_body(), ...)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def mailers(self):
        """A MAILERS setting that sends through this server."""
        return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                            "OPTIONS": {"host": self.host, "port": self.port, "timeout": 10}}}

    def wait_for(self, count=1, timeout=10):
        """Wait until at least `count` messages arrived; returns them (fails the test on time-out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        pytest.fail(f"the SMTP server received {len(self.messages)} message(s), expected {count}")

    def clear(self):
        with self._lock:
            self.messages.clear()


class _Collector:
    """aiosmtpd handler: keep every message."""

    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self.server._lock:
            self.server.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def _smtp_server_session():
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        _unavailable("aiosmtpd is not installed: install the dev extra (requirements.lock)")
    server = None
    for _attempt in range(5):  # the free port may be taken between the check and the bind
        server = SmtpServer(host="127.0.0.1", port=free_port())
        controller = Controller(_Collector(server), hostname=server.host, port=server.port,
                                enable_SMTPUTF8=True, decode_data=False, ready_timeout=10)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            continue
    else:
        pytest.fail("could not start the test SMTP server")
    yield server
    controller.stop()


@pytest.fixture
def smtp_server(_smtp_server_session):
    """The session's SMTP server with no messages yet."""
    _smtp_server_session.clear()
    yield _smtp_server_session
    _smtp_server_session.clear()


@pytest.fixture
def smtp_mailer(smtp_server, settings):
    """Django's default mailer sends through the test SMTP server for this test."""
    settings.MAILERS = smtp_server.mailers
    return smtp_server


# --- IMAP (Dovecot) ---------------------------------------------------------------------------------


def dovecot_binary():
    path = os.environ.get("GUANXI_DOVECOT") or shutil.which("dovecot") or "/usr/sbin/dovecot"
    return path if os.path.exists(path) else None


_CONFIG_23 = """\
# Generated for one test session: nothing here reads the system configuration.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
# Plain LOGIN over an unencrypted loopback connection, as the tests connect.
disable_plaintext_auth = no
auth_mechanisms = plain login
login_greeting = Guanxi test IMAP ready
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
mail_location = maildir:{root}/mail/%u/Maildir
mail_uid = {mail_uid}
mail_gid = {mail_gid}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
"""


@dataclass
class ImapAccount:
    """One user's mailbox on the test IMAP server."""

    host: str
    port: int
    username: str
    password: str

    def connect(self):
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.username, self.password)
        return conn

    def append(self, message, folder="INBOX", flags="", date_time=None):
        """Deliver `message` (bytes or an email.message.Message) into `folder` with IMAP APPEND."""
        if not isinstance(message, (bytes, bytearray)):
            message = message.as_bytes(policy=email.policy.SMTP)
        conn = self.connect()
        try:
            typ, data = conn.append(folder, flags, imaplib.Time2Internaldate(date_time or time.time()),
                                    bytes(message))
            if typ != "OK":
                raise AssertionError(f"APPEND refused: {data!r}")
        finally:
            conn.logout()

    def uids(self, folder="INBOX"):
        conn = self.connect()
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.uid("SEARCH", None, "ALL")
            return [int(x) for x in data[0].split()]
        finally:
            conn.logout()

    def delete_folder(self, folder):
        """Delete a folder (a recreated folder gets a new UIDVALIDITY)."""
        conn = self.connect()
        try:
            conn.delete(folder)
        finally:
            conn.logout()

    def create_folder(self, folder):
        conn = self.connect()
        try:
            conn.create(folder)
        finally:
            conn.logout()


@dataclass
class ImapServer:
    host: str
    port: int
    root: Path
    process: subprocess.Popen
    password: str = IMAP_PASSWORD
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def account(self, name=None):
        """A mailbox that no earlier test used (every user name logs in with the one password)."""
        name = name or f"user{next(self._names)}-{os.getpid()}@guanxi.test"
        return ImapAccount(self.host, self.port, name, self.password)

    def log(self):
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _dovecot_users():
    """Who the Dovecot processes and the mail files run as.

    As root, Dovecot's own unprivileged users (created by the Debian package) run the internal and login
    processes, and mail is stored as `nobody` (Dovecot refuses mail access as UID 0). As an ordinary
    user, everything runs as that user.
    """
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return {"internal_user": me.pw_name, "internal_group": _group_name(me.pw_gid), "login_user": me.pw_name,
                "mail_uid": me.pw_uid, "mail_gid": me.pw_gid}
    internal = _pw("dovecot") or _pw("nobody")
    login = _pw("dovenull") or internal
    mail = _pw("nobody")
    return {"internal_user": internal.pw_name, "internal_group": _group_name(internal.pw_gid),
            "login_user": login.pw_name, "mail_uid": mail.pw_uid, "mail_gid": mail.pw_gid}


def _pw(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _group_name(gid):
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def dovecot_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    return out.split()[0] if out else ""


def start_dovecot(binary=None, startup_timeout=20):
    """Start Dovecot on a free port with a generated configuration; returns an ImapServer.

    Call `stop_dovecot(server)` when done (the fixture does).
    """
    binary = binary or dovecot_binary()
    version = dovecot_version(binary)
    if not version.startswith("2.3."):
        # 2.4 changed most setting names; the generated configuration is written for 2.3 (Debian 12).
        raise RuntimeError(f"Dovecot {version or '?'} found; the test configuration is written for Dovecot 2.3")
    root = Path(tempfile.mkdtemp(prefix="guanxi-dovecot-"))
    root.chmod(0o755)  # the mail processes (another user when run as root) walk through it
    users = _dovecot_users()
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, users["mail_uid"], users["mail_gid"])
    for attempt in range(5):
        port = free_port()
        config = root / "dovecot.conf"
        config.write_text(_CONFIG_23.format(root=root, port=port, password=IMAP_PASSWORD, **users))
        process = subprocess.Popen([binary, "-F", "-c", str(config)], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if _wait_for_port("127.0.0.1", port, startup_timeout, process):
            return ImapServer(host="127.0.0.1", port=port, root=root, process=process)
        output = _stop(process)
        if attempt == 4:
            log = (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"Dovecot did not start: {output}\n{log[-3000:]}")
    raise AssertionError("unreachable")


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.stdout.read().decode(errors="replace") if process.stdout else ""


def stop_dovecot(server):
    _stop(server.process)
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def imap_server():
    """A Dovecot IMAP server for the test session (skipped, or failed under GUANXI_REQUIRE_SERVICES=1,
    when Dovecot is not installed)."""
    binary = dovecot_binary()
    if binary is None:
        _unavailable("Dovecot not found: install the Debian package 'dovecot-imapd' to run the IMAP tests")
    try:
        server = start_dovecot(binary)
    except RuntimeError as e:
        _unavailable(str(e))
    yield server
    stop_dovecot(server)


@pytest.fixture
def imap_account(imap_server):
    """An empty mailbox of its own on the test IMAP server."""
    return imap_server.account()
