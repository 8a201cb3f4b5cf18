"""The query-parameter wrapper: lists reach the driver's packer unchanged, but formatting the
parameters (which neo4j's Bolt 5 ``run`` does for a debug line on every query) stays cheap."""
from __future__ import annotations

import neo4j._codec.packstream.v1 as packstream

from mllmrec.db import bolt_params


def _packed(value: object) -> bytes:
    """The Bolt bytes of a value, as the driver's (Rust or Python) packer writes them."""
    out = bytearray()

    class Sink:
        def write(self, data: bytes) -> None:
            out.extend(data)

    packstream.Packer(Sink()).pack(value)  # type: ignore[no-untyped-call]
    return bytes(out)


def test_lists_pack_identically_and_format_as_their_length() -> None:
    rows = [{"id": str(i), "vector": [0.25 * i] * 384} for i in range(2_000)]
    params = bolt_params({"rows": rows, "dataset": "d", "k": 10, "ids": ["a", "b"]})
    assert params["rows"] == rows and params["ids"] == ["a", "b"]
    assert (params["dataset"], params["k"]) == ("d", 10)
    assert repr(params["rows"]) == "<list of 2000>"
    assert len(repr(params)) < 100  # what the driver formats: no vector is printed
    assert _packed(params["rows"]) == _packed(rows)
    assert _packed(params["ids"]) == _packed(["a", "b"])
