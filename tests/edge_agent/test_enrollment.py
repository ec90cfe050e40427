"""Enrolling a device from its bundle, loading its identity, and a real CURVE handshake."""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import zmq
import zmq.auth
from click.testing import CliRunner
from zmq.auth.thread import ThreadAuthenticator

from certs import (
    BUNDLE_MEMBERS,
    EnrollmentBundle,
    EnrollmentBundleError,
    Pki,
    admitted_site,
    generate_curve_keypair,
    init_pki,
    issue_device,
    revoke_device,
    rotate_device,
    z85_encode,
)
from edge_agent.enrollment import AgentIdentity, EnrollmentError, enroll_device, load_identity
from edgeward.cli.main import cli
from edgeward.errors import CertificateError

ADDRESS = "tcp://127.0.0.1:7700"
PRIVATE = {member.name for member in BUNDLE_MEMBERS if member.private}
PUBLIC = {member.name for member in BUNDLE_MEMBERS if not member.private} | {"enrollment.json"}


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return init_pki(tmp_path / "pki", control_plane_address=ADDRESS)


@pytest.fixture
def bundle(pki: Pki, tmp_path: Path) -> EnrollmentBundle:
    return issue_device(pki, "site-001", out=tmp_path / "site-001.zip")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "agent"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _rewrite(
    source: Path,
    out: Path,
    *,
    add: Mapping[str, bytes] | None = None,
    change: Mapping[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Copy an enrollment bundle, adding, changing or dropping members."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members.update(change or {})
    members.update(add or {})
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            if name not in drop:
                archive.writestr(name, data)
    return out


# --- Installing -------------------------------------------------------------------------------


def test_an_issued_bundle_enrolls_and_its_identity_loads(
    bundle: EnrollmentBundle, data_dir: Path, pki: Pki
) -> None:
    installed = enroll_device(bundle.path, data_dir)

    identity = load_identity(data_dir)

    assert installed.directory == identity.directory == data_dir / "identity"
    assert (identity.site, identity.generation) == ("site-001", 1)
    assert identity.control_plane_address == ADDRESS
    assert identity.curve_public_key.decode() == bundle.device.curve_public_key
    assert zmq.curve_public(identity.curve_secret_key) == identity.curve_public_key
    assert identity.control_plane_curve_public_key == pki.curve_public_key
    assert identity.signing_public_key.read_bytes() == pki.signing.public_key.read_bytes()
    assert identity.ca_cert.read_bytes() == pki.ca_cert.read_bytes()
    for path in (identity.certificate, identity.private_key, identity.node_private_key):
        assert path.is_file()
    assert "curve_secret_key" not in repr(identity)


def test_identity_files_have_owner_only_keys(bundle: EnrollmentBundle, data_dir: Path) -> None:
    installed = enroll_device(bundle.path, data_dir)

    assert _mode(installed.directory) == 0o700
    assert {n: _mode(installed.directory / n) for n in PRIVATE} == dict.fromkeys(PRIVATE, 0o600)
    assert {n: _mode(installed.directory / n) for n in PUBLIC} == dict.fromkeys(PUBLIC, 0o644)
    assert {path.name for path in installed.directory.iterdir()} == PRIVATE | PUBLIC
    assert [path.name for path in data_dir.iterdir()] == ["identity"]


def test_an_installed_identity_is_not_overwritten_without_replace(
    bundle: EnrollmentBundle, data_dir: Path
) -> None:
    enroll_device(bundle.path, data_dir)
    before = (data_dir / "identity" / "device.key").read_bytes()

    with pytest.raises(EnrollmentError, match=r"holds the identity of site-001 .*--replace"):
        enroll_device(bundle.path, data_dir)

    assert (data_dir / "identity" / "device.key").read_bytes() == before


def test_a_rotated_bundle_replaces_the_identity(
    pki: Pki, bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path
) -> None:
    enroll_device(bundle.path, data_dir)
    rotated = rotate_device(pki, "site-001", out=tmp_path / "site-001-g2.zip")

    installed = enroll_device(rotated.path, data_dir, replace=True)

    identity = load_identity(data_dir)
    assert (installed.replaced_site, installed.replaced_generation) == ("site-001", 1)
    assert identity.generation == 2
    assert identity.curve_public_key.decode() == rotated.device.curve_public_key
    assert [path.name for path in data_dir.iterdir()] == ["identity"]


def test_an_older_bundle_does_not_replace_a_newer_identity(
    pki: Pki, bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path
) -> None:
    rotated = rotate_device(pki, "site-001", out=tmp_path / "site-001-g2.zip")
    enroll_device(rotated.path, data_dir)

    with pytest.raises(EnrollmentError, match="generation 1 of site-001, not newer than"):
        enroll_device(bundle.path, data_dir, replace=True)

    assert load_identity(data_dir).generation == 2


def test_replace_repairs_a_damaged_identity(bundle: EnrollmentBundle, data_dir: Path) -> None:
    enroll_device(bundle.path, data_dir)
    (data_dir / "identity" / "enrollment.json").unlink()

    enroll_device(bundle.path, data_dir, replace=True)

    assert load_identity(data_dir).site == "site-001"


# --- Bundles that are refused -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.pem", "/tmp/evil.pem", "sub/ca.pem", "..\\evil.pem"])
def test_a_bundle_with_a_path_member_is_refused(
    bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path, name: str
) -> None:
    crafted = _rewrite(bundle.path, tmp_path / "crafted.zip", add={name: b"owned"})

    with pytest.raises(EnrollmentBundleError, match="member with a path"):
        enroll_device(crafted, data_dir)

    assert not (tmp_path / "evil.pem").exists()
    assert not data_dir.exists()


def test_a_bundle_with_an_unexpected_member_is_refused(
    bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path
) -> None:
    crafted = _rewrite(bundle.path, tmp_path / "crafted.zip", add={"authorized_keys": b"x"})

    with pytest.raises(EnrollmentBundleError, match="unexpected member 'authorized_keys'"):
        enroll_device(crafted, data_dir)


def test_a_bundle_missing_a_member_is_refused(
    bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path
) -> None:
    crafted = _rewrite(bundle.path, tmp_path / "crafted.zip", drop=("node.key",))

    with pytest.raises(EnrollmentBundleError, match=r"lacks node\.key"):
        enroll_device(crafted, data_dir)


def test_a_bundle_with_an_altered_member_is_refused(
    bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path, pki: Pki
) -> None:
    other = init_pki(tmp_path / "other", control_plane_address=ADDRESS)
    crafted = _rewrite(
        bundle.path, tmp_path / "crafted.zip", change={"ca.pem": other.ca_cert.read_bytes()}
    )

    with pytest.raises(EnrollmentBundleError, match=r"ca\.pem .* does not match its digest"):
        enroll_device(crafted, data_dir)


def test_a_bundle_with_a_link_member_is_refused(
    bundle: EnrollmentBundle, data_dir: Path, tmp_path: Path
) -> None:
    crafted = _rewrite(bundle.path, tmp_path / "crafted.zip", drop=("ca.pem",))
    link = zipfile.ZipInfo("ca.pem")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(crafted, "a") as archive:
        archive.writestr(link, "/etc/passwd")

    with pytest.raises(EnrollmentBundleError, match="is not a plain file"):
        enroll_device(crafted, data_dir)


def test_a_file_that_is_not_a_bundle_is_refused(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")

    with pytest.raises(EnrollmentBundleError, match="not a readable enrollment bundle"):
        enroll_device(tmp_path / "junk.zip", data_dir)
    with pytest.raises(EnrollmentBundleError, match="no enrollment bundle at"):
        enroll_device(tmp_path / "missing.zip", data_dir)


# --- Loading ----------------------------------------------------------------------------------


def test_loading_without_an_identity_says_how_to_enroll(data_dir: Path) -> None:
    with pytest.raises(EnrollmentError, match=r"not enrolled.*'edgeward agent enroll BUNDLE"):
        load_identity(data_dir)


def test_a_private_key_readable_by_others_is_refused(
    bundle: EnrollmentBundle, data_dir: Path
) -> None:
    enroll_device(bundle.path, data_dir)
    (data_dir / "identity" / "curve.key_secret").chmod(0o644)

    with pytest.raises(EnrollmentError, match=r"curve\.key_secret can be read by other users"):
        load_identity(data_dir)


@pytest.mark.parametrize(
    ("damage", "message"),
    [("unlink", r"incomplete: .*node\.key is missing"), ("edit", r"node\.key changed")],
)
def test_a_damaged_identity_is_refused(
    bundle: EnrollmentBundle, data_dir: Path, damage: str, message: str
) -> None:
    enroll_device(bundle.path, data_dir)
    path = data_dir / "identity" / "node.key"
    if damage == "unlink":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes() + b"\n")

    with pytest.raises(EnrollmentError, match=message):
        load_identity(data_dir)


# --- The CLI ----------------------------------------------------------------------------------


def test_agent_enroll_has_help() -> None:
    result = CliRunner().invoke(cli, ["agent", "enroll", "--help"])

    assert result.exit_code == 0, result.output
    assert "--replace" in result.output


def test_agent_enroll_installs_and_reports(bundle: EnrollmentBundle, data_dir: Path) -> None:
    runner = CliRunner()

    first = runner.invoke(
        cli, ["agent", "enroll", str(bundle.path), "--data-dir", str(data_dir), "--json"]
    )
    again = runner.invoke(cli, ["agent", "enroll", str(bundle.path), "--data-dir", str(data_dir)])

    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert (report["site"], report["generation"], report["replaced"]) == ("site-001", 1, None)
    assert report["directory"] == str(data_dir / "identity")
    assert again.exit_code != 0
    assert isinstance(again.exception, CertificateError)


# --- A real ZeroMQ CURVE handshake ----------------------------------------------------------

ZAP_DOMAIN = "edgeward"  # "*" is not a wildcard: server socket and ZAP handler name the same
REPLY_TIMEOUT_MS = 5000
REFUSED_TIMEOUT_MS = 500


class _FleetCredentials:
    """Admit a CURVE client whose key belongs to an enrolled, non-revoked device."""

    def __init__(self, pki_dir: Path) -> None:
        self.pki_dir = pki_dir

    def callback(self, domain: str, key: bytes) -> bool:
        return domain == ZAP_DOMAIN and admitted_site(self.pki_dir, key) is not None


class _SiteAuthenticator(ThreadAuthenticator):
    """Name each admitted client by its site in the messages' User-Id property."""

    pki_dir: Path

    def curve_user_id(self, client_public_key: bytes) -> str:
        return admitted_site(self.pki_dir, z85_encode(client_public_key)) or ""


class _CurveServer:
    """A ROUTER socket with the control plane's keys that answers each message once."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], pki: Pki) -> None:
        public, secret = zmq.auth.load_certificate(pki.curve.secret_file)
        assert secret is not None
        self.socket = context.socket(zmq.ROUTER)
        self.socket.linger = 0
        self.socket.curve_secretkey = secret
        self.socket.curve_publickey = public
        self.socket.curve_server = True
        self.socket.zap_domain = ZAP_DOMAIN.encode()
        self.socket.bind("tcp://127.0.0.1:0")
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def answer(self, timeout_ms: int) -> str | None:
        """Reply to one message, if one arrives in time; return the sender's User-Id."""
        if not self.socket.poll(timeout_ms):
            return None
        routing, payload = self.socket.recv_multipart(copy=False)
        user_id = str(payload.get("User-Id"))
        self.socket.send_multipart([routing.bytes, b"welcome " + user_id.encode()])
        return user_id


@pytest.fixture
def curve_server(pki: Pki) -> Iterator[_CurveServer]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    authenticator = _SiteAuthenticator(context)
    authenticator.pki_dir = pki.directory
    authenticator.start()
    authenticator.configure_curve_callback(
        domain=ZAP_DOMAIN, credentials_provider=_FleetCredentials(pki.directory)
    )
    server = _CurveServer(context, pki)
    yield server
    server.socket.close()
    authenticator.stop()
    context.term()


def _exchange(
    server: _CurveServer,
    *,
    public: bytes,
    secret: bytes,
    server_key: bytes,
    timeout_ms: int = REPLY_TIMEOUT_MS,
) -> bytes | None:
    """Connect with these keys, say hello and return the reply, or None if none comes."""
    client = server.socket.context.socket(zmq.DEALER)
    client.linger = 0
    # A send can block when a refused handshake has torn the connection down; bound it.
    client.sndtimeo = timeout_ms
    client.curve_publickey = public
    client.curve_secretkey = secret
    client.curve_serverkey = server_key
    try:
        client.connect(server.endpoint)
        client.send(b"hello")
        if server.answer(timeout_ms) is None or not client.poll(timeout_ms):
            return None
        return bytes(client.recv())
    except zmq.Again:
        return None
    finally:
        client.close()


def _exchange_as(
    server: _CurveServer, identity: AgentIdentity, *, timeout_ms: int = REPLY_TIMEOUT_MS
) -> bytes | None:
    """Say hello with an installed identity's keys, as the agent will."""
    return _exchange(
        server,
        public=identity.curve_public_key,
        secret=identity.curve_secret_key,
        server_key=identity.control_plane_curve_public_key,
        timeout_ms=timeout_ms,
    )


def test_an_enrolled_device_completes_the_curve_handshake(
    curve_server: _CurveServer, bundle: EnrollmentBundle, data_dir: Path
) -> None:
    enroll_device(bundle.path, data_dir)

    reply = _exchange_as(curve_server, load_identity(data_dir))

    assert reply == b"welcome site-001"


def test_a_revoked_device_gets_no_reply(
    curve_server: _CurveServer, pki: Pki, bundle: EnrollmentBundle, data_dir: Path
) -> None:
    enroll_device(bundle.path, data_dir)
    revoke_device(pki, "site-001", reason="stolen")

    refused = _exchange_as(curve_server, load_identity(data_dir), timeout_ms=REFUSED_TIMEOUT_MS)

    assert refused is None


def test_an_unknown_key_gets_no_reply(curve_server: _CurveServer, pki: Pki) -> None:
    stranger = generate_curve_keypair()

    reply = _exchange(
        curve_server,
        public=stranger.public_key,
        secret=stranger.secret_key,
        server_key=pki.curve_public_key,
        timeout_ms=REFUSED_TIMEOUT_MS,
    )

    assert reply is None


def test_after_rotation_the_old_key_is_refused_and_the_new_one_admitted(
    curve_server: _CurveServer,
    pki: Pki,
    bundle: EnrollmentBundle,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    other = issue_device(pki, "site-002", out=tmp_path / "site-002.zip")
    enroll_device(bundle.path, data_dir)
    enroll_device(other.path, tmp_path / "agent-2")
    old = load_identity(data_dir)
    rotated = rotate_device(pki, "site-001", out=tmp_path / "site-001-g2.zip")
    enroll_device(rotated.path, data_dir, replace=True)

    assert _exchange_as(curve_server, old, timeout_ms=REFUSED_TIMEOUT_MS) is None
    assert _exchange_as(curve_server, load_identity(data_dir)) == b"welcome site-001"
    site_002 = load_identity(tmp_path / "agent-2")
    assert _exchange_as(curve_server, site_002) == b"welcome site-002"
