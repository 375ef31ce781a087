"""Validation of CertificateSigningRequests (certificates.k8s.io/v1).

Worded as upstream's pkg/apis/certificates/validation: `spec.request` is a
PEM "CERTIFICATE REQUEST" block that parses and whose signature checks out;
`spec.usages` is required, each one of the known key usages, none twice;
`spec.signerName` a qualified name `example.com/signer-name`
(ValidateSignerName); `spec.expirationSeconds` at least 600; the conditions'
types unique and present, Approved/Denied/Failed only with status True,
Approved and Denied never together; `status.certificate` PEM CERTIFICATE
blocks only.  An update may not remove an Approved, Denied or Failed
condition; only the `approval` subresource may add or change Approved and
Denied, and only the `status` subresource may set the certificate, once.

As upstream, a stored object that already breaks a rule (written before the
rule existed) may keep breaking it: each relaxation is decided from `old`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import fieldcheck as fc
from .apierrors import FieldError, GoLiteral, duplicate, forbidden, invalid, not_supported, required

GROUP, KIND = "certificates.k8s.io", "CertificateSigningRequest"
LEGACY_SIGNER = "kubernetes.io/legacy-unknown"
APPROVAL_TYPES = ("Approved", "Denied")
_TRUE_ONLY = ("Approved", "Denied", "Failed")
USAGES = tuple(sorted((
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
    "server auth", "client auth", "code signing", "email protection", "s/mime",
    "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
    "microsoft sgc", "netscape sgc")))
_PEM = re.compile(rb"-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----", re.S)
_SUBDOMAIN_MAX, _LABEL_MAX = 253, 63


# ------------------------------------------------------------------ decoding


def decoded(value: Any) -> bytes | None:
    """A `[]byte` field's bytes from its JSON form (base64); None when it is not base64."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def go_bytes(data: bytes) -> GoLiteral:
    """`[]byte{0x2d, 0x2d}`: how upstream's field errors print a byte slice."""
    return GoLiteral("[]byte{" + ", ".join(f"0x{b:x}" for b in data) + "}")


def pem_blocks(data: bytes) -> list[tuple[str, bytes, bool]]:
    """The PEM blocks in `data`: (type, DER bytes, has headers); text around them is skipped."""
    blocks = []
    for match in _PEM.finditer(data):
        body = match.group(2)
        headers = b":" in body.split(b"\n\n", 1)[0] if b"\n\n" in body else False
        if headers:
            body = body.split(b"\n\n", 1)[1]
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            continue  # (Go's pem.Decode passes over a block it cannot read)
        blocks.append((match.group(1).decode("latin-1"), der, headers))
    return blocks


def request_error(data: bytes) -> str | None:
    """Why `data` is not a usable certificate request (certificates.ParseCSR, CheckSignature)."""
    blocks = pem_blocks(data)
    if not blocks or blocks[0][0] != "CERTIFICATE REQUEST":
        return "PEM block type must be CERTIFICATE REQUEST"
    try:
        csr = x509.load_der_x509_csr(blocks[0][1])
    except ValueError as exc:
        return f"x509: malformed certificate request: {exc}"
    try:
        if not csr.is_signature_valid:
            return _signature_failure(csr)
    except (UnsupportedAlgorithm, ValueError, InvalidSignature):
        return "x509: cannot verify signature: algorithm unimplemented"
    return None


def _signature_failure(csr: x509.CertificateSigningRequest) -> str:
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "crypto/rsa: verification error"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "x509: ECDSA verification failure"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "x509: Ed25519 verification failure"
    return "x509: signature verification failure"


def certificate_error(data: bytes) -> str | None:
    """Why `data` is not a chain of PEM CERTIFICATE blocks (validateCertificate); empty is fine."""
    if not data:
        return None
    blocks = pem_blocks(data)
    for kind, der, headers in blocks:
        if kind != "CERTIFICATE":
            return f'only CERTIFICATE PEM blocks are allowed, found "{kind}"'
        if headers:
            return "no PEM block headers are permitted"
        try:
            x509.load_der_x509_certificate(der)
        except ValueError as exc:
            return f"x509: malformed certificate: {exc}"
    if not blocks:
        return "must contain at least one CERTIFICATE PEM block"
    return None


# ---------------------------------------------------------------- the checks


def signer_name_errors(name: Any, path: str = "spec.signerName") -> list[FieldError]:
    """ValidateSignerName: `example.com/signer-name`, a domain of DNS labels and a path of subdomains."""
    if not name:
        return [required(path)]
    if not isinstance(name, str):
        return fc.wrong_type(name, path, "string")
    segments = name.split("/")
    if len(segments) != 2:
        return [invalid(path, name, "must be a fully qualified domain and path of the form "
                                    "'example.com/signer-name'")]
    domain, rest = segments
    errors = []
    if len(domain) > _SUBDOMAIN_MAX:
        errors.append(FieldError("FieldValueTooLong", path, None, f"may not be more than {_SUBDOMAIN_MAX} bytes"))
    labels = domain.split(".")
    for label in labels:
        found = fc.label_errors(label)
        if found:
            errors += [invalid(path, domain, f'validating label "{label}": {m}') for m in found]
            break
    if len(labels) < 2:
        errors.append(invalid(path, domain, "should be a domain with at least two segments separated by dots"))
    for label in rest.split("."):
        found = fc.subdomain_errors(label)
        if found:
            errors += [invalid(path, rest, f'validating label "{label}": {m}') for m in found]
            break
    most = _SUBDOMAIN_MAX + (_SUBDOMAIN_MAX + _LABEL_MAX + 1) + 1
    if len(name) > most:
        errors.append(FieldError("FieldValueTooLong", path, None, f"may not be more than {most} bytes"))
    return errors


def _usage_errors(usages: list, lenient_unknown: bool, lenient_duplicates: bool) -> list[FieldError]:
    if not usages:
        return [required("spec.usages")]
    errors = []
    if not lenient_unknown:
        errors += [not_supported(f"spec.usages[{i}]", u, USAGES) for i, u in enumerate(usages) if u not in USAGES]
    if not lenient_duplicates:
        seen: set = set()
        for i, usage in enumerate(usages):
            if _hashable(usage) in seen:
                errors.append(duplicate(f"spec.usages[{i}]", usage))
            seen.add(_hashable(usage))
    return errors


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def _conditions(csr: Mapping | None) -> list[Mapping]:
    found = ((csr or {}).get("status") or {}).get("conditions") if isinstance(csr, Mapping) else None
    return [c for c in found or () if isinstance(c, Mapping)]


def _types(csr: Mapping | None) -> list[Any]:
    return [c.get("type") for c in _conditions(csr)]


def _condition_errors(csr: Mapping, old: Mapping | None) -> list[FieldError]:
    old_types = _types(old)
    lenient_both = "Approved" in old_types and "Denied" in old_types
    lenient_duplicates = len(set(map(_hashable, old_types))) < len(old_types)
    lenient_empty = old is not None and any(not t for t in old_types)
    errors, seen, approved, denied = [], set(), False, False
    for i, condition in enumerate(_conditions(csr)):
        path, kind, status = f"status.conditions[{i}]", condition.get("type"), condition.get("status")
        if not kind and not lenient_empty:
            errors.append(required(f"{path}.type"))
        allowed = ("True",) if kind in _TRUE_ONLY else ("False", "True", "Unknown")
        if not status:
            errors.append(required(f"{path}.status"))
        elif status not in allowed:
            errors.append(not_supported(f"{path}.status", status, allowed))
        if not lenient_both and kind in APPROVAL_TYPES:
            approved, denied = approved or kind == "Approved", denied or kind == "Denied"
            if approved and denied:
                errors.append(invalid(f"{path}.type", kind, "Approved and Denied conditions are mutually exclusive"))
        if not lenient_duplicates:
            if _hashable(kind) in seen:
                errors.append(duplicate(f"{path}.type", kind))
            seen.add(_hashable(kind))
    return errors


def csr_errors(csr: Mapping, old: Mapping | None, subresource: str | None = None) -> list[FieldError]:
    """Every problem of `csr` (replacing `old`, when given) written through `subresource`."""
    spec = csr.get("spec") if isinstance(csr.get("spec"), Mapping) else {}
    old_spec = old.get("spec") if isinstance(old, Mapping) and isinstance(old.get("spec"), Mapping) else {}
    errors = []
    raw = spec.get("request")
    request = decoded(raw)
    if request is None:
        errors.append(invalid("spec.request", raw, "must be base64-encoded PEM data") if raw else
                      invalid("spec.request", GoLiteral("[]byte(nil)" if raw is None else "[]byte{}"),
                              "PEM block type must be CERTIFICATE REQUEST"))
    else:
        why = request_error(request)
        if why:
            errors.append(invalid("spec.request", go_bytes(request), why))
    usage_errors, usages = fc.items(spec.get("usages"), "spec.usages")
    old_usages = [u for _, u in fc.items(old_spec.get("usages"), "spec.usages")[1]]
    errors += usage_errors + _usage_errors(
        [u for _, u in usages], any(u not in USAGES for u in old_usages),
        len(set(map(_hashable, old_usages))) < len(old_usages))
    signer = spec.get("signerName")
    if signer == LEGACY_SIGNER and old_spec.get("signerName") != LEGACY_SIGNER:
        errors.append(invalid("spec.signerName", signer, "the legacy signerName is not allowed via this API version"))
    elif signer != LEGACY_SIGNER:
        errors += signer_name_errors(signer)
    seconds = spec.get("expirationSeconds")
    if seconds is not None:
        errors += fc.wrong_type(seconds, "spec.expirationSeconds", "integer")
        if fc.is_int(seconds) and seconds < 600:
            errors.append(invalid("spec.expirationSeconds", seconds,
                                  "may not specify a duration less than 600 seconds (10 minutes)"))
    errors += _condition_errors(csr, old)
    return errors + _certificate_errors(csr, old, subresource) + (
        _update_errors(csr, old, subresource) if old is not None else [])


def _certificate(obj: Mapping | None) -> Any:
    status = obj.get("status") if isinstance(obj, Mapping) else None
    return status.get("certificate") if isinstance(status, Mapping) else None


def _certificate_errors(csr: Mapping, old: Mapping | None, subresource: str | None) -> list[FieldError]:
    new_cert = _certificate(csr)
    if old is not None and new_cert == _certificate(old):
        return []  # (an update that leaves the certificate alone is not judged by it)
    if old is not None and _certificate(old) and certificate_error(decoded(_certificate(old)) or b"x"):
        return []
    if new_cert is None:
        return []
    data = decoded(new_cert)
    why = "must be base64-encoded PEM data" if data is None else certificate_error(data)
    return [invalid("status.certificate", "<certificate data>", why)] if why else []


def _update_errors(csr: Mapping, old: Mapping, subresource: str | None) -> list[FieldError]:
    errors = []
    for kind in ("Approved", "Denied", "Failed"):
        if _types(csr).count(kind) < _types(old).count(kind):
            errors.append(forbidden("status.conditions", f'updates may not remove a condition of type "{kind}"'))
    if subresource != "approval":
        for kind in APPROVAL_TYPES:
            before = [c for c in _conditions(old) if c.get("type") == kind]
            after = [c for c in _conditions(csr) if c.get("type") == kind]
            if len(after) > len(before):
                errors.append(forbidden("status.conditions", f'updates may not add a condition of type "{kind}"'))
            elif len(after) == len(before) and after != before:
                errors.append(forbidden("status.conditions", f'updates may not modify a condition of type "{kind}"'))
    if _certificate(csr) != _certificate(old):
        if subresource != "status":
            errors.append(forbidden("status.certificate", "updates may not set certificate content"))
        elif _certificate(old):
            errors.append(forbidden("status.certificate", "updates may not modify existing certificate content"))
    return errors
