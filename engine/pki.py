"""The cluster's certificate authority: one CA, the same at every run of the same cluster.

Upstream's cluster CA is made once, at install, and every namespace gets its
certificate in the ConfigMap `kube-root-ca.crt` (the root-ca-cert-publisher,
rules/root-ca-cert-publisher.rules).  That certificate is part of the
recorded history, so recon's CA may not be random: its Ed25519 key is
derived from the cluster's seed (as the service-account token key is), and
Ed25519 signatures are deterministic, so the same seed always gives the same
certificate, byte for byte.  Its validity runs from 2000 to RFC 5280's "no
expiry" date, so no clock, simulated or real, ever sees it expired.

A key anyone can derive from the seed protects nothing, so nothing trusts
it: `--tls` (engine/api/certs.py) serves with a CA of its own, made at
random for the state folder, and the published bundle does not verify that
server (simulated pods never call it).
"""

from __future__ import annotations

import datetime
import hashlib
from functools import lru_cache

# The seed of the cluster's keys (the engine's, the API server's and the token signer's default).
CLUSTER_SEED = "recon"
CA_COMMON_NAME = "recon-ca"

_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


def _digest(purpose: str, seed: str) -> bytes:
    return hashlib.sha256(f"recon cluster CA {purpose}|{seed}".encode()).digest()


@lru_cache(maxsize=4)
def cluster_ca(seed: str = CLUSTER_SEED):
    """(private key, certificate) of the cluster CA of SEED (cryptography objects)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID

    key = ed25519.Ed25519PrivateKey.from_private_bytes(_digest("key", seed))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    serial = int.from_bytes(_digest("serial", seed)[:16], "big") >> 1 or 1  # positive, at most 127 bits
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(public).serial_number(serial)
            .not_valid_before(_NOT_BEFORE).not_valid_after(_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=True, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, None))
    return key, cert


@lru_cache(maxsize=4)
def cluster_ca_pem(seed: str = CLUSTER_SEED) -> str:
    """The PEM of the cluster CA's certificate (what `kube-root-ca.crt` holds as `ca.crt`)."""
    from cryptography.hazmat.primitives import serialization

    return cluster_ca(seed)[1].public_bytes(serialization.Encoding.PEM).decode()
