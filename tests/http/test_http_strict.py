"""fieldValidation: unknown fields in write bodies (Strict fails, Warn warns and drops, Ignore drops)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from http_live import REPO, Live
from widget_crd import widget_crd

from engine.apierrors import APIError
from engine.api import fieldvalidation
from engine.kinds import BUILTIN, ResourceType, crd_types

STRICT = {"fieldValidation": "Strict"}

REAL_WORLD = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
  labels: {app: api, tier: backend}
  annotations: {deployment.kubernetes.io/revision: "3"}
spec:
  replicas: 3
  revisionHistoryLimit: 5
  progressDeadlineSeconds: 600
  minReadySeconds: 5
  selector:
    matchLabels: {app: api}
    matchExpressions: [{key: tier, operator: In, values: [backend]}]
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: api, tier: backend}
      annotations: {prometheus.io/scrape: "true"}
    spec:
      serviceAccountName: api
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      priorityClassName: high
      nodeSelector: {kubernetes.io/os: linux}
      imagePullSecrets: [{name: registry}]
      securityContext: {runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000, seccompProfile: {type: RuntimeDefault}}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 10
            preference: {matchExpressions: [{key: zone, operator: In, values: [a]}]}
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector: {matchLabels: {app: api}}
              topologyKey: kubernetes.io/hostname
      tolerations:
      - {key: dedicated, operator: Equal, value: api, effect: NoSchedule}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway,
         labelSelector: {matchLabels: {app: api}}}
      initContainers:
      - name: migrate
        image: api:1.2.3
        command: [./migrate]
        envFrom: [{configMapRef: {name: api-config}}, {secretRef: {name: api-secrets, optional: true}}]
      containers:
      - name: api
        image: registry.example.com/api:1.2.3
        imagePullPolicy: IfNotPresent
        args: ["--port=8080"]
        ports:
        - {name: http, containerPort: 8080, protocol: TCP}
        - {name: metrics, containerPort: 9090}
        env:
        - {name: LOG_LEVEL, value: info}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: MEM
          valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {cpu: 1, memory: 512Mi, ephemeral-storage: 1Gi}
        readinessProbe:
          httpGet: {path: /ready, port: http, httpHeaders: [{name: X-Probe, value: "1"}]}
          initialDelaySeconds: 5
          periodSeconds: 10
        livenessProbe:
          tcpSocket: {port: 8080}
          failureThreshold: 3
        startupProbe:
          exec: {command: [cat, /tmp/ready]}
        lifecycle:
          preStop: {exec: {command: [sleep, "5"]}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts:
        - {name: config, mountPath: /etc/api, readOnly: true}
        - {name: cache, mountPath: /cache}
        - {name: token, mountPath: /var/run/token}
      volumes:
      - name: config
        configMap: {name: api-config, items: [{key: app.yaml, path: app.yaml}], defaultMode: 420}
      - name: cache
        emptyDir: {sizeLimit: 1Gi, medium: Memory}
      - name: token
        projected:
          sources:
          - serviceAccountToken: {path: token, expirationSeconds: 3600, audience: api}
          - downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
      - name: data
        persistentVolumeClaim: {claimName: data}
      - name: secret
        secret: {secretName: tls, optional: false}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: prod}
spec:
  restartPolicy: Never
  hostNetwork: false
  dnsPolicy: ClusterFirst
  dnsConfig: {options: [{name: ndots, value: "2"}]}
  hostAliases: [{ip: 127.0.0.1, hostnames: [local]}]
  containers:
  - name: debug
    image: busybox
    stdin: true
    tty: true
    workingDir: /tmp
status: {}
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: prod
  annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}
spec:
  type: LoadBalancer
  selector: {app: api}
  externalTrafficPolicy: Local
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv4]
  loadBalancerSourceRanges: [10.0.0.0/8]
  ports:
  - {name: http, port: 80, targetPort: http, protocol: TCP, nodePort: 30080}
  - {name: metrics, port: 9090, targetPort: 9090, appProtocol: http}
---
apiVersion: batch/v1
kind: Job
metadata: {name: backup, namespace: prod}
spec:
  backoffLimit: 4
  completions: 1
  parallelism: 1
  activeDeadlineSeconds: 600
  ttlSecondsAfterFinished: 100
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: backup, operator: In, values: [42]}
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - {name: backup, image: backup:1, command: [/backup.sh]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: prod}
spec:
  schedule: "0 3 * * *"
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 200
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  suspend: false
  jobTemplate:
    metadata: {labels: {job: nightly}}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: job, image: job:1}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: prod
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
spec:
  ingressClassName: nginx
  tls: [{hosts: [api.example.com], secretName: api-tls}]
  defaultBackend: {service: {name: api, port: {number: 80}}}
  rules:
  - host: api.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: prod}
automountServiceAccountToken: false
imagePullSecrets: [{name: registry}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: prod}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  resourceNames: [api]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: prod}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: api, namespace: prod}
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: aggregate}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate: "true"}}]
rules:
- nonResourceURLs: [/healthz]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: aggregate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: aggregate}
subjects: [{kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: api-config, namespace: prod}
data: {app.yaml: "port: 8080"}
binaryData: {blob: aGVsbG8=}
immutable: true
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: prod}
type: Opaque
stringData: {password: hunter2}
data: {user: YWRtaW4=}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {pod-security.kubernetes.io/enforce: restricted}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000000
globalDefault: false
preemptionPolicy: PreemptLowerPriority
description: important
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: prod}
spec:
  serviceName: db
  replicas: 1
  podManagementPolicy: Parallel
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Delete}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: fast
      resources: {requests: {storage: 10Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: prod}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostPID: true
      containers:
      - name: agent
        image: agent:1
        securityContext: {privileged: true}
        volumeMounts: [{name: root, mountPath: /host, mountPropagation: HostToContainer}]
      volumes: [{name: root, hostPath: {path: /, type: Directory}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: prod}
spec: {minAvailable: 2, selector: {matchLabels: {app: api}}, unhealthyPodEvictionPolicy: AlwaysAllow}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: prod}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies: [{type: Percent, value: 50, periodSeconds: 60}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: web}}}, {ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
    ports: [{protocol: TCP, port: 8080}, {port: http}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: leader, namespace: prod}
spec: {holderIdentity: a, leaseDurationSeconds: 15, acquireTime: "2024-01-01T00:00:00.000000Z", leaseTransitions: 1}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-abc, namespace: prod, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  zone: a
  targetRef: {kind: Pod, name: api-1, namespace: prod}
---
apiVersion: v1
kind: Endpoints
metadata: {name: api, namespace: prod}
subsets:
- addresses: [{ip: 10.0.0.1, targetRef: {kind: Pod, name: api-1}}]
  notReadyAddresses: [{ip: 10.0.0.2}]
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Node
metadata: {name: node-9, labels: {kubernetes.io/hostname: node-9}}
spec:
  podCIDR: 10.244.0.0/24
  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
  unschedulable: false
status:
  capacity: {cpu: "4", memory: 16Gi, pods: "110"}
  allocatable: {cpu: 3900m, memory: 15Gi, pods: "110"}
  addresses: [{type: InternalIP, address: 10.0.0.9}]
  conditions: [{type: Ready, status: "True", lastHeartbeatTime: "2024-01-01T00:00:00Z", reason: KubeletReady}]
  nodeInfo: {kubeletVersion: v1.32.0, architecture: amd64, operatingSystem: linux, osImage: x, kernelVersion: x,
             containerRuntimeVersion: x, kubeProxyVersion: x, machineID: x, systemUUID: x, bootID: x}
"""


def _type_of(doc: dict) -> ResourceType:
    group, _, version = doc["apiVersion"].rpartition("/")
    found = BUILTIN.get(group, doc["kind"])
    if found is not None:
        return found
    return ResourceType(group, version, doc["kind"], doc["kind"].lower() + "s")  # a kind recon does not serve


def _check(doc: dict, rt: ResourceType | None = None, query: dict | None = None, **kw) -> tuple:
    rt = rt or _type_of(doc)
    version = doc["apiVersion"].rpartition("/")[2]
    return fieldvalidation.check(rt, version, "", doc, STRICT if query is None else query, **kw)


@pytest.mark.parametrize("doc", list(yaml.safe_load_all(REAL_WORLD)), ids=lambda d: d["kind"])
def test_a_real_world_manifest_passes_strict_validation_unchanged(doc):
    assert _check(doc) == (doc, [])


def _repo_manifests() -> list[dict]:
    docs = []
    roots = (REPO / "manifests", REPO / "engine/defaults/manifests")
    for path in [p for root in roots for p in sorted(root.rglob("*.yaml"))]:
        docs.extend(d for d in yaml.safe_load_all(Path(path).read_text()) if d)
    return docs


def test_every_manifest_shipped_in_the_repository_passes_strict_validation():
    crds = {}
    for doc in _repo_manifests():
        if doc["kind"] == "CustomResourceDefinition":
            rt = crd_types(doc)
            crds[(rt.group, rt.kind)] = rt
    for doc in _repo_manifests():
        group = doc["apiVersion"].rpartition("/")[0]
        rt = crds.get((group, doc["kind"])) or _type_of(doc)
        assert _check(doc, rt) == (doc, []), doc["metadata"]["name"]


def _typo_deployment() -> dict:
    doc = next(yaml.safe_load_all(REAL_WORLD))
    doc = json.loads(json.dumps(doc))
    doc["spec"] = {"replcas": 2, **doc["spec"]}  # reported in document order
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    return doc


def test_strict_names_every_unknown_field_in_upstreams_words():
    with pytest.raises(APIError) as caught:
        _check(_typo_deployment())
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"
    assert caught.value.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replcas", unknown field "spec.template.spec.containers[0].imagePullPolicyy"')


def test_warn_drops_the_unknown_fields_and_returns_one_warning_each():
    body, warnings = _check(_typo_deployment(), query={"fieldValidation": "Warn"})
    assert warnings == ['unknown field "spec.replcas"',
                        'unknown field "spec.template.spec.containers[0].imagePullPolicyy"']
    assert "replcas" not in body["spec"] and body["spec"]["replicas"] == 3
    assert "imagePullPolicyy" not in body["spec"]["template"]["spec"]["containers"][0]


def test_without_the_parameter_the_default_is_warn_and_ignore_is_silent():
    assert len(_check(_typo_deployment(), query={})[1]) == 2
    body, warnings = _check(_typo_deployment(), query={"fieldValidation": "Ignore"})
    assert warnings == [] and "replcas" not in body["spec"]


def test_an_unsupported_directive_is_a_bad_request():
    with pytest.raises(APIError) as caught:
        _check(_typo_deployment(), query={"fieldValidation": "Loose"})
    assert caught.value.code == 400


def test_free_form_fields_and_maps_are_never_reported():
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "x", "labels": {"any-key": "v"}, "annotations": {"a/b": "c"},
        "managedFields": [{"manager": "m", "operation": "Apply", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {"f:k": {}}}}]}, "data": {"whatever": "v"}}
    assert _check(doc) == (doc, [])


def test_a_strategic_merge_patch_keeps_its_directives_and_reports_unknown_fields():
    rt = BUILTIN.get("apps", "Deployment")
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"name": "web", "image": "nginx:1.28", "$patch": "merge", "imag": "x"}]}}}}
    body, warnings = fieldvalidation.check(rt, "v1", "", patch, {}, "strategic")
    assert warnings == ['unknown field "spec.template.spec.containers[0].imag"']
    assert body["spec"]["template"]["spec"]["$setElementOrder/containers"] == [{"name": "web"}]
    assert body["spec"]["template"]["spec"]["containers"][0] == {"name": "web", "image": "nginx:1.28",
                                                                 "$patch": "merge"}


def test_a_strict_patch_with_an_unknown_field_is_invalid_on_the_field_patch():
    rt = BUILTIN.get("apps", "Deployment")
    with pytest.raises(APIError) as caught:
        fieldvalidation.check(rt, "v1", "", {"spec": {"replcas": 2}}, STRICT, "merge")
    assert caught.value.code == 422
    assert caught.value.message.endswith('strict decoding error: unknown field "spec.replcas"')
    assert "patch: Invalid value: " in caught.value.message


def test_a_json_patch_is_checked_along_its_paths_and_inside_its_values():
    rt = BUILTIN.get("apps", "Deployment")
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 2},
           {"op": "add", "path": "/spec/replcas", "value": 2},
           {"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "A", "vaule": "1"}]},
           {"op": "add", "path": "/metadata/labels/app~1name", "value": "x"}]
    body, warnings = fieldvalidation.check(rt, "v1", "", ops, {}, "json")
    assert warnings == ['unknown field "spec.replcas"',
                        'unknown field "spec.template.spec.containers[0].env[0].vaule"']
    assert [op["path"] for op in body] == ["/spec/replicas", "/spec/template/spec/containers/0/env",
                                           "/metadata/labels/app~1name"]
    assert body[1]["value"] == [{"name": "A"}]


def test_the_scale_subresource_is_checked_against_scale():
    rt = BUILTIN.get("apps", "Deployment")
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replica": 2}}
    with pytest.raises(APIError) as caught:
        fieldvalidation.check(rt, "v1", "scale", scale, STRICT)
    assert caught.value.message == ('Scale in version "v1" cannot be handled as a Scale: '
                                    'strict decoding error: unknown field "spec.replica"')


CRD = widget_crd({
    "size": {"type": "integer"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                 "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
    "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}})


def test_a_custom_resource_is_checked_against_its_crd_schema():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labelz": {}},
              "spec": {"size": 1, "colour": "red", "labels": {"a": "b"}, "config": {"anything": {"deep": 1}},
                       "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
                       "items": [{"name": "a", "nmae": "b"}]}}
    with pytest.raises(APIError) as caught:
        _check(widget, crd_types(CRD))
    assert caught.value.message == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field '
        '"metadata.labelz", unknown field "spec.colour", unknown field "spec.items[0].nmae"')


def test_a_crd_that_preserves_unknown_fields_at_the_root_accepts_anything():
    crd = json.loads(json.dumps(CRD))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = {"type": "object",
                                                               "x-kubernetes-preserve-unknown-fields": True}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"any": 1}}
    assert _check(widget, crd_types(crd)) == (widget, [])


# ------------------------------------------------------------------ live


def test_kubectl_create_with_a_typo_prints_upstreams_error(live: Live):
    manifest = yaml.safe_dump(_typo_deployment() | {"metadata": {"name": "typo", "namespace": "demo"}})
    (live.root / "typo.yaml").write_text(manifest)
    result = live.kubectl("create", "-f", "typo.yaml", check=1)
    assert result.stderr.strip() == (
        'Error from server (BadRequest): error when creating "typo.yaml": Deployment in version "v1" cannot be '
        'handled as a Deployment: strict decoding error: unknown field "spec.replcas", unknown field '
        '"spec.template.spec.containers[0].imagePullPolicyy"')
    assert live.kubectl("get", "deployment", "typo", "-n", "demo", check=1).returncode == 1


def test_kubectl_apply_with_validate_warn_prints_warnings_and_drops_the_fields(live: Live):
    doc = _typo_deployment() | {"metadata": {"name": "warned", "namespace": "demo"}}
    (live.root / "warned.yaml").write_text(yaml.safe_dump(doc))
    result = live.kubectl("apply", "-f", "warned.yaml", "--validate=warn")
    assert 'Warning: unknown field "spec.replcas"' in result.stderr
    assert 'Warning: unknown field "spec.template.spec.containers[0].imagePullPolicyy"' in result.stderr
    stored = json.loads(live.kubectl("get", "deployment", "warned", "-n", "demo", "-o", "json").stdout)
    assert "replcas" not in stored["spec"] and stored["spec"]["replicas"] == 3


def test_kubectl_apply_strict_of_a_custom_resource_with_a_typo_fails(live: Live):
    manifest = {"apiVersion": "example.com/v1", "kind": "WebApp", "metadata": {"name": "typo", "namespace": "demo"},
                "spec": {"image": "nginx", "replicas": 1, "prot": 80}}
    (live.root / "webapp.yaml").write_text(yaml.safe_dump(manifest))
    result = live.kubectl("apply", "-f", "webapp.yaml", check=1)
    assert ('WebApp in version "v1" cannot be handled as a WebApp: strict decoding error: unknown field '
            '"spec.prot"') in result.stderr


def test_kubectl_applies_the_repository_manifests_strictly_without_complaint(live: Live):
    result = live.kubectl("apply", "-R", "-f", str(REPO / "manifests"), "--validate=strict")
    assert "Warning" not in result.stderr and "unknown field" not in result.stdout + result.stderr


def test_a_raw_warn_request_carries_the_warning_header(live: Live):
    token = live.kubeconfig.read_text().split("token: ", 1)[1].split()[0]
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "warned", "namespace": "demo"},
            "data": {"a": "b"}, "dta": {"c": "d"}}
    code, headers, _ = live.request("POST", "/api/v1/namespaces/demo/configmaps?fieldValidation=Warn", body, token)
    assert code == 201
    assert headers.get("Warning") == '299 - "unknown field \\"dta\\""'
    code, headers, _ = live.request("PATCH", "/api/v1/namespaces/demo/configmaps/warned?fieldValidation=Ignore",
                                    {"dta": {"e": "f"}}, token,
                                    headers={"Content-Type": "application/merge-patch+json"})
    assert code == 200 and "Warning" not in headers


def test_a_typo_in_a_folder_manifest_is_reported_at_its_line(tmp_path):
    from engine.manifests import load_folder, resolve

    (tmp_path / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo}\nspec:\n"
        "  replcas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: web, image: nginx}]}\n")
    items, errors = resolve(load_folder(tmp_path), BUILTIN)
    assert items == []
    assert [(e.line, e.message, e.source_line) for e in errors] == [(5, 'unknown field "spec.replcas"', "  replcas: 3")]
