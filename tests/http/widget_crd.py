"""The Widget CustomResourceDefinition (example.com/v1, namespaced) that the field validation tests
check custom resources against, with the spec properties each test module needs."""

from __future__ import annotations


def widget_crd(spec_properties: dict) -> dict:
    """widgets.example.com, its v1 schema an object whose `spec` has `spec_properties`."""
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": spec_properties}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "resourceVersion": "5"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}]}}
