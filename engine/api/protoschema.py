"""The protobuf message schemas of the Kubernetes kinds recon decodes (`protobuf.py`).

Wire-protocol facts taken from upstream's `generated.proto` files (core/v1,
apps/v1, batch/v1, rbac/v1, networking/v1, policy/v1, scheduling/v1,
authorization/v1, authentication/v1, autoscaling/v1, meta/v1), written down
in a compact table: a message name on its own line, then one line per field,
`NUMBER jsonName TYPE`.

TYPE is one of
  `string int32 int64 bool bytes double float`  a scalar.  Plain: a Go value
      with `omitempty`, so a zero value (which gogo-protobuf always writes)
      is dropped, as JSON drops it.  With `!`: kept even when zero (a Go
      pointer, present only when set, or a field JSON always writes).
  `Name`        a nested message (always kept when present, even when empty).
  `...Name`     an embedded (inline) message: its fields land in this object.
  `[T]`         repeated (numbers packed or not);  `{T}` a map from string keys.
  Time, MicroTime, Quantity, IntOrString, RawExtension, FieldsV1, ExtraValue:
      the special Kubernetes types, decoded by `protobuf.py`.

`Alias = Name` reuses a message's table.  A field number missing from a
message is an error when it appears on the wire: nothing is silently lost.
"""

from __future__ import annotations

import attrs

SCALARS = frozenset({"string", "int32", "int64", "bool", "bytes", "double", "float"})
SPECIALS = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "RawExtension", "FieldsV1", "ExtraValue"})

META = """
ObjectMeta
  1  name                        string
  2  generateName                string
  3  namespace                   string
  4  selfLink                    string
  5  uid                         string
  6  resourceVersion             string
  7  generation                  int64
  8  creationTimestamp           Time
  9  deletionTimestamp           Time
  10 deletionGracePeriodSeconds  int64!
  11 labels                      {string}
  12 annotations                 {string}
  13 ownerReferences             [OwnerReference]
  14 finalizers                  [string]
  17 managedFields               [ManagedFieldsEntry]

OwnerReference
  5  apiVersion          string!
  1  kind                string!
  3  name                string!
  4  uid                 string!
  6  controller          bool!
  7  blockOwnerDeletion  bool!

ManagedFieldsEntry
  1  manager      string
  2  operation    string
  3  apiVersion   string
  4  time         Time
  6  fieldsType   string
  7  fieldsV1     FieldsV1
  8  subresource  string

LabelSelector
  1  matchLabels       {string}
  2  matchExpressions  [LabelSelectorRequirement]

LabelSelectorRequirement
  1  key       string!
  2  operator  string!
  3  values    [string]

FieldSelectorRequirement
  1  key       string!
  2  operator  string!
  3  values    [string]

Condition
  1  type                string!
  2  status              string!
  3  observedGeneration  int64
  4  lastTransitionTime  Time
  5  reason              string!
  6  message             string!

DeleteOptions
  1  gracePeriodSeconds  int64!
  2  preconditions       Preconditions
  3  orphanDependents    bool!
  4  propagationPolicy   string!
  5  dryRun              [string]
  6  ignoreStoreReadErrorWithClusterBreakingPotential  bool!

Preconditions
  1  uid              string!
  2  resourceVersion  string!
"""

CORE_OBJECTS = """
Namespace
  1  metadata  ObjectMeta
  2  spec      NamespaceSpec
  3  status    NamespaceStatus

NamespaceSpec
  1  finalizers  [string]

NamespaceStatus
  1  phase       string
  2  conditions  [NamespaceCondition]

NamespaceCondition
  1  type                string!
  2  status              string!
  4  lastTransitionTime  Time
  5  reason              string
  6  message             string

ConfigMap
  1  metadata    ObjectMeta
  4  immutable   bool!
  2  data        {string}
  3  binaryData  {bytes}

Secret
  1  metadata    ObjectMeta
  5  immutable   bool!
  2  data        {bytes}
  4  stringData  {string}
  3  type        string

ServiceAccount
  1  metadata                      ObjectMeta
  2  secrets                       [ObjectReference]
  3  imagePullSecrets              [LocalObjectReference]
  4  automountServiceAccountToken  bool!

ObjectReference
  1  kind             string
  2  namespace        string
  3  name             string
  4  uid              string
  5  apiVersion       string
  6  resourceVersion  string
  7  fieldPath        string

LocalObjectReference
  1  name  string

TypedLocalObjectReference
  1  apiGroup  string!
  2  kind      string!
  3  name      string!

Service
  1  metadata  ObjectMeta
  2  spec      ServiceSpec
  3  status    ServiceStatus

ServiceSpec
  1  ports                          [ServicePort]
  2  selector                       {string}
  3  clusterIP                      string
  18 clusterIPs                     [string]
  4  type                           string
  5  externalIPs                    [string]
  7  sessionAffinity                string
  8  loadBalancerIP                 string
  9  loadBalancerSourceRanges       [string]
  10 externalName                   string
  11 externalTrafficPolicy          string
  12 healthCheckNodePort            int32
  13 publishNotReadyAddresses       bool
  14 sessionAffinityConfig          SessionAffinityConfig
  19 ipFamilies                     [string]
  17 ipFamilyPolicy                 string!
  20 allocateLoadBalancerNodePorts  bool!
  21 loadBalancerClass              string!
  22 internalTrafficPolicy          string!
  23 trafficDistribution            string!

ServicePort
  1  name         string
  2  protocol     string
  6  appProtocol  string!
  3  port         int32!
  4  targetPort   IntOrString
  5  nodePort     int32

SessionAffinityConfig
  1  clientIP  ClientIPConfig

ClientIPConfig
  1  timeoutSeconds  int32!

ServiceStatus
  1  loadBalancer  LoadBalancerStatus
  2  conditions    [Condition]

LoadBalancerStatus
  1  ingress  [LoadBalancerIngress]

LoadBalancerIngress
  1  ip        string
  2  hostname  string
  3  ipMode    string!
  4  ports     [PortStatus]

PortStatus
  1  port      int32!
  2  protocol  string!
  3  error     string!

ResourceQuota
  1  metadata  ObjectMeta
  2  spec      ResourceQuotaSpec
  3  status    ResourceQuotaStatus

ResourceQuotaSpec
  1  hard           {Quantity}
  2  scopes         [string]
  3  scopeSelector  ScopeSelector

ScopeSelector
  1  matchExpressions  [ScopedResourceSelectorRequirement]

ScopedResourceSelectorRequirement
  1  scopeName  string!
  2  operator   string!
  3  values     [string]

ResourceQuotaStatus
  1  hard  {Quantity}
  2  used  {Quantity}
"""

CORE_PODS = """
Pod
  1  metadata  ObjectMeta
  2  spec      PodSpec
  3  status    PodStatus

PodTemplateSpec
  1  metadata  ObjectMeta
  2  spec      PodSpec

PodSpec
  1  volumes                        [Volume]
  20 initContainers                 [Container]
  2  containers                     [Container]
  34 ephemeralContainers            [EphemeralContainer]
  3  restartPolicy                  string
  4  terminationGracePeriodSeconds  int64!
  5  activeDeadlineSeconds          int64!
  6  dnsPolicy                      string
  7  nodeSelector                   {string}
  8  serviceAccountName             string
  9  serviceAccount                 string
  21 automountServiceAccountToken   bool!
  10 nodeName                       string
  11 hostNetwork                    bool
  12 hostPID                        bool
  13 hostIPC                        bool
  27 shareProcessNamespace          bool!
  14 securityContext                PodSecurityContext
  15 imagePullSecrets               [LocalObjectReference]
  16 hostname                       string
  17 subdomain                      string
  18 affinity                       Affinity
  19 schedulerName                  string
  22 tolerations                    [Toleration]
  23 hostAliases                    [HostAlias]
  24 priorityClassName              string
  25 priority                       int32!
  26 dnsConfig                      PodDNSConfig
  28 readinessGates                 [PodReadinessGate]
  29 runtimeClassName               string!
  30 enableServiceLinks             bool!
  31 preemptionPolicy               string!
  32 overhead                       {Quantity}
  33 topologySpreadConstraints      [TopologySpreadConstraint]
  35 setHostnameAsFQDN              bool!
  36 os                             PodOS
  37 hostUsers                      bool!
  38 schedulingGates                [PodSchedulingGate]
  39 resourceClaims                 [PodResourceClaim]
  40 resources                      ResourceRequirements
  41 hostnameOverride               string!

Container
  1  name                      string!
  2  image                     string
  3  command                   [string]
  4  args                      [string]
  5  workingDir                string
  6  ports                     [ContainerPort]
  19 envFrom                   [EnvFromSource]
  7  env                       [EnvVar]
  8  resources                 ResourceRequirements
  23 resizePolicy              [ContainerResizePolicy]
  24 restartPolicy             string!
  25 restartPolicyRules        [ContainerRestartRule]
  9  volumeMounts              [VolumeMount]
  21 volumeDevices             [VolumeDevice]
  10 livenessProbe             Probe
  11 readinessProbe            Probe
  22 startupProbe              Probe
  12 lifecycle                 Lifecycle
  13 terminationMessagePath    string
  20 terminationMessagePolicy  string
  14 imagePullPolicy           string
  15 securityContext           SecurityContext
  16 stdin                     bool
  17 stdinOnce                 bool
  18 tty                       bool

EphemeralContainer
  1  ...EphemeralContainerCommon
  2  targetContainerName  string

EphemeralContainerCommon = Container

ContainerPort
  1  name           string
  2  hostPort       int32
  3  containerPort  int32!
  4  protocol       string
  5  hostIP         string

ContainerResizePolicy
  1  resourceName   string!
  2  restartPolicy  string!

ContainerRestartRule
  1  action     string!
  2  exitCodes  ContainerRestartRuleOnExitCodes

ContainerRestartRuleOnExitCodes
  1  operator  string!
  2  values    [int32]

EnvVar
  1  name       string!
  2  value      string
  3  valueFrom  EnvVarSource

EnvVarSource
  1  fieldRef          ObjectFieldSelector
  2  resourceFieldRef  ResourceFieldSelector
  3  configMapKeyRef   ConfigMapKeySelector
  4  secretKeyRef      SecretKeySelector
  5  fileKeyRef        FileKeySelector

ObjectFieldSelector
  1  apiVersion  string
  2  fieldPath   string!

ResourceFieldSelector
  1  containerName  string
  2  resource       string!
  3  divisor        Quantity

ConfigMapKeySelector
  1  ...LocalObjectReference
  2  key       string!
  3  optional  bool!

SecretKeySelector
  1  ...LocalObjectReference
  2  key       string!
  3  optional  bool!

FileKeySelector
  1  volumeName  string!
  2  path        string!
  3  key         string!
  4  optional    bool!

EnvFromSource
  1  prefix        string
  2  configMapRef  ConfigMapEnvSource
  3  secretRef     SecretEnvSource

ConfigMapEnvSource
  1  ...LocalObjectReference
  2  optional  bool!

SecretEnvSource
  1  ...LocalObjectReference
  2  optional  bool!

ResourceRequirements
  1  limits    {Quantity}
  2  requests  {Quantity}
  3  claims    [ResourceClaim]

ResourceClaim
  1  name     string!
  2  request  string

VolumeMount
  1  name               string!
  2  readOnly           bool
  7  recursiveReadOnly  string!
  3  mountPath          string!
  4  subPath            string
  5  mountPropagation   string!
  6  subPathExpr        string

VolumeDevice
  1  name        string!
  2  devicePath  string!

Probe
  1  ...ProbeHandler
  2  initialDelaySeconds            int32
  3  timeoutSeconds                 int32
  4  periodSeconds                  int32
  5  successThreshold               int32
  6  failureThreshold               int32
  7  terminationGracePeriodSeconds  int64!

ProbeHandler
  1  exec       ExecAction
  2  httpGet    HTTPGetAction
  3  tcpSocket  TCPSocketAction
  4  grpc       GRPCAction

Lifecycle
  1  postStart   LifecycleHandler
  2  preStop     LifecycleHandler
  3  stopSignal  string!

LifecycleHandler
  1  exec       ExecAction
  2  httpGet    HTTPGetAction
  3  tcpSocket  TCPSocketAction
  4  sleep      SleepAction

ExecAction
  1  command  [string]

HTTPGetAction
  1  path         string
  2  port         IntOrString
  3  host         string
  4  scheme       string
  5  httpHeaders  [HTTPHeader]

HTTPHeader
  1  name   string!
  2  value  string!

TCPSocketAction
  1  port  IntOrString
  2  host  string

GRPCAction
  1  port     int32!
  2  service  string!

SleepAction
  1  seconds  int64!

SecurityContext
  1  capabilities              Capabilities
  2  privileged                bool!
  3  seLinuxOptions            SELinuxOptions
  10 windowsOptions            WindowsSecurityContextOptions
  4  runAsUser                 int64!
  8  runAsGroup                int64!
  5  runAsNonRoot              bool!
  6  readOnlyRootFilesystem    bool!
  7  allowPrivilegeEscalation  bool!
  9  procMount                 string!
  11 seccompProfile            SeccompProfile
  12 appArmorProfile           AppArmorProfile
  13 ulimits                   [Ulimit]

PodSecurityContext
  1  seLinuxOptions            SELinuxOptions
  8  windowsOptions            WindowsSecurityContextOptions
  2  runAsUser                 int64!
  6  runAsGroup                int64!
  3  runAsNonRoot              bool!
  4  supplementalGroups        [int64]
  12 supplementalGroupsPolicy  string!
  5  fsGroup                   int64!
  7  sysctls                   [Sysctl]
  9  fsGroupChangePolicy       string!
  10 seccompProfile            SeccompProfile
  11 appArmorProfile           AppArmorProfile
  13 seLinuxChangePolicy       string!

Capabilities
  1  add   [string]
  2  drop  [string]

SELinuxOptions
  1  user   string
  2  role   string
  3  type   string
  4  level  string

WindowsSecurityContextOptions
  1  gmsaCredentialSpecName  string!
  2  gmsaCredentialSpec      string!
  3  runAsUserName           string!
  4  hostProcess             bool!

SeccompProfile
  1  type              string!
  2  localhostProfile  string!

AppArmorProfile
  1  type              string!
  2  localhostProfile  string!

Sysctl
  1  name   string!
  2  value  string!

Ulimit
  1  name  string!
  2  hard  int64!
  3  soft  int64!

Affinity
  1  nodeAffinity     NodeAffinity
  2  podAffinity      PodAffinity
  3  podAntiAffinity  PodAntiAffinity

NodeAffinity
  1  requiredDuringSchedulingIgnoredDuringExecution   NodeSelector
  2  preferredDuringSchedulingIgnoredDuringExecution  [PreferredSchedulingTerm]

NodeSelector
  1  nodeSelectorTerms  [NodeSelectorTerm]

NodeSelectorTerm
  1  matchExpressions  [NodeSelectorRequirement]
  2  matchFields       [NodeSelectorRequirement]

NodeSelectorRequirement
  1  key       string!
  2  operator  string!
  3  values    [string]

PreferredSchedulingTerm
  1  weight      int32!
  2  preference  NodeSelectorTerm

PodAffinity
  1  requiredDuringSchedulingIgnoredDuringExecution   [PodAffinityTerm]
  2  preferredDuringSchedulingIgnoredDuringExecution  [WeightedPodAffinityTerm]

PodAntiAffinity = PodAffinity

PodAffinityTerm
  1  labelSelector      LabelSelector
  2  namespaces         [string]
  3  topologyKey        string!
  4  namespaceSelector  LabelSelector
  5  matchLabelKeys     [string]
  6  mismatchLabelKeys  [string]

WeightedPodAffinityTerm
  1  weight           int32!
  2  podAffinityTerm  PodAffinityTerm

Toleration
  1  key                string
  2  operator           string
  3  value              string
  4  effect             string
  5  tolerationSeconds  int64!

TopologySpreadConstraint
  1  maxSkew             int32!
  2  topologyKey         string!
  3  whenUnsatisfiable   string!
  4  labelSelector       LabelSelector
  5  minDomains          int32!
  6  nodeAffinityPolicy  string!
  7  nodeTaintsPolicy    string!
  8  matchLabelKeys      [string]

HostAlias
  1  ip         string!
  2  hostnames  [string]

PodDNSConfig
  1  nameservers  [string]
  2  searches     [string]
  3  options      [PodDNSConfigOption]

PodDNSConfigOption
  1  name   string
  2  value  string!

PodReadinessGate
  1  conditionType  string!

PodOS
  1  name  string!

PodSchedulingGate
  1  name  string!

PodResourceClaim
  1  name                       string!
  3  resourceClaimName          string!
  4  resourceClaimTemplateName  string!

Volume
  1  name  string!
  2  ...VolumeSource

VolumeSource
  1  hostPath               HostPathVolumeSource
  2  emptyDir               EmptyDirVolumeSource
  6  secret                 SecretVolumeSource
  7  nfs                    NFSVolumeSource
  10 persistentVolumeClaim  PersistentVolumeClaimVolumeSource
  16 downwardAPI            DownwardAPIVolumeSource
  19 configMap              ConfigMapVolumeSource
  26 projected              ProjectedVolumeSource
  28 csi                    CSIVolumeSource
  30 image                  ImageVolumeSource

HostPathVolumeSource
  1  path  string!
  2  type  string!

EmptyDirVolumeSource
  1  medium     string
  2  sizeLimit  Quantity

SecretVolumeSource
  1  secretName   string
  2  items        [KeyToPath]
  3  defaultMode  int32!
  4  optional     bool!

ConfigMapVolumeSource
  1  ...LocalObjectReference
  2  items        [KeyToPath]
  3  defaultMode  int32!
  4  optional     bool!

KeyToPath
  1  key   string!
  2  path  string!
  3  mode  int32!

NFSVolumeSource
  1  server    string!
  2  path      string!
  3  readOnly  bool

PersistentVolumeClaimVolumeSource
  1  claimName  string!
  2  readOnly   bool

DownwardAPIVolumeSource
  1  items        [DownwardAPIVolumeFile]
  2  defaultMode  int32!

DownwardAPIVolumeFile
  1  path              string!
  2  fieldRef          ObjectFieldSelector
  3  resourceFieldRef  ResourceFieldSelector
  4  mode              int32!

ProjectedVolumeSource
  1  sources      [VolumeProjection]
  2  defaultMode  int32!

VolumeProjection
  1  secret               SecretProjection
  2  downwardAPI          DownwardAPIProjection
  3  configMap            ConfigMapProjection
  4  serviceAccountToken  ServiceAccountTokenProjection
  5  clusterTrustBundle   ClusterTrustBundleProjection

SecretProjection
  1  ...LocalObjectReference
  2  items     [KeyToPath]
  4  optional  bool!

ConfigMapProjection = SecretProjection

DownwardAPIProjection
  1  items  [DownwardAPIVolumeFile]

ServiceAccountTokenProjection
  1  audience           string
  2  expirationSeconds  int64!
  3  path               string!

ClusterTrustBundleProjection
  1  name           string!
  2  signerName     string!
  3  labelSelector  LabelSelector
  5  optional       bool!
  4  path           string!

CSIVolumeSource
  1  driver                string!
  2  readOnly              bool!
  3  fsType                string!
  4  volumeAttributes      {string}
  5  nodePublishSecretRef  LocalObjectReference

ImageVolumeSource
  1  reference   string
  2  pullPolicy  string

PodStatus
  17 observedGeneration          int64
  1  phase                       string
  2  conditions                  [PodCondition]
  3  message                     string
  4  reason                      string
  11 nominatedNodeName           string
  5  hostIP                      string
  16 hostIPs                     [HostIP]
  6  podIP                       string
  12 podIPs                      [PodIP]
  7  startTime                   Time
  10 initContainerStatuses       [ContainerStatus]
  8  containerStatuses           [ContainerStatus]
  9  qosClass                    string
  13 ephemeralContainerStatuses  [ContainerStatus]
  14 resize                      string
  15 resourceClaimStatuses       [PodResourceClaimStatus]

PodCondition
  1  type                string!
  7  observedGeneration  int64
  2  status              string!
  3  lastProbeTime       Time
  4  lastTransitionTime  Time
  5  reason              string
  6  message             string

PodIP
  1  ip  string!

HostIP = PodIP

PodResourceClaimStatus
  1  name               string!
  2  resourceClaimName  string!

ContainerStatus
  1  name                string!
  2  state               ContainerState
  3  lastState           ContainerState
  4  ready               bool!
  5  restartCount        int32!
  6  image               string!
  7  imageID             string!
  8  containerID         string
  9  started             bool!
  10 allocatedResources  {Quantity}
  11 resources           ResourceRequirements
  12 volumeMounts        [VolumeMountStatus]
  15 stopSignal          string!

ContainerState
  1  waiting     ContainerStateWaiting
  2  running     ContainerStateRunning
  3  terminated  ContainerStateTerminated

ContainerStateWaiting
  1  reason   string
  2  message  string

ContainerStateRunning
  1  startedAt  Time

ContainerStateTerminated
  1  exitCode     int32!
  2  signal       int32
  3  reason       string
  4  message      string
  5  startedAt    Time
  6  finishedAt   Time
  7  containerID  string

VolumeMountStatus
  1  name               string!
  2  mountPath          string!
  3  readOnly           bool
  4  recursiveReadOnly  string!
"""

APPS = """
Deployment
  1  metadata  ObjectMeta
  2  spec      DeploymentSpec
  3  status    DeploymentStatus

DeploymentSpec
  1  replicas                 int32!
  2  selector                 LabelSelector
  3  template                 PodTemplateSpec
  4  strategy                 DeploymentStrategy
  5  minReadySeconds          int32
  6  revisionHistoryLimit     int32!
  7  paused                   bool
  9  progressDeadlineSeconds  int32!
  10 podReplacementPolicy     string!

DeploymentStrategy
  1  type           string
  2  rollingUpdate  RollingUpdateDeployment

RollingUpdateDeployment
  1  maxUnavailable  IntOrString
  2  maxSurge        IntOrString

DeploymentStatus
  1  observedGeneration   int64
  2  replicas             int32
  3  updatedReplicas      int32
  7  readyReplicas        int32
  4  availableReplicas    int32
  5  unavailableReplicas  int32
  9  terminatingReplicas  int32!
  6  conditions           [DeploymentCondition]
  8  collisionCount       int32!

DeploymentCondition
  1  type                string!
  2  status              string!
  6  lastUpdateTime      Time
  7  lastTransitionTime  Time
  4  reason              string
  5  message             string

ReplicaSet
  1  metadata  ObjectMeta
  2  spec      ReplicaSetSpec
  3  status    ReplicaSetStatus

ReplicaSetSpec
  1  replicas         int32!
  4  minReadySeconds  int32
  2  selector         LabelSelector
  3  template         PodTemplateSpec

ReplicaSetStatus
  1  replicas              int32!
  2  fullyLabeledReplicas  int32
  4  readyReplicas         int32
  5  availableReplicas     int32
  7  terminatingReplicas   int32!
  3  observedGeneration    int64
  6  conditions            [ReplicaSetCondition]

ReplicaSetCondition
  1  type                string!
  2  status              string!
  3  lastTransitionTime  Time
  4  reason              string
  5  message             string

Scale
  1  metadata  ObjectMeta
  2  spec      ScaleSpec
  3  status    ScaleStatus

ScaleSpec
  1  replicas  int32

ScaleStatus
  1  replicas  int32!
  2  selector  string

HorizontalPodAutoscaler
  1  metadata  ObjectMeta
  2  spec      HorizontalPodAutoscalerSpec
  3  status    HorizontalPodAutoscalerStatus

HorizontalPodAutoscalerSpec
  1  scaleTargetRef                  CrossVersionObjectReference
  2  minReplicas                     int32!
  3  maxReplicas                     int32!
  4  targetCPUUtilizationPercentage  int32!

CrossVersionObjectReference
  1  kind        string!
  2  name        string!
  3  apiVersion  string

HorizontalPodAutoscalerStatus
  1  observedGeneration               int64!
  2  lastScaleTime                    Time
  3  currentReplicas                  int32!
  4  desiredReplicas                  int32!
  5  currentCPUUtilizationPercentage  int32!
"""

BATCH = """
Job
  1  metadata  ObjectMeta
  2  spec      JobSpec
  3  status    JobStatus

JobSpec
  1  parallelism              int32!
  2  completions              int32!
  3  activeDeadlineSeconds    int64!
  11 podFailurePolicy         PodFailurePolicy
  16 successPolicy            SuccessPolicy
  7  backoffLimit             int32!
  12 backoffLimitPerIndex     int32!
  13 maxFailedIndexes         int32!
  4  selector                 LabelSelector
  5  manualSelector           bool!
  6  template                 PodTemplateSpec
  8  ttlSecondsAfterFinished  int32!
  9  completionMode           string!
  10 suspend                  bool!
  14 podReplacementPolicy     string!
  15 managedBy                string!

PodFailurePolicy
  1  rules  [PodFailurePolicyRule]

PodFailurePolicyRule
  1  action           string!
  2  onExitCodes      PodFailurePolicyOnExitCodesRequirement
  3  onPodConditions  [PodFailurePolicyOnPodConditionsPattern]

PodFailurePolicyOnExitCodesRequirement
  1  containerName  string!
  2  operator       string!
  3  values         [int32]

PodFailurePolicyOnPodConditionsPattern
  1  type    string!
  2  status  string!

SuccessPolicy
  1  rules  [SuccessPolicyRule]

SuccessPolicyRule
  1  succeededIndexes  string!
  2  succeededCount    int32!

JobStatus
  1  conditions               [JobCondition]
  2  startTime                Time
  3  completionTime           Time
  4  active                   int32
  5  succeeded                int32
  6  failed                   int32
  11 terminating              int32!
  7  completedIndexes         string
  10 failedIndexes            string!
  8  uncountedTerminatedPods  UncountedTerminatedPods
  9  ready                    int32!

JobCondition
  1  type                string!
  2  status              string!
  3  lastProbeTime       Time
  4  lastTransitionTime  Time
  5  reason              string
  6  message             string

UncountedTerminatedPods
  1  succeeded  [string]
  2  failed     [string]

JobTemplateSpec
  1  metadata  ObjectMeta
  2  spec      JobSpec

CronJob
  1  metadata  ObjectMeta
  2  spec      CronJobSpec
  3  status    CronJobStatus

CronJobSpec
  1  schedule                    string!
  8  timeZone                    string!
  2  startingDeadlineSeconds     int64!
  3  concurrencyPolicy           string
  4  suspend                     bool!
  5  jobTemplate                 JobTemplateSpec
  6  successfulJobsHistoryLimit  int32!
  7  failedJobsHistoryLimit      int32!

CronJobStatus
  1  active              [ObjectReference]
  4  lastScheduleTime    Time
  5  lastSuccessfulTime  Time
"""

RBAC_AND_POLICY = """
Role
  1  metadata  ObjectMeta
  2  rules     [PolicyRule]

ClusterRole
  1  metadata         ObjectMeta
  2  rules            [PolicyRule]
  3  aggregationRule  AggregationRule

PolicyRule
  1  verbs            [string]
  2  apiGroups        [string]
  3  resources        [string]
  4  resourceNames    [string]
  5  nonResourceURLs  [string]

AggregationRule
  1  clusterRoleSelectors  [LabelSelector]

RoleBinding
  1  metadata  ObjectMeta
  2  subjects  [Subject]
  3  roleRef   RoleRef

ClusterRoleBinding = RoleBinding

Subject
  1  kind       string!
  2  apiGroup   string
  3  name       string!
  4  namespace  string

RoleRef
  1  apiGroup  string!
  2  kind      string!
  3  name      string!

PriorityClass
  1  metadata          ObjectMeta
  2  value             int32!
  3  globalDefault     bool
  4  description       string
  5  preemptionPolicy  string!

PodDisruptionBudget
  1  metadata  ObjectMeta
  2  spec      PodDisruptionBudgetSpec
  3  status    PodDisruptionBudgetStatus

PodDisruptionBudgetSpec
  1  minAvailable                IntOrString
  2  selector                    LabelSelector
  3  maxUnavailable              IntOrString
  4  unhealthyPodEvictionPolicy  string!

PodDisruptionBudgetStatus
  1  observedGeneration  int64
  2  disruptedPods       {Time}
  3  disruptionsAllowed  int32!
  4  currentHealthy      int32!
  5  desiredHealthy      int32!
  6  expectedPods        int32!
  7  conditions          [Condition]

Eviction
  1  metadata       ObjectMeta
  2  deleteOptions  DeleteOptions
"""

NETWORKING = """
Ingress
  1  metadata  ObjectMeta
  2  spec      IngressSpec
  3  status    IngressStatus

IngressSpec
  4  ingressClassName  string!
  1  defaultBackend    IngressBackend
  2  tls               [IngressTLS]
  3  rules             [IngressRule]

IngressBackend
  4  service   IngressServiceBackend
  3  resource  TypedLocalObjectReference

IngressServiceBackend
  1  name  string!
  2  port  ServiceBackendPort

ServiceBackendPort
  1  name    string
  2  number  int32

IngressTLS
  1  hosts       [string]
  2  secretName  string

IngressRule
  1  host  string
  2  ...IngressRuleValue

IngressRuleValue
  1  http  HTTPIngressRuleValue

HTTPIngressRuleValue
  1  paths  [HTTPIngressPath]

HTTPIngressPath
  1  path      string
  3  pathType  string!
  2  backend   IngressBackend

IngressStatus
  1  loadBalancer  IngressLoadBalancerStatus

IngressLoadBalancerStatus
  1  ingress  [IngressLoadBalancerIngress]

IngressLoadBalancerIngress
  1  ip        string
  2  hostname  string
  4  ports     [IngressPortStatus]

IngressPortStatus = PortStatus
"""

AUTH = """
SelfSubjectAccessReview
  1  metadata  ObjectMeta
  2  spec      SelfSubjectAccessReviewSpec
  3  status    SubjectAccessReviewStatus

SelfSubjectAccessReviewSpec
  1  resourceAttributes     ResourceAttributes
  2  nonResourceAttributes  NonResourceAttributes

SubjectAccessReview
  1  metadata  ObjectMeta
  2  spec      SubjectAccessReviewSpec
  3  status    SubjectAccessReviewStatus

LocalSubjectAccessReview = SubjectAccessReview

SubjectAccessReviewSpec
  1  resourceAttributes     ResourceAttributes
  2  nonResourceAttributes  NonResourceAttributes
  3  user                   string
  4  groups                 [string]
  5  extra                  {ExtraValue}
  6  uid                    string

ResourceAttributes
  1  namespace      string
  2  verb           string
  3  group          string
  4  version        string
  5  resource       string
  6  subresource    string
  7  name           string
  8  fieldSelector  FieldSelectorAttributes
  9  labelSelector  LabelSelectorAttributes

FieldSelectorAttributes
  1  rawSelector   string
  2  requirements  [FieldSelectorRequirement]

LabelSelectorAttributes
  1  rawSelector   string
  2  requirements  [LabelSelectorRequirement]

NonResourceAttributes
  1  path  string
  2  verb  string

SubjectAccessReviewStatus
  1  allowed          bool!
  4  denied           bool
  2  reason           string
  3  evaluationError  string

SelfSubjectRulesReview
  1  metadata  ObjectMeta
  2  spec      SelfSubjectRulesReviewSpec
  3  status    SubjectRulesReviewStatus

SubjectRulesReviewStatus
  1  resourceRules     [ResourceRule]
  2  nonResourceRules  [NonResourceRule]
  3  incomplete        bool!
  4  evaluationError   string

ResourceRule
  1  verbs          [string]
  2  apiGroups      [string]
  3  resources      [string]
  4  resourceNames  [string]

NonResourceRule
  1  verbs            [string]
  2  nonResourceURLs  [string]

SelfSubjectRulesReviewSpec
  1  namespace  string

TokenRequest
  1  metadata  ObjectMeta
  2  spec      TokenRequestSpec
  3  status    TokenRequestStatus

TokenRequestSpec
  1  audiences          [string]
  4  expirationSeconds  int64!
  3  boundObjectRef     BoundObjectReference

BoundObjectReference
  1  kind        string
  2  apiVersion  string
  3  name        string
  4  uid         string

TokenRequestStatus
  1  token                string!
  2  expirationTimestamp  Time

SelfSubjectReview
  1  metadata  ObjectMeta
  2  status    SelfSubjectReviewStatus

SelfSubjectReviewStatus
  1  userInfo  UserInfo

UserInfo
  1  username  string
  2  uid       string
  3  groups    [string]
  4  extra     {ExtraValue}
"""

# certificates/v1 (`kubectl certificate approve|deny` sends the whole request to /approval)
CERTIFICATES = """
CertificateSigningRequest
  1  metadata  ObjectMeta
  2  spec      CertificateSigningRequestSpec
  3  status    CertificateSigningRequestStatus

CertificateSigningRequestSpec
  1  request            bytes
  7  signerName         string
  8  expirationSeconds  int32!
  5  usages             [string]
  2  username           string
  3  uid                string
  4  groups             [string]
  6  extra              {ExtraValue}

CertificateSigningRequestStatus
  1  conditions   [CertificateSigningRequestCondition]
  2  certificate  bytes

CertificateSigningRequestCondition
  1  type                string!
  6  status              string!
  2  reason              string
  3  message             string
  4  lastUpdateTime      Time
  5  lastTransitionTime  Time
"""

# (group, kind) of the top-level objects a request body may carry → their message; all are version v1
KINDS: dict[tuple[str, str], str] = {
    ("", "Namespace"): "Namespace", ("", "Pod"): "Pod", ("", "Service"): "Service",
    ("", "ConfigMap"): "ConfigMap", ("", "Secret"): "Secret", ("", "ServiceAccount"): "ServiceAccount",
    ("", "ResourceQuota"): "ResourceQuota",
    ("apps", "Deployment"): "Deployment", ("apps", "ReplicaSet"): "ReplicaSet",
    ("autoscaling", "Scale"): "Scale",
    ("autoscaling", "HorizontalPodAutoscaler"): "HorizontalPodAutoscaler",  # (kubectl autoscale's v1 body)
    ("batch", "Job"): "Job", ("batch", "CronJob"): "CronJob",
    ("rbac.authorization.k8s.io", "Role"): "Role", ("rbac.authorization.k8s.io", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): "ClusterRoleBinding",
    ("scheduling.k8s.io", "PriorityClass"): "PriorityClass",
    ("policy", "PodDisruptionBudget"): "PodDisruptionBudget", ("policy", "Eviction"): "Eviction",
    ("networking.k8s.io", "Ingress"): "Ingress",
    ("authorization.k8s.io", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io", "SubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io", "LocalSubjectAccessReview"): "LocalSubjectAccessReview",
    ("authorization.k8s.io", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authentication.k8s.io", "TokenRequest"): "TokenRequest",
    ("authentication.k8s.io", "SelfSubjectReview"): "SelfSubjectReview",
    ("certificates.k8s.io", "CertificateSigningRequest"): "CertificateSigningRequest",
}
# kinds every group version registers (client-go encodes DeleteOptions in the target's group version)
ANY_GROUP_KINDS = {"DeleteOptions": "DeleteOptions"}


@attrs.frozen
class Field:
    """One field of a message: its JSON name and type, as the table says."""

    number: int
    name: str
    type: str                # a scalar, a special or a message name
    repeated: bool = False
    map: bool = False
    keep_zero: bool = False  # `!`: a zero value is kept
    inline: bool = False     # `...Name`: the message's fields land in the parent

    @property
    def scalar(self) -> bool:
        return self.type in SCALARS


@attrs.frozen
class Message:
    name: str
    fields: dict[int, Field]


def _field(line: str) -> Field:
    parts = line.split()
    if len(parts) == 2 and parts[1].startswith("..."):
        return Field(int(parts[0]), "", parts[1][3:], inline=True)
    number, name, spec = parts
    keep = spec.endswith("!")
    spec = spec.rstrip("!")
    repeated, is_map = spec.startswith("["), spec.startswith("{")
    if repeated or is_map:
        spec = spec[1:-1]
    return Field(int(number), name, spec, repeated=repeated, map=is_map, keep_zero=keep)


def parse(text: str) -> dict[str, Message]:
    """The messages of one table (see the module docstring for its form)."""
    messages: dict[str, Message] = {}
    aliases: dict[str, str] = {}
    current: dict[int, Field] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line.startswith(" "):
            if "=" in line:
                alias, target = (p.strip() for p in line.split("="))
                aliases[alias] = target
                current = None
                continue
            current = {}
            messages[line.strip()] = Message(line.strip(), current)
            continue
        assert current is not None, f"a field line outside a message: {line!r}"
        field = _field(line)
        current[field.number] = field
    for alias, target in aliases.items():
        messages[alias] = Message(alias, messages[target].fields)
    return messages


MESSAGES: dict[str, Message] = parse("\n".join((META, CORE_OBJECTS, CORE_PODS, APPS, BATCH, RBAC_AND_POLICY,
                                                  NETWORKING, AUTH, CERTIFICATES)))


def message_for(api_version: str, kind: str) -> str | None:
    """The message name of a top-level `apiVersion`/`kind`, or None when recon has no schema for it."""
    group, _, version = api_version.rpartition("/")
    if version != "v1":
        return None
    if kind in ANY_GROUP_KINDS:
        return ANY_GROUP_KINDS[kind]
    return KINDS.get((group, kind))
