"""A Service's IP family fields, filled when it is written as upstream's initIPFamilyFields
(pkg/registry/core/service/storage/alloc.go) fills them on this single-stack IPv4 cluster."""

from __future__ import annotations

import pytest

from engine.apierrors import APIError
from engine.objects import thaw


def families(svc) -> tuple:
    spec = svc["spec"]
    return (list(spec.get("clusterIPs") or []), list(spec.get("ipFamilies") or []), spec.get("ipFamilyPolicy"))


def test_an_explicit_cluster_ip_gets_its_family_and_a_single_stack_policy_when_created(cluster):
    created = cluster.service("fixed", clusterIP="10.96.5.5")
    assert families(created) == (["10.96.5.5"], ["IPv4"], "SingleStack")


def test_a_service_waiting_for_its_address_has_its_family_already(cluster):
    assert families(cluster.service("auto")) == ([], ["IPv4"], "SingleStack")
    cluster.run()
    assert families(cluster.svc("auto")) == (["10.96.0.2"], ["IPv4"], "SingleStack")


def test_a_headless_service_with_a_selector_is_single_stack(cluster):
    assert families(cluster.service("headless", clusterIP="None")) == (["None"], ["IPv4"], "SingleStack")


def test_a_headless_service_without_a_selector_requires_dual_stack_with_both_families(cluster):
    created = cluster.service("headless", clusterIP="None", selector=None)
    assert families(created) == (["None"], ["IPv4", "IPv6"], "RequireDualStack")


def test_prefer_dual_stack_gets_the_one_family_the_cluster_has_and_keeps_its_policy(cluster):
    created = cluster.service("prefer", ipFamilyPolicy="PreferDualStack")
    assert families(created) == ([], ["IPv4"], "PreferDualStack")
    cluster.run()
    assert families(cluster.svc("prefer")) == (["10.96.0.2"], ["IPv4"], "PreferDualStack")


def test_an_update_without_a_policy_keeps_the_stored_one(cluster):
    cluster.service("prefer", ipFamilyPolicy="PreferDualStack")
    cluster.run()
    body = thaw(cluster.svc("prefer"))
    for field in ("ipFamilyPolicy", "ipFamilies"):
        del body["spec"][field]
    updated = cluster.api.update(cluster.admin, body)
    assert families(updated) == (["10.96.0.2"], ["IPv4"], "PreferDualStack")


@pytest.mark.parametrize("spec, message", [
    ({"ipFamilyPolicy": "RequireDualStack"},
     'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'),
    ({"ipFamilies": ["IPv6"]}, 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'),
    ({"clusterIP": "fd00::10"}, 'spec.clusterIPs[0]: Invalid value: []string{"fd00::10"}: IPv6 is not configured on this cluster'),
])
def test_a_family_the_cluster_does_not_have_is_refused(cluster, spec, message):
    with pytest.raises(APIError) as err:
        cluster.service("bad", **spec)
    assert err.value.code == 422 and message in err.value.message, err.value.message
