"""Query-string values as upstream's handlers read them."""

from __future__ import annotations

TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool, true
