"""The Kubernetes protobuf decoder on bytes built here with a tiny encoder."""

from __future__ import annotations

import base64
import struct

import pytest

from engine.api.protobuf import decode_message, decode_object
from engine.apierrors import APIError

# ----------------------------------------------------------------- encoder


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def num(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def blob(number: int, data: bytes | str) -> bytes:
    data = data.encode() if isinstance(data, str) else data
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes | str) -> bytes:
    """One map entry {key=1, value=2}; a bytes value is an encoded message or bytes field."""
    return blob(number, blob(1, key) + blob(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + blob(1, blob(1, api_version) + blob(2, kind)) + blob(2, raw) + blob(3, "") + blob(4, "")


def decode(name: str, data: bytes):
    return decode_message(name, data, 0, len(data))


# ------------------------------------------------------------------- tests


def test_a_namespace_decodes_like_kubectls_json():
    meta = blob(1, "foo") + blob(2, "") + blob(3, "") + num(7, 0) + blob(8, b"")
    body = envelope("v1", "Namespace", blob(1, meta) + blob(2, b"") + blob(3, b""))
    assert decode_object(body) == {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "foo", "creationTimestamp": None}, "spec": {}, "status": {}}


def test_maps_become_objects_and_empty_map_values_stay():
    meta = entry(11, "app", "web") + entry(11, "tier", "") + entry(12, "note", "hi")
    assert decode("ObjectMeta", meta) == {"labels": {"app": "web", "tier": ""}, "annotations": {"note": "hi"}}


def test_quantities_are_their_strings():
    resources = entry(1, "cpu", blob(1, "500m")) + entry(2, "memory", blob(1, "64Mi"))
    assert decode("ResourceRequirements", resources) == {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}}


def test_times_are_rfc3339_in_utc_and_microtimes_keep_microseconds():
    condition = blob(1, "Ready") + blob(2, "True") + blob(4, num(1, 1700000000) + num(2, 123456789))
    assert decode("PodCondition", condition)["lastTransitionTime"] == "2023-11-14T22:13:20Z"
    assert decode("MicroTime", num(1, 1700000000) + num(2, 123456789)) == "2023-11-14T22:13:20.123456Z"


def test_an_empty_time_is_null():
    assert decode("ObjectMeta", blob(8, b"")) == {"creationTimestamp": None}


def test_int_or_string_is_an_int_or_a_string():
    assert decode("ServicePort", num(3, 80) + blob(4, num(1, 0) + num(2, 8080))) == {"port": 80, "targetPort": 8080}
    assert decode("ServicePort", num(3, 80) + blob(4, num(1, 1) + blob(3, "http"))) == {"port": 80,
                                                                                          "targetPort": "http"}


def test_packed_and_unpacked_repeated_numbers_both_decode():
    packed = blob(4, varint(1000) + varint(2000))
    unpacked = num(4, 1000) + num(4, 2000)
    assert decode("PodSecurityContext", packed) == {"supplementalGroups": [1000, 2000]}
    assert decode("PodSecurityContext", unpacked) == {"supplementalGroups": [1000, 2000]}


def test_negative_numbers_are_ten_byte_varints():
    assert decode("PodSpec", num(25, -5)) == {"priority": -5}


def test_zero_pointer_fields_are_kept_and_zero_plain_fields_dropped():
    spec = num(1, 0) + num(5, 0) + num(7, 0)  # replicas=0 (pointer), minReadySeconds=0, paused=false
    assert decode("DeploymentSpec", spec) == {"replicas": 0}


def test_nested_messages_and_embedded_ones_land_where_json_puts_them():
    container = blob(1, "app") + blob(2, "nginx") + blob(6, num(3, 80) + blob(4, "TCP"))
    probe = blob(1, blob(2, blob(1, "/healthz") + blob(2, num(2, 8080)))) + num(4, 5)
    container += blob(11, probe)
    spec = blob(2, container) + blob(1, blob(1, "data") + blob(2, blob(2, blob(1, "Memory"))))
    assert decode("PodSpec", spec) == {
        "containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}}],
        "volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}],
    }


def test_secret_data_bytes_are_base64():
    body = envelope("v1", "Secret", entry(2, "pw", b"\x00\xffsecret") + blob(3, "Opaque"))
    assert decode_object(body)["data"] == {"pw": base64.b64encode(b"\x00\xffsecret").decode()}


def test_raw_extension_and_fields_v1_hold_json():
    managed = blob(1, "kubectl") + blob(6, "FieldsV1") + blob(7, blob(1, b'{"f:metadata":{}}'))
    assert decode("ManagedFieldsEntry", managed) == {"manager": "kubectl", "fieldsType": "FieldsV1",
                                                     "fieldsV1": {"f:metadata": {}}}
    assert decode("RawExtension", blob(1, b'{"a":[1,2]}')) == {"a": [1, 2]}


def test_doubles_are_fixed_64_bit():
    from engine.api.protobuf import _packed

    data = struct.pack("<dd", 1.5, -2.25)
    assert _packed("double", data, 0, len(data)) == [1.5, -2.25]


def test_a_field_the_schema_does_not_know_is_a_400_naming_it():
    body = envelope("v1", "Namespace", blob(2, blob(9, "x")))
    with pytest.raises(APIError) as err:
        decode_object(body)
    assert err.value.code == 400
    assert "the protobuf body has field 9 of NamespaceSpec which this server does not know" in err.value.message


def test_a_wrong_wire_type_is_a_400():
    with pytest.raises(APIError) as err:
        decode_object(envelope("v1", "Namespace", num(1, 7)))
    assert err.value.code == 400 and "wire type" in err.value.message


def test_truncated_bytes_are_a_400_never_an_exception():
    parts = [b"k8s\x00", blob(1, blob(1, "v1") + blob(2, "Namespace")), blob(2, blob(1, blob(1, "foo")))]
    body = b"".join(parts)
    boundaries = {len(b"".join(parts[:i])) for i in range(len(parts) + 1)}
    for cut in sorted(set(range(5, len(body))) - boundaries):
        with pytest.raises(APIError) as err:
            decode_object(body[:cut])
        assert err.value.code == 400


def test_wrong_magic_is_a_400():
    with pytest.raises(APIError) as err:
        decode_object(b"k9s\x00" + blob(1, b""))
    assert err.value.code == 400 and "magic" in err.value.message


def test_a_kind_without_a_schema_is_a_415_that_points_to_json():
    with pytest.raises(APIError) as err:
        decode_object(envelope("storage.k8s.io/v1", "StorageClass", b""))
    assert err.value.code == 415
    assert "StorageClass" in err.value.message and "application/json" in err.value.message


def test_delete_options_decode_in_any_group_version():
    body = envelope("apps/v1", "DeleteOptions", num(1, 0) + blob(4, "Foreground"))
    assert decode_object(body) == {"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                                   "propagationPolicy": "Foreground"}
