"""How every bench reports: a readable table, then one JSON object as the last line."""

from __future__ import annotations

import json


def print_figures(figures: dict) -> None:
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    print(json.dumps(figures))
