"""Transport security for the device <-> tier link: TLS, mutual TLS, and a
per-device bearer token.

- ``make_dev_certs(DIR)`` (``proxima certs DIR``) writes a development CA and
  a server and a client certificate signed by it, with the maintained
  ``cryptography`` library. For development only: real deployments use their
  own PKI.
- The server checks ``authorization: Bearer <token>`` metadata on every
  Assistant call before any audio is read (health checks need none).
- Plaintext is allowed only to and on loopback addresses unless forced.
- Tokens can come from a file (``read_token_file``) or the environment, so
  they need not appear on a command line that ``ps`` shows to every user.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc

TOKEN_HEADER = "authorization"


class SecurityError(Exception):
    """A security setting cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for one side of a TLS link."""

    ca: Path | None = None
    """CA that signed the peer's certificate (client: required for TLS; server: set for mutual TLS)."""
    cert: Path | None = None
    """This side's certificate chain."""
    key: Path | None = None
    """This side's private key."""

    def read(self) -> tuple[bytes | None, bytes | None, bytes | None]:
        """(ca, key, cert) bytes.

        Raises:
            SecurityError: a named file cannot be read.
        """
        out = []
        for name, path in (("CA", self.ca), ("key", self.key), ("certificate", self.cert)):
            try:
                out.append(path.read_bytes() if path else None)
            except OSError as exc:
                raise SecurityError(f"cannot read the TLS {name} {path} ({exc.strerror or exc})") from exc
        return out[0], out[1], out[2]


def is_loopback(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plaintext(address: str, forced: bool, tls_hint: str = "--tls-ca CA") -> None:
    """Refuse plaintext off loopback unless ``forced``; ``tls_hint`` names the TLS options of the caller's side.

    Raises:
        SecurityError: ``address`` is not loopback and nothing forces plaintext.
    """
    host = address.rpartition(":")[0]
    if not forced and not is_loopback(host):
        raise SecurityError(f"{address} is not a loopback address: use TLS ({tls_hint}, see 'proxima certs'), "
                            "or --insecure to force plaintext")


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    ca, key, cert = tls.read()
    if (key is None) != (cert is None):
        raise SecurityError("give both --tls-cert and --tls-key for a client certificate, or neither")
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """Server TLS; with ``tls.ca`` the client must present a certificate it signed (mutual TLS)."""
    ca, key, cert = tls.read()
    if key is None or cert is None:
        raise SecurityError("TLS needs both --tls-cert and --tls-key")
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Rejects Assistant calls without a known bearer token (UNAUTHENTICATED),
    before the handler runs, so no audio of theirs is read."""

    def __init__(self, tokens: frozenset[str], protected_prefix: str = "/proxima.v1.") -> None:
        self._tokens = [t.encode() for t in tokens]
        self._prefix = protected_prefix

    def known(self, token: str) -> bool:
        """True when ``token`` is one of this tier's tokens.

        Compared in constant time with every known token, without stopping at
        a match, so the reply time tells a caller nothing about how much of a
        guess was right (a set lookup's hash and compare would).
        """
        given = token.encode()
        return any([hmac.compare_digest(given, known) for known in self._tokens])  # a list: no short-circuit

    async def intercept_service(self, continuation, details):
        if not details.method.startswith(self._prefix):
            return await continuation(details)
        metadata = dict(details.invocation_metadata or ())
        scheme, _, token = str(metadata.get(TOKEN_HEADER, "")).partition(" ")
        if scheme.lower() == "bearer" and self.known(token):
            return await continuation(details)
        reason = "no bearer token" if TOKEN_HEADER not in metadata else "unknown bearer token"

        async def deny(request_iterator, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                f"{reason}: send 'authorization: Bearer <token>' with a token this tier knows (--token)")

        return grpc.stream_stream_rpc_method_handler(deny)


def read_token_file(path: Path) -> list[str]:
    """The tokens in ``path``, one a line; blank lines and ``#`` comments are skipped.

    Raises:
        SecurityError: the file cannot be read, or holds no token.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SecurityError(f"cannot read the token file {path} ({why})") from exc
    tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not tokens:
        raise SecurityError(f"the token file {path} holds no token: put one token a line in it")
    return tokens


def make_dev_certs(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> list[Path]:
    """Write ca.pem/ca.key, server.pem/server.key and client.pem/client.key.

    The server certificate names ``hosts`` (DNS names and IP addresses);
    every certificate is valid for 365 days. Returns the files written.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Proxima development"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(subject, key, issuer, issuer_key, ca: bool, extensions=()):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        for ext in extensions:
            builder = builder.add_extension(ext, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(stem: str, key, cert) -> list[Path]:
        key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.pem"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return [cert_path, key_path]

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = issue(name("Proxima development CA"), ca_key, name("Proxima development CA"), ca_key, ca=True)
    sans = [x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts]
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server_cert = issue(name(hosts[0]), server_key, ca_cert.subject, ca_key, ca=False, extensions=[
        x509.SubjectAlternativeName(sans), x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])])
    client_cert = issue(name("proxima-device"), client_key, ca_cert.subject, ca_key, ca=False, extensions=[
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])])
    return write("ca", ca_key, ca_cert) + write("server", server_key, server_cert) + write("client", client_key, client_cert)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
