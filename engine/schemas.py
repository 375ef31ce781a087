"""The built-in kinds' OpenAPI definitions (engine/api/schemas.json.gz), read once.

Below the API layer: the API server's decode (engine/request.py) walks them
to store what upstream's typed decode stores, and the HTTP layer
(engine/api/discovery.py, fieldvalidation.py) serves and checks with them.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

SCHEMAS_FILE = Path(__file__).with_name("api") / "schemas.json.gz"
REF = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.cache
def builtin_schemas() -> dict[str, Any]:
    """Every built-in definition by its upstream name."""
    return json.loads(gzip.decompress(SCHEMAS_FILE.read_bytes()))["definitions"]
