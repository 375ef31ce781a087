"""`--tls`: a self-signed CA and a server certificate for the API, kept in the state folder.

STATE/pki/ca.crt (what the kubeconfig trusts), ca.key, apiserver.crt and
apiserver.key (for 127.0.0.1, ::1, localhost and the address served on).
They are made once and reused while they cover the address.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_YEARS = 10


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _cert(subject: str, issuer: x509.Name, key, signer, ca: bool, sans: list) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=365 * _YEARS))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer, hashes.SHA256())


def ensure_certificates(folder: Path, address: str) -> tuple[Path, Path, Path]:
    """(ca.crt, apiserver.crt, apiserver.key) in `folder`, made when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_crt, crt, key_file = folder / "ca.crt", folder / "apiserver.crt", folder / "apiserver.key"
    tag = folder / "apiserver.address"
    if crt.exists() and ca_crt.exists() and tag.exists() and tag.read_text() == address:
        return ca_crt, crt, key_file
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("recon-ca", _name("recon-ca"), ca_key, ca_key, True, [])
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans: list = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                  x509.IPAddress(ipaddress.ip_address("::1"))]
    try:
        sans.append(x509.IPAddress(ipaddress.ip_address(address)))
    except ValueError:
        sans.append(x509.DNSName(address))
    server = _cert("kube-apiserver", ca.subject, server_key, ca_key, False, sans)
    _write_key(folder / "ca.key", ca_key)
    _write_key(key_file, server_key)
    ca_crt.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    crt.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    tag.write_text(address)
    return ca_crt, crt, key_file


def server_ssl_context(state: Path, address: str) -> tuple[ssl.SSLContext, Path]:
    ca_crt, crt, key = ensure_certificates(state / "pki", address)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    return context, ca_crt
