"""Scheduling primitives: resource amounts in the scheduler's units, node selector terms, images.

These are the small pieces kube-scheduler's plugins share
(`pkg/scheduler/framework/types.go` Resource, `component-helpers/scheduling/
corev1/nodeaffinity`, ImageLocality's image names); the plugins themselves
are rules in rules/scheduler/.

Resource amounts are plain ints as upstream keeps them: cpu in millicores,
everything else in whole units (bytes for memory), rounded up.  They are
cached per object (objects are immutable; the cache keeps the object it
describes, so an id is never reused while cached), so a rule that sums
the requests of a node's pods on every attempt does not parse quantities
again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyrsistent import pmap

from engine.quantity import Quantity, pod_requests as _pod_requests

from .builtins import _dig, _freeze, _is_map, _section, _seq, builtin

_section("Scheduling")

# The requests the scheduler's scoring assumes for a container without any
# (upstream DefaultMilliCPURequest, DefaultMemoryRequest).
NON_ZERO_DEFAULTS = {"cpu": "100m", "memory": str(200 * 1024 * 1024)}
_CACHE_LIMIT = 200_000
_pod_cache: dict[int, tuple[Mapping, Mapping]] = {}  # id(pod) → (pod, units): per object version
_pod_cache_nz: dict[int, tuple[Mapping, Mapping]] = {}
_map_cache: dict[int, tuple[Mapping, Mapping]] = {}
_parts_cache: dict[tuple, tuple[tuple, Mapping]] = {}  # ids of a spec's request parts → (parts, units)
# The sum over one list object (lists of pods are never changed in place:
# rule values are immutable), e.g. the scheduler's cached "pods on node n7".
_LIST_CACHE_LIMIT = 20_000
_list_cache: dict[tuple, tuple[Sequence, Mapping]] = {}


def _units(name: str, amount: object) -> int:
    q = amount if isinstance(amount, Quantity) else Quantity(amount)
    return q.milli() if name == "cpu" else q.value()


def _units_map(quantities: Mapping) -> Mapping:
    return pmap({name: _units(name, amount) for name, amount in quantities.items() if amount is not None})


def request_units(pod: Mapping, non_zero: bool = False) -> Mapping:
    """A pod's effective requests in the scheduler's units (cpu in millicores, the rest in whole
    units), kept per pod version and per request parts (`pod_units`; the kubelet's admission)."""
    cache = _pod_cache_nz if non_zero else _pod_cache
    found = cache.get(id(pod))
    if found is not None and found[0] is pod:
        return found[1]
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
        _parts_cache.clear()
    # a new version of a pod (bound, its status written) keeps the parts its requests come from,
    # and the replicas of one template share them (objects.freeze shares equal parts)
    spec = pod.get("spec") or {}
    parts = (spec.get("containers"), spec.get("initContainers"), spec.get("overhead"), non_zero)
    key = tuple(map(id, parts))
    known = _parts_cache.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], parts)):
        result = known[1]
    else:
        result = _units_map(_pod_requests(pod, NON_ZERO_DEFAULTS if non_zero else None))
        _parts_cache[key] = (parts, result)
    cache[id(pod)] = (pod, result)
    return result


@builtin()
def pod_units(pods, non_zero=False):
    """A pod's effective requests (or the sum over a list of pods) in the scheduler's units: cpu in millicores, the rest in whole units; NON_ZERO assumes 100m cpu and 200Mi memory for containers that request none (scoring).

    pod_units(pod).cpu → 250
    pod_units(Pod where it.spec.nodeName == node.name).memory → 268435456
    pod_units(pod, true).cpu → 100
    """
    if pods is None:
        return pmap()
    if _is_map(pods):
        return request_units(pods, bool(non_zero))
    found = _list_cache.get((id(pods), bool(non_zero)))
    if found is not None and found[0] is pods:
        return found[1]
    total: dict[str, int] = {}
    for pod in _seq(pods):
        for name, amount in request_units(pod, bool(non_zero)).items():
            total[name] = total.get(name, 0) + amount
    result = pmap(total)
    if isinstance(pods, tuple) or type(pods) is list:  # e.g. a query's answer, kept across attempts
        if len(_list_cache) > _LIST_CACHE_LIMIT:
            _list_cache.clear()
        _list_cache[(id(pods), bool(non_zero))] = (pods, result)
    return result


@builtin()
def units(quantities):
    """A map of quantities (e.g. a node's status.allocatable) in the scheduler's units: cpu in millicores, the rest in whole units.

    units(node.status.allocatable).cpu → 4000
    units({"memory": "1Gi"}).memory → 1073741824
    """
    if quantities is None:
        return pmap()
    found = _map_cache.get(id(quantities))
    if found is not None and found[0] is quantities:
        return found[1]
    if len(_map_cache) > _CACHE_LIMIT:
        _map_cache.clear()
    result = _units_map(quantities)
    _map_cache[id(quantities)] = (quantities, result)
    return result


# -- node selector terms -------------------------------------------------------------------


def _int64(text: object) -> int | None:
    try:
        return int(str(text), 10)
    except ValueError:
        return None


def _requirement(expr: Mapping, labels: Mapping) -> bool:
    """One NodeSelectorRequirement, as upstream's nodeSelectorRequirementsAsSelector / Match."""
    key, op, values = expr.get("key") or "", expr.get("operator") or "", tuple(expr.get("values") or ())
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if len(values) != 1 or not present:
            return False
        bound, have = _int64(values[0]), _int64(labels[key])
        if bound is None or have is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False  # an unknown operator: the term is invalid and matches nothing


@builtin()
def node_term_matches(term, node):
    """Whether a NodeSelectorTerm selects NODE: its matchExpressions (on labels) and matchFields (metadata.name) all hold; an empty term selects nothing.

    node_term_matches({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, node) → true
    node_term_matches({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}, node) → true
    """
    if not _is_map(term) or node is None:
        return False
    expressions = _seq(term.get("matchExpressions"))
    fields = _seq(term.get("matchFields"))
    if not expressions and not fields:
        return False
    labels = _dig(node, "metadata", "labels") or {}
    if not all(_requirement(e, labels) for e in expressions):
        return False
    field_values = {"metadata.name": _dig(node, "metadata", "name")}
    for f in fields:
        if f.get("key") != "metadata.name" or f.get("operator") not in ("In", "NotIn"):
            return False  # upstream accepts only metadata.name with In / NotIn
        if not _requirement(f, field_values):
            return False
    return True


@builtin()
def volume_admits(volume, node):
    """Whether a PersistentVolume's nodeAffinity admits NODE: one of its required nodeSelectorTerms selects it; a volume without required affinity admits every node.

    volume_admits({"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}}, node) → true
    """
    required = _dig(volume, "spec", "nodeAffinity", "required")
    if required is None:
        return True
    return any(node_term_matches(term, node) for term in _seq(_dig(required, "nodeSelectorTerms")))


def _topology_admits(topologies: object, labels: Mapping) -> bool:
    """A StorageClass's allowedTopologies admit a node with `labels` (none given: every node)."""
    terms = _seq(topologies)
    return not terms or any(
        _seq(_dig(t, "matchLabelExpressions"))
        and all(labels.get(e.get("key")) in _seq(e.get("values")) for e in _seq(_dig(t, "matchLabelExpressions")))
        for t in terms)


def volume_order(volume: Mapping) -> tuple:
    """The order a claim's candidate volumes are tried in: the smallest first, then by name."""
    return Quantity(_dig(volume, "spec", "capacity", "storage") or 0), _dig(volume, "metadata", "name") or ""


@builtin()
def unmet_claims(late, node):
    """The places in LATE of the WaitForFirstConsumer claims NODE cannot meet, the pod's claims taking distinct volumes (upstream's FindPodVolumes).

    Each item of LATE is one claim: {request, selected, reserved, free, provisions, topologies} (its storage request, its volume.kubernetes.io/selected-node, the volume reserved for it by claimRef, the free volumes that fit it, whether its class provisions, the class's allowedTopologies).  The claims are taken smallest request first: one with a selected node is met there only, by provisioning; else its reserved volume if that admits the node; else the smallest free volume that admits the node and no claim before it took; else provisioning, where the class's topologies admit the node.

    unmet_claims([{request: "1Gi", free: [v], provisions: false}, {request: "1Gi", free: [v], provisions: false}], node) → [1]
    """
    labels = _dig(node, "metadata", "labels") or {}
    name = _dig(node, "metadata", "name")
    items = list(_seq(late))
    taken: set = set()
    unmet = []
    for i in sorted(range(len(items)), key=lambda i: Quantity(_dig(items[i], "request") or 0)):
        claim = items[i]
        provisions = bool(_dig(claim, "provisions")) and _topology_admits(_dig(claim, "topologies"), labels)
        selected, reserved = _dig(claim, "selected"), _dig(claim, "reserved")
        if selected is not None:
            met = provisions and selected == name
        elif reserved is not None:
            met = volume_admits(reserved, node) or provisions
        else:
            pick = next((v for v in sorted(_seq(_dig(claim, "free")), key=volume_order)
                         if _dig(v, "metadata", "name") not in taken and volume_admits(v, node)), None)
            if pick is not None:
                taken.add(_dig(pick, "metadata", "name"))
            met = pick is not None or provisions
        if not met:
            unmet.append(i)
    return unmet


# -- images --------------------------------------------------------------------------------


@builtin()
def normalized_image(name):
    """An image name as ImageLocality compares them: ":latest" added when it has no tag.

    normalized_image("nginx") → "nginx:latest"
    normalized_image("registry:5000/app") → "registry:5000/app:latest"
    """
    if not isinstance(name, str):
        return name
    if name.rfind(":") <= name.rfind("/") and "@" not in name:
        return name + ":latest"
    return name


_image_cache: dict[int, tuple[Sequence, Mapping]] = {}


def _node_images(node: Mapping) -> Mapping:
    images = _dig(node, "status", "images")
    if not images:
        return pmap()
    found = _image_cache.get(id(images))
    if found is not None and found[0] is images:
        return found[1]
    sizes = {}
    for image in images:
        for name in image.get("names") or ():
            sizes[normalized_image(name)] = int(image.get("sizeBytes") or 0)
    if len(_image_cache) > _CACHE_LIMIT:
        _image_cache.clear()
    result = pmap(sizes)
    _image_cache[id(images)] = (images, result)
    return result


@builtin()
def image_size(node, image):
    """The size in bytes of IMAGE (normalized) among NODE's status.images, or null when the node does not have it.

    image_size(node, "nginx:1.27") → 67108864
    """
    if node is None or not isinstance(image, str):
        return None
    return _node_images(node).get(normalized_image(image))


# -- topology spread and inter-pod affinity ----------------------------------------------

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"


@builtin()
def tally(values, weights=None):
    """How many times each value occurs in a list (nulls skipped): a map from value to count; with WEIGHTS (a list as long), the sum of each value's weights.

    tally(["a", "b", "a", null]) → {"a": 2, "b": 1}
    tally(["a", "b", "a"], [5, 1, -2]) → {"a": 3, "b": 1}
    """
    counts: dict = {}
    weights = _seq(weights) if weights is not None else None
    for i, value in enumerate(_seq(values)):
        if value is not None:
            counts[value] = counts.get(value, 0) + (1 if weights is None else weights[i])
    return counts  # a plain dict, like a map literal's: a table that is looked up often


@builtin()
def required_node_affinity_matches(pod, node):
    """Whether NODE passes POD's nodeSelector and required node affinity terms (GetRequiredNodeAffinity(pod).Match).

    required_node_affinity_matches(pod, node) → true
    """
    selector = _dig(pod, "spec", "nodeSelector")
    labels = _dig(node, "metadata", "labels") or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        return False
    required = _dig(pod, "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    return any(node_term_matches(term, node) for term in _seq(_dig(required, "nodeSelectorTerms")))


def _with_match_label_keys(constraint: Mapping, pod: Mapping) -> Mapping | None:
    selector = constraint.get("labelSelector")
    labels = _dig(pod, "metadata", "labels") or {}
    extra = [{"key": k, "operator": "In", "values": [labels[k]]}
             for k in _seq(constraint.get("matchLabelKeys")) if k in labels]
    if not extra:
        return selector
    selector = dict(selector or {})
    selector["matchExpressions"] = [*_seq(selector.get("matchExpressions")), *extra]
    return _freeze(selector)


@builtin()
def spread_constraints(pod, when_unsatisfiable):
    """POD's topologySpreadConstraints with whenUnsatisfiable WHEN_UNSATISFIABLE, as PodTopologySpread reads them: `selector` is the labelSelector with the matchLabelKeys of the pod's labels added, and minDomains (1), nodeAffinityPolicy (Honor) and nodeTaintsPolicy (Ignore) are filled in.

    spread_constraints(pod, "DoNotSchedule")[0].selector → {"matchLabels": {"app": "web"}}
    """
    result = []
    for c in _seq(_dig(pod, "spec", "topologySpreadConstraints")):
        if c.get("whenUnsatisfiable") != when_unsatisfiable:
            continue
        result.append(pmap({
            "topologyKey": c.get("topologyKey"), "maxSkew": int(c.get("maxSkew") or 0),
            "minDomains": int(c.get("minDomains") or 1),
            "nodeAffinityPolicy": c.get("nodeAffinityPolicy") or "Honor",
            "nodeTaintsPolicy": c.get("nodeTaintsPolicy") or "Ignore",
            "selector": _with_match_label_keys(c, pod)}))
    return tuple(result)


@builtin()
def system_spread_constraints(selector):
    """kube-scheduler's default spreading (ScheduleAnyway, hostname maxSkew 3, zone maxSkew 5) for the pods SELECTOR selects; none for a null selector.

    system_spread_constraints({"matchLabels": {"app": "web"}})[0].topologyKey → "kubernetes.io/hostname"
    """
    if selector is None:
        return ()
    selector = _freeze(selector)
    return tuple(pmap({"topologyKey": key, "maxSkew": skew, "minDomains": 1, "nodeAffinityPolicy": "Honor",
                       "nodeTaintsPolicy": "Ignore", "selector": selector})
                 for key, skew in ((HOSTNAME_LABEL, 3), (ZONE_LABEL, 5)))


@builtin()
def spread_includes_node(constraint, pod, node):
    """Whether NODE counts for a spread CONSTRAINT of POD: nodeAffinityPolicy Honor needs the pod's node selector and required node affinity to match it, nodeTaintsPolicy Honor needs its NoSchedule/NoExecute taints tolerated.

    spread_includes_node(c, pod, node) → true
    """
    if (_dig(constraint, "nodeAffinityPolicy") or "Honor") == "Honor" and not required_node_affinity_matches(pod, node):
        return False
    if _dig(constraint, "nodeTaintsPolicy") == "Honor":
        from engine import tolerations
        taints = _seq(_dig(node, "spec", "taints"))
        if tolerations.untolerated(_seq(_dig(pod, "spec", "tolerations")), taints, ("NoSchedule", "NoExecute")):
            return False
    return True


@builtin()
def all_selectors(selectors):
    """One label selector that requires what every selector of the list requires (matchLabels merged, matchExpressions joined); null when together they require nothing.

    all_selectors([{"app": "web"}, {"matchLabels": {"tier": "fe"}}]) → {"matchLabels": {"app": "web", "tier": "fe"}, "matchExpressions": []}
    """
    labels: dict = {}
    expressions: list = []
    for sel in _seq(selectors):
        if not _is_map(sel):
            continue
        if "matchLabels" in sel or "matchExpressions" in sel:
            labels.update(sel.get("matchLabels") or {})
            expressions.extend(_seq(sel.get("matchExpressions")))
        else:
            labels.update(sel)
    if not labels and not expressions:
        return None
    return pmap({"matchLabels": _freeze(labels), "matchExpressions": _freeze(tuple(expressions))})


def _term_selector(term: Mapping, owner: object) -> object:
    """A pod affinity term's labelSelector with its matchLabelKeys / mismatchLabelKeys applied.

    Each key the owner's labels carry adds `key In (value)` (matchLabelKeys)
    or `key NotIn (value)` (mismatchLabelKeys) to the selector's
    matchExpressions; keys the owner lacks are ignored, and a null selector
    stays null (it selects nothing).  Upstream's API server does this when
    the pod is created (pod strategy, applyMatchLabelKeysAndMismatchLabelKeys).
    """
    selector = term.get("labelSelector")
    match_keys, mismatch_keys = _seq(term.get("matchLabelKeys")), _seq(term.get("mismatchLabelKeys"))
    if selector is None or not (match_keys or mismatch_keys):
        return selector
    labels = _dig(owner, "metadata", "labels") or {}
    extra = [{"key": k, "operator": op, "values": (labels[k],)}
             for keys, op in ((match_keys, "In"), (mismatch_keys, "NotIn")) for k in keys if k in labels]
    if not extra:
        return selector
    merged = dict(selector)
    merged["matchExpressions"] = (*_seq(selector.get("matchExpressions")), *map(pmap, extra))
    return _freeze(merged)


@builtin()
def affinity_term_matches(term, owner, pod, namespace_labels):
    """Whether a pod (anti-)affinity TERM of pod OWNER selects POD, whose namespace has NAMESPACE_LABELS (AffinityTerm.Matches): the pod's namespace is among the term's namespaces (the owner's own when neither namespaces nor namespaceSelector is given) or its labels match the namespaceSelector, and its labels match the labelSelector (null selects nothing) with the term's matchLabelKeys (`key In (owner's value)`) and mismatchLabelKeys (`key NotIn (owner's value)`) added.

    affinity_term_matches(term, pod, other, Namespace[other.metadata.namespace].metadata.labels) → true
    """
    from .builtins import _as_selector
    if not _is_map(term) or not _is_map(pod):
        return False
    namespaces = tuple(_seq(term.get("namespaces")))
    ns_selector = term.get("namespaceSelector")
    if not namespaces and ns_selector is None:
        namespaces = (_dig(owner, "metadata", "namespace"),)
    ns = _dig(pod, "metadata", "namespace")
    if ns not in namespaces and not _as_selector(ns_selector).matches(namespace_labels or {}):
        return False
    return _as_selector(_term_selector(term, owner)).matches(_dig(pod, "metadata", "labels") or {})
