"""Primitives of the kube-controller-manager rules: kinds of references, ports, tokens.

The small helpers upstream's controllers share: a reference's group and
kind (for the garbage collector's owner lookups), `podutil.FindPort` (how
the endpoints controllers resolve a Service's targetPort in a pod), base64
(Secret data), the legacy service-account token the token controller
puts in a `kubernetes.io/service-account-token` Secret, and the cluster CA's
certificate the root-ca-cert-publisher puts in every namespace.  The controllers
themselves are rules in rules/.

Tokens are JWTs with upstream's legacy claims (issuer
`kubernetes/serviceaccount`, the namespace, service account name and uid,
and the secret name), signed HS256 with a key derived from a seed instead of
upstream's RS256 service-account key, so that the same cluster always issues
the same token and a replay reproduces it.  `verify_sa_token` is the check
the HTTP API's authenticator uses.
"""

from __future__ import annotations

import base64 as _b64
import hashlib
import hmac
import json
from collections.abc import Mapping

from engine import pki

from .builtins import _dig, _section, builtin

# The seed of the token signing key (the engine's and the API server's default seed).
TOKEN_SEED = "recon"
LEGACY_ISSUER = "kubernetes/serviceaccount"
_CLAIM = "kubernetes.io/serviceaccount/"


_section("Objects and references")


@builtin()
def kind_of(obj):
    """The kind of an object or an ownerReference as rules write it: group/Kind, the core group bare.

    kind_of(rs) → "apps/ReplicaSet"
    kind_of(pod.metadata.ownerReferences[0]) → "apps/ReplicaSet"
    kind_of({"apiVersion": "v1", "kind": "Node"}) → "Node"
    """
    kind = _dig(obj, "kind")
    if kind is None:
        return None
    group = str(_dig(obj, "apiVersion") or "").rpartition("/")[0]
    return f"{group}/{kind}" if group else kind


_section("Services and endpoints")


def _container_ports(pod: Mapping):
    spec = _dig(pod, "spec") or {}
    for container in spec.get("containers") or ():
        yield from container.get("ports") or ()
    for container in spec.get("initContainers") or ():
        if container.get("restartPolicy") == "Always":  # sidecars serve ports too
            yield from container.get("ports") or ()


@builtin()
def find_port(pod, service_port):
    """The pod port a Service port targets (podutil.FindPort), or null when the pod has none.

    A number targetPort is used as is; a named one is the containerPort of that
    name and the Service port's protocol (sidecar containers included).

    find_port(pod, {"port": 80, "targetPort": "http", "protocol": "TCP"}) → 8080
    find_port(pod, {"port": 80, "targetPort": 9376}) → 9376
    """
    target = _dig(service_port, "targetPort")
    if target is None:
        target = _dig(service_port, "port")
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if not isinstance(target, str):
        return None
    protocol = _dig(service_port, "protocol") or "TCP"
    for port in _container_ports(pod):
        if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
            return port.get("containerPort")
    return None


_section("Secrets, tokens and certificates")


@builtin("base64")
def base64_(value):
    """VALUE (a string) base64-encoded as Secret data holds it; null stays null.

    base64("demo") → "ZGVtbw=="
    """
    if value is None:
        return None
    return _b64.b64encode(str(value).encode()).decode()


def _b64url(data: bytes) -> str:
    return _b64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return _b64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(seed: str = TOKEN_SEED) -> bytes:
    return hashlib.sha256(f"recon service-account signing key|{seed}".encode()).digest()


def _sign(signing_input: str, seed: str) -> str:
    return _b64url(hmac.new(signing_key(seed), signing_input.encode(), hashlib.sha256).digest())


def legacy_token(namespace: str, sa_name: str, sa_uid: str, secret_name: str, seed: str = TOKEN_SEED) -> str:
    """A legacy service-account JWT (serviceaccount.LegacyClaims), HS256 with the seed's key."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "iss": LEGACY_ISSUER,
        _CLAIM + "namespace": namespace,
        _CLAIM + "secret.name": secret_name,
        _CLAIM + "service-account.name": sa_name,
        _CLAIM + "service-account.uid": sa_uid,
        "sub": f"system:serviceaccount:{namespace}:{sa_name}",
    }
    parts = [_b64url(json.dumps(p, separators=(",", ":"), sort_keys=True).encode()) for p in (header, claims)]
    signing_input = ".".join(parts)
    return f"{signing_input}.{_sign(signing_input, seed)}"


def verify_sa_token(token: str, seed: str = TOKEN_SEED) -> dict | None:
    """The claims of a token `sa_token` issued with SEED's key, or None when it is not one.

    The caller still checks, as upstream's legacy authenticator does, that the
    Secret and the ServiceAccount named in the claims exist and match.
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    signing_input = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(signing_input, seed), parts[2]):
        return None
    try:
        claims = json.loads(_unb64url(parts[1]))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("iss") != LEGACY_ISSUER:
        return None
    return claims


@builtin()
def cluster_ca():
    """The PEM certificate of the cluster's CA (engine/pki.py): what `kube-root-ca.crt` publishes.

    Derived from the cluster's seed, so every run of the cluster, and its replay, has the same one.

    cluster_ca() → "-----BEGIN CERTIFICATE-----\\nMIIBJzCB2qADAgECAhAN5++w8qPG…"
    """
    return pki.cluster_ca_pem()


@builtin()
def sa_token(sa, secret_name):
    """The legacy token of service account SA kept in the Secret SECRET_NAME (a JWT, deterministic).

    sa_token(sa, "build-robot-secret") → "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOi…"
    """
    meta = _dig(sa, "metadata") or {}
    if not meta.get("uid") or secret_name is None:
        return None
    return legacy_token(meta.get("namespace") or "", meta.get("name") or "", meta["uid"], str(secret_name))
