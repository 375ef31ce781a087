"""What upstream's storage helpers answer about classes, claims and volumes.

`is_default_class` (storageutil.IsDefaultAnnotation), `claim_class`
(GetPersistentVolumeClaimClass) and `volume_class` (GetPersistentVolumeClass):
the beta annotation, where present, wins over `spec.storageClassName`.
"""

from __future__ import annotations

from collections.abc import Mapping

from .objects import get_path

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


def is_default_class(storage_class: Mapping) -> bool:
    """Either default-class annotation says "true"."""
    annotations = get_path(storage_class, "metadata", "annotations") or {}
    return any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


def claim_class(obj: Mapping) -> str:
    """The class a claim (or volume) asks for: the beta annotation, else spec.storageClassName, else ""."""
    annotations = get_path(obj, "metadata", "annotations") or {}
    if BETA_STORAGE_CLASS in annotations:
        return annotations[BETA_STORAGE_CLASS] or ""
    return get_path(obj, "spec", "storageClassName") or ""


volume_class = claim_class  # (the same lookup on a PersistentVolume)
