"""rules/root-ca-cert-publisher.rules (upstream rootcacertpublisher) and the cluster CA it publishes."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from engine import pki

NAME = "kube-root-ca.crt"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


@pytest.fixture
def publisher(controller_cluster):
    controller_cluster.load("root-ca-cert-publisher")
    return controller_cluster


def test_every_active_namespace_gets_the_ca_bundle(publisher):
    assert publisher.run().converged
    found = sorted((c["metadata"]["namespace"], c["metadata"]["name"]) for c in publisher.list("ConfigMap", None))
    assert found == [(n, NAME) for n in ("default", "demo", "kube-node-lease", "kube-public", "kube-system")]
    cm = publisher.get("ConfigMap", NAME)
    assert dict(cm["data"]) == {"ca.crt": pki.cluster_ca_pem()}
    assert dict(cm["metadata"]["annotations"]) == {"kubernetes.io/description": DESCRIPTION}


def test_the_bundle_is_a_self_signed_ca_certificate_that_is_the_same_at_every_run():
    cert = x509.load_pem_x509_certificate(pki.cluster_ca_pem().encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == cert.subject
    public = cert.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(cert.signature, cert.tbs_certificate_bytes)  # raises when not self-signed
    pki.cluster_ca.cache_clear()
    pki.cluster_ca_pem.cache_clear()
    assert x509.load_pem_x509_certificate(pki.cluster_ca_pem().encode()) == cert
    assert pki.cluster_ca_pem("another-cluster") != pki.cluster_ca_pem()


def test_a_new_namespace_gets_it_and_a_deleted_one_is_made_again(publisher):
    assert publisher.run().converged
    publisher.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    publisher.delete("ConfigMap", NAME)
    assert publisher.run().converged
    assert publisher.get("ConfigMap", NAME, "shop")["data"]["ca.crt"] == pki.cluster_ca_pem()
    assert publisher.get("ConfigMap", NAME)["data"]["ca.crt"] == pki.cluster_ca_pem()


def test_edited_data_is_restored_with_its_description_and_other_metadata_is_kept(publisher):
    assert publisher.run().converged
    publisher.patch("ConfigMap", NAME, {"data": {"ca.crt": "forged", "extra": "x"},
                                         "metadata": {"labels": {"team": "a"},
                                                      "annotations": {"kubernetes.io/description": "mine",
                                                                      "note": "kept"}}})
    assert publisher.run().converged
    cm = publisher.get("ConfigMap", NAME)
    assert dict(cm["data"]) == {"ca.crt": pki.cluster_ca_pem()}
    assert dict(cm["metadata"]["annotations"]) == {"kubernetes.io/description": DESCRIPTION, "note": "kept"}
    assert dict(cm["metadata"]["labels"]) == {"team": "a"}


def test_another_description_is_kept_while_the_data_is_right_and_an_empty_one_is_restored(publisher):
    # upstream updates only when the data differ or the description is empty
    assert publisher.run().converged
    publisher.patch("ConfigMap", NAME, {"metadata": {"annotations": {"kubernetes.io/description": "mine"}}})
    assert publisher.run().converged
    assert publisher.get("ConfigMap", NAME)["metadata"]["annotations"]["kubernetes.io/description"] == "mine"
    publisher.patch("ConfigMap", NAME, {"metadata": {"annotations": {"kubernetes.io/description": None}}})
    assert publisher.run().converged
    assert publisher.get("ConfigMap", NAME)["metadata"]["annotations"]["kubernetes.io/description"] == DESCRIPTION


def test_a_terminating_namespace_does_not_get_it_back(controller_cluster):
    controller_cluster.load("root-ca-cert-publisher", "namespace", "garbage-collector")
    assert controller_cluster.run().converged
    controller_cluster.delete("Namespace", "demo", "")
    assert controller_cluster.run().converged
    assert controller_cluster.get("Namespace", "demo", "") is None
    assert controller_cluster.list("ConfigMap", "demo") == []
