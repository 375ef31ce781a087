"""Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

client-go's typed clients (kubectl create, run, auth can-i, drain …) send
their bodies as protobuf: the 4-byte magic `k8s\\x00`, then a
`runtime.Unknown` message (typeMeta{apiVersion=1, kind=2}=1, raw=2,
contentEncoding=3, contentType=4) whose `raw` is the object encoded with its
kind's message schema (`protoschema.py`).  `decode_object` turns such a body
into the same JSON-shaped dict the JSON path produces, so the create and
update code runs unchanged.

The wire format (proto2, as gogo-protobuf writes it): every field is a key
varint `number << 3 | wiretype` then a varint (0), 8 bytes (1), a
length-prefixed run of bytes (2) or 4 bytes (5).  Repeated numbers come
packed (one run) or one per key; a map is a repeated entry message
{key=1, value=2}.  gogo writes non-pointer scalars even when zero, so the
schema says which zero values JSON would keep (`!`) and which it omits.

Anything this decoder cannot account for is a 400 Status naming the field,
never a silent loss: a field number missing from the schema, a wrong wire
type, truncated bytes.  A kind without a schema is a 415 that points to JSON.
"""

from __future__ import annotations

import base64
import datetime
import struct
from typing import Any

import orjson

from ..apierrors import APIError, bad_request
from .protoschema import MESSAGES, SPECIALS, Field, message_for

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5
_NUMERIC = frozenset({"int32", "int64", "bool", "double", "float"})
_WIRE_OF = {"int32": VARINT, "int64": VARINT, "bool": VARINT, "double": FIXED64, "float": FIXED32,
            "string": BYTES, "bytes": BYTES}


class Malformed(Exception):
    """The bytes are not a well-formed message of the expected schema."""


# ------------------------------------------------------------------ wire format


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it."""
    value = shift = 0
    while True:
        if pos >= end:
            raise Malformed("the body ends inside a varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise Malformed("a varint is longer than 10 bytes")


def read_fields(buf: bytes, pos: int, end: int):
    """(number, wire type, value) for each field in buf[pos:end]; a BYTES value is its (start, end)."""
    while pos < end:
        key, pos = read_varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Malformed("a field has number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end)
        elif wire == FIXED64 or wire == FIXED32:
            size = 8 if wire == FIXED64 else 4
            if pos + size > end:
                raise Malformed(f"the body ends inside field {number}")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == BYTES:
            size, pos = read_varint(buf, pos, end)
            if pos + size > end:
                raise Malformed(f"the body ends inside field {number} ({size} bytes announced)")
            value, pos = (pos, pos + size), pos + size
        else:
            raise Malformed(f"field {number} has wire type {wire}, which Kubernetes never uses")
        yield number, wire, value


def _signed(value: int, bits: int = 64) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32 and not -(1 << 31) <= value < 1 << 31:
        value = (value + (1 << 31)) % (1 << 32) - (1 << 31)
    return value


# ----------------------------------------------------------------- decoding


def _scalar(kind: str, value: Any, buf: bytes) -> Any:
    if kind in ("int32", "int64"):
        return _signed(value, 32 if kind == "int32" else 64)
    if kind == "bool":
        return value != 0
    if kind == "double":
        return struct.unpack("<d", value)[0]
    if kind == "float":
        return struct.unpack("<f", value)[0]
    data = buf[value[0]:value[1]]
    if kind == "bytes":
        return base64.b64encode(data).decode()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("a string field is not valid UTF-8") from None


def _packed(kind: str, buf: bytes, start: int, end: int) -> list:
    """The numbers of one packed run."""
    out = []
    if kind in ("double", "float"):
        size = 8 if kind == "double" else 4
        if (end - start) % size:
            raise Malformed("a packed run of fixed-size numbers has a stray byte")
        for at in range(start, end, size):
            out.append(_scalar(kind, buf[at:at + size], buf))
        return out
    pos = start
    while pos < end:
        value, pos = read_varint(buf, pos, end)
        out.append(_scalar(kind, value, buf))
    return out


def _time(buf: bytes, start: int, end: int, micro: bool) -> str | None:
    """metav1.Time / MicroTime {seconds=1, nanos=2} as upstream marshals them (null when zero)."""
    seconds = nanos = 0
    for number, wire, value in read_fields(buf, start, end):
        if number in (1, 2) and wire == VARINT:
            if number == 1:
                seconds = _signed(value)
            else:
                nanos = _signed(value, 32)
        else:
            raise Malformed(f"the protobuf body has field {number} of {'MicroTime' if micro else 'Time'} "
                            "which this server does not know")
    if start == end:
        return None
    try:
        moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise Malformed(f"a timestamp is out of range ({seconds} seconds)") from None
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# field number → wire type of the special types' messages (Quantity {string=1}, IntOrString {type, intVal,
# strVal}, RawExtension and FieldsV1 {raw bytes=1}, authorization's ExtraValue {repeated string items=1})
_SPECIAL_FIELDS = {"Quantity": {1: BYTES}, "IntOrString": {1: VARINT, 2: VARINT, 3: BYTES},
                   "RawExtension": {1: BYTES}, "FieldsV1": {1: BYTES}, "ExtraValue": {1: BYTES}}


def _special(kind: str, buf: bytes, start: int, end: int) -> Any:
    if kind in ("Time", "MicroTime"):
        return _time(buf, start, end, kind == "MicroTime")
    fields = {}
    repeated: list = []
    expected = _SPECIAL_FIELDS[kind]
    for number, wire, value in read_fields(buf, start, end):
        if number not in expected:
            raise Malformed(f"the protobuf body has field {number} of {kind} which this server does not know")
        if wire != expected[number]:
            raise Malformed(f"field {number} of {kind} has wire type {wire}, expected {expected[number]}")
        if kind == "ExtraValue":
            repeated.append(_scalar("string", value, buf))
        fields[number] = value
    if kind == "Quantity":
        return _scalar("string", fields[1], buf) if 1 in fields else "0"
    if kind == "IntOrString":
        if fields.get(1, 0) == 1:
            return _scalar("string", fields[3], buf) if 3 in fields else ""
        return _signed(fields.get(2, 0), 32)
    if kind == "ExtraValue":
        return repeated
    raw = buf[fields[1][0]:fields[1][1]] if 1 in fields else b""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"the raw JSON inside a {kind} is not valid: {exc}") from None


def _value(field: Field, wire: int, value: Any, buf: bytes, where: str) -> Any:
    """One non-repeated occurrence of `field`."""
    if field.scalar:
        if wire != _WIRE_OF[field.type]:
            raise Malformed(f"field {field.number} ({field.name}) has wire type {wire}, expected "
                            f"{_WIRE_OF[field.type]} for {field.type} (at {where})")
        return _scalar(field.type, value, buf)
    if wire != BYTES:
        raise Malformed(f"field {field.number} ({field.name or field.type}) has wire type {wire}, expected a "
                        f"message (at {where})")
    return decode_message(field.type, buf, value[0], value[1], where)


def _map_entry(field: Field, buf: bytes, start: int, end: int, where: str) -> tuple[str, Any]:
    key, found = "", None
    for number, wire, value in read_fields(buf, start, end):
        if number == 1 and wire == BYTES:
            key = _scalar("string", value, buf)
        elif number == 2:
            found = _value(field, wire, value, buf, f"{where}[{key!r}]")
        else:
            raise Malformed(f"a map entry of {field.name} has field {number} with wire type {wire} (at {where})")
    if found is None:  # an entry without a value holds the value type's zero
        if field.scalar:
            found = {"string": "", "bytes": "", "bool": False}.get(field.type, 0)
        else:
            found = decode_message(field.type, buf, end, end, where)
    return key, found


def decode_message(name: str, buf: bytes, start: int, end: int, where: str = "") -> Any:
    """The JSON-shaped value of message `name` in buf[start:end]."""
    if name in SPECIALS:
        return _special(name, buf, start, end)
    message = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire, value in read_fields(buf, start, end):
        field = message.fields.get(number)
        if field is None:
            raise Malformed(f"the protobuf body has field {number} of {name} which this server does not know"
                            + (f" (at {where})" if where else ""))
        path = f"{where}.{field.name}" if where and field.name else (field.name or where)
        if field.inline:
            out.update(_value(field, wire, value, buf, where))
        elif field.map:
            if wire != BYTES:
                raise Malformed(f"field {number} ({field.name}) of {name} is a map but has wire type {wire}")
            key, item = _map_entry(field, buf, value[0], value[1], path)
            out.setdefault(field.name, {})[key] = item
        elif field.repeated:
            items = out.setdefault(field.name, [])
            if wire == BYTES and field.type in _NUMERIC:
                items.extend(_packed(field.type, buf, value[0], value[1]))
            else:
                items.append(_value(field, wire, value, buf, f"{path}[{len(items)}]"))
        else:
            out[field.name] = _value(field, wire, value, buf, path)
    for field in message.fields.values():
        if field.scalar and not field.keep_zero and not field.repeated and not field.map \
                and field.name in out and out[field.name] in ("", 0, False):
            del out[field.name]
    return out


# ------------------------------------------------------------------ envelope


def _unknown(body: bytes) -> tuple[str, str, bytes, str]:
    """runtime.Unknown: (apiVersion, kind, raw, contentEncoding)."""
    api_version = kind = encoding = ""
    raw = b""
    for number, wire, value in read_fields(body, len(MAGIC), len(body)):
        if wire != BYTES or number not in (1, 2, 3, 4):
            raise Malformed(f"the protobuf body has field {number} of Unknown which this server does not know")
        if number == 1:
            for inner, inner_wire, text in read_fields(body, value[0], value[1]):
                if inner not in (1, 2) or inner_wire != BYTES:
                    raise Malformed(f"the protobuf body has field {inner} of TypeMeta which this server does not know")
                if inner == 1:
                    api_version = _scalar("string", text, body)
                else:
                    kind = _scalar("string", text, body)
        elif number == 2:
            raw = body[value[0]:value[1]]
        elif number == 3:
            encoding = _scalar("string", value, body)
    return api_version, kind, raw, encoding


def decode_object(body: bytes) -> dict:
    """A protobuf request body as the JSON-shaped object (400 when malformed, 415 for a kind without a schema)."""
    if not body.startswith(MAGIC):
        raise bad_request("the protobuf body does not start with the Kubernetes magic bytes k8s\\x00")
    try:
        api_version, kind, raw, encoding = _unknown(body)
        if encoding:
            raise APIError("UnsupportedMediaType", f"protobuf bodies with contentEncoding {encoding!r} are not "
                           "supported; send the object uncompressed or as application/json", code=415)
        name = message_for(api_version, kind)
        if name is None:
            raise APIError("UnsupportedMediaType", f"this server does not support protobuf for {kind or 'an object'}"
                           f" ({api_version or 'no apiVersion'}); send it as application/json", code=415)
        doc = {"apiVersion": api_version, "kind": kind}
        doc.update(decode_message(name, raw, 0, len(raw)))
        return doc
    except Malformed as exc:
        raise bad_request(f"the request body is not a valid protobuf object: {exc}") from None
    except RecursionError:
        raise bad_request("the request body is not a valid protobuf object: it nests too deeply") from None
