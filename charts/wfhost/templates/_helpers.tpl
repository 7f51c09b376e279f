{{/*
Named helpers shared by the templates. Object names are truncated to 63 characters
because most of them also appear as label values and DNS labels, which Kubernetes caps at
63; a trailing "-" left by the cut is trimmed.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "wfhost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name, the prefix of every object name: fullnameOverride, else
"<release>-<chart>", or just the release name when it already contains the chart name.
*/}}
{{- define "wfhost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A name derived from the full name plus a suffix ("-read", "-workflows"...). Called with
(list $ "suffix"); the full name is shortened so the suffix always survives the 63
character cut.
*/}}
{{- define "wfhost.suffixedName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "wfhost.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/* "<chart>-<version>" for the helm.sh/chart label; "+" is not allowed in labels. */}}
{{- define "wfhost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels on every object. */}}
{{- define "wfhost.labels" -}}
helm.sh/chart: {{ include "wfhost.chart" . }}
{{ include "wfhost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wfhost
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The labels the Deployment, Service, PDB and NetworkPolicy select pods by. */}}
{{- define "wfhost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wfhost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the host runs as. */}}
{{- define "wfhost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wfhost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image reference from {repository, tag, digest}; called with (list $ .Values.x.image). */}}
{{- define "wfhost.imageRef" -}}
{{- $root := index . 0 }}
{{- $image := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: asked for, or more than one replica. */}}
{{- define "wfhost.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/* The Lease the replicas compete for. */}}
{{- define "wfhost.leaseName" -}}
{{- default (include "wfhost.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* Where the API token Secret is mounted, and the token file inside it. */}}
{{- define "wfhost.tokenDir" -}}/var/run/secrets/wfhost/api-token{{- end }}
{{- define "wfhost.configDir" -}}/etc/wfhost{{- end }}

{{/* The Secret holding the API token: an existing one, or the chart's own. */}}
{{- define "wfhost.tokenSecretName" -}}
{{- default (include "wfhost.suffixedName" (list . "api-token")) .Values.api.token.existingSecret }}
{{- end }}

{{/*
Where a URL sink's ("webhook", "slack") Secret is mounted, one directory per sink, and the
URL file in it: the host config's sinks.<sink>.urlFile.
*/}}
{{- define "wfhost.sinkUrlDir" -}}/var/run/secrets/wfhost/sinks/{{ . }}{{- end }}
{{- define "wfhost.sinkUrlFile" -}}{{ include "wfhost.sinkUrlDir" . }}/url{{- end }}

{{/*
The URL sinks that read their URL from a mounted Secret, as JSON {sink: {name, key}}:
those enabled with urlSecret.name set. A disabled sink mounts nothing, so the Secret it
names need not exist.
*/}}
{{- define "wfhost.sinkUrlSecrets" -}}
{{- $out := dict }}
{{- range $sink := list "webhook" "slack" }}
{{- $values := index $.Values.sinks $sink }}
{{- if and $values.enabled $values.urlSecret.name }}
{{- $_ := set $out $sink $values.urlSecret }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* The ConfigMap mounted as the custom workflows directory. */}}
{{- define "wfhost.workflowsConfigMapName" -}}
{{- if .Values.customWorkflows.typescript.files }}
{{- include "wfhost.suffixedName" (list . "workflows") }}
{{- else }}
{{- .Values.customWorkflows.typescript.volume.configMap.name }}
{{- end }}
{{- end }}

{{/*
The namespaces the host watches, as a JSON list: cluster.namespaces, or with a namespaced
install and no list, the release namespace. An empty list means every namespace.
*/}}
{{- define "wfhost.watchNamespaces" -}}
{{- $namespaces := .Values.cluster.namespaces | default list }}
{{- if and .Values.rbac.namespaced (not $namespaces) }}
{{- $namespaces = list .Release.Namespace }}
{{- end }}
{{- toJson $namespaces }}
{{- end }}

{{/*
Which permissions the host needs and where, as JSON, derived from what is switched on:

  read:  {cluster: bool, namespaces: [...]}  pods, pods/log, events, and the namespaced
         kinds enabled workflows read or trigger on (wfhost.readKinds). Cluster-wide when
         the host watches every namespace, else only in the watched namespaces.
  cluster-read: {enabled: bool, cluster: true, namespaces: []}  the cluster-scoped kinds
         enabled workflows read or trigger on (nodes, namespaces...), always bound
         cluster-wide. Off when there are none, and in a namespaced install (which may not
         grant them).
  debug: {enabled: bool, cluster: bool, namespaces: [...]}  pods/ephemeralcontainers and
         pods/exec, needed by the debug actions. Enabled while any debug workflow is: a
         debug tool (workflows.podTroubleshooting.*, each of them uses debug actions) or
         custom workflows holding a debug.* capability. The explainers never count: they
         only read (wfhost.explainerReads). Scoped to the union of those workflows'
         namespaces (within the watched ones) when every one of them names its namespaces,
         else to the watched namespaces (cluster-wide when the host watches everything).

A namespaced install never asks for cluster-wide access.
*/}}
{{- define "wfhost.rbacPlan" -}}
{{- $watch := include "wfhost.watchNamespaces" . | fromJsonArray }}
{{- $debugOn := false }}
{{- $debugEverywhere := false }}
{{- $debugNamespaces := list }}
{{- /* Every debug tool uses debug actions; the explainers only read. */}}
{{- range $name, $workflow := .Values.workflows.podTroubleshooting }}
{{- if $workflow.enabled }}
{{- $debugOn = true }}
{{- if $workflow.namespaces }}
{{- $debugNamespaces = concat $debugNamespaces $workflow.namespaces }}
{{- else }}
{{- $debugEverywhere = true }}
{{- end }}
{{- end }}
{{- end }}
{{- $custom := .Values.customWorkflows.typescript }}
{{- if $custom.enabled }}
{{- range $custom.defaultCapabilities }}
{{- if hasPrefix "debug." . }}
{{- /* Unnamed custom workflows are not scoped to namespaces. */}}
{{- $debugOn = true }}
{{- $debugEverywhere = true }}
{{- end }}
{{- end }}
{{- range $grant := $custom.grants }}
{{- range $grant.capabilities }}
{{- if hasPrefix "debug." . }}
{{- $debugOn = true }}
{{- if $grant.namespaces }}
{{- $debugNamespaces = concat $debugNamespaces $grant.namespaces }}
{{- else }}
{{- $debugEverywhere = true }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $read := dict "cluster" (and (not .Values.rbac.namespaced) (not $watch)) "namespaces" $watch }}
{{- $debug := dict "enabled" $debugOn "cluster" false "namespaces" list }}
{{- if $debugOn }}
{{- if $debugEverywhere }}
{{- $_ := set $debug "cluster" (get $read "cluster") }}
{{- $_ := set $debug "namespaces" $watch }}
{{- else }}
{{- $scoped := list }}
{{- range $debugNamespaces | uniq | sortAlpha }}
{{- /* Outside the watched namespaces the host cannot even read the pod. */}}
{{- if or (not $watch) (has . $watch) }}
{{- $scoped = append $scoped . }}
{{- end }}
{{- end }}
{{- $_ := set $debug "namespaces" $scoped }}
{{- end }}
{{- end }}
{{- $clusterKinds := (include "wfhost.readKinds" . | fromJson).cluster }}
{{- $clusterRead := dict "enabled" (and (not .Values.rbac.namespaced) (gt (len $clusterKinds) 0)) "cluster" true "namespaces" list }}
{{- toJson (dict "read" $read "debug" $debug "cluster-read" $clusterRead) }}
{{- end }}

{{/*
The RBAC resource of every kind the chart knows (host/kube/resources.py WELL_KNOWN), keyed
by group/Kind, or Kind alone for the core group: RBAC rules name groups and plurals, not
versions, so apps/v1/Deployment and apps/v1beta2/Deployment are the same resource.
cluster: true marks cluster-scoped kinds. v1/Secret is left out on purpose: Secrets are
never readable. Kinds missing here (CRDs) take their plural from rbac.extraKinds.
*/}}
{{- define "wfhost.knownKinds" -}}
Pod: {plural: pods}
Event: {plural: events}
Node: {plural: nodes, cluster: true}
Namespace: {plural: namespaces, cluster: true}
ConfigMap: {plural: configmaps}
Service: {plural: services}
Endpoints: {plural: endpoints}
ServiceAccount: {plural: serviceaccounts}
PersistentVolumeClaim: {plural: persistentvolumeclaims}
PersistentVolume: {plural: persistentvolumes, cluster: true}
ResourceQuota: {plural: resourcequotas}
LimitRange: {plural: limitranges}
ReplicationController: {plural: replicationcontrollers}
apps/Deployment: {plural: deployments}
apps/ReplicaSet: {plural: replicasets}
apps/StatefulSet: {plural: statefulsets}
apps/DaemonSet: {plural: daemonsets}
apps/ControllerRevision: {plural: controllerrevisions}
batch/Job: {plural: jobs}
batch/CronJob: {plural: cronjobs}
autoscaling/HorizontalPodAutoscaler: {plural: horizontalpodautoscalers}
policy/PodDisruptionBudget: {plural: poddisruptionbudgets}
networking.k8s.io/Ingress: {plural: ingresses}
networking.k8s.io/IngressClass: {plural: ingressclasses, cluster: true}
networking.k8s.io/NetworkPolicy: {plural: networkpolicies}
discovery.k8s.io/EndpointSlice: {plural: endpointslices}
events.k8s.io/Event: {plural: events}
storage.k8s.io/StorageClass: {plural: storageclasses, cluster: true}
scheduling.k8s.io/PriorityClass: {plural: priorityclasses, cluster: true}
coordination.k8s.io/Lease: {plural: leases}
apiextensions.k8s.io/CustomResourceDefinition: {plural: customresourcedefinitions, cluster: true}
{{- end }}

{{/* The kind a semantic event kind makes the host watch (host/sources/demand.py FEED_OF_KIND). */}}
{{- define "wfhost.feedKinds" -}}
job.failed: batch/v1/Job
node.notReady: v1/Node
node.pressure: v1/Node
deployment.rolloutStuck: apps/v1/Deployment
{{- end }}

{{/*
The kinds the built-in explainers read, by values key (workflows.<group>.<explainer>):
what each explainer's manifest declares as its `reads` (tests/chart/test_rbac.py keeps
the two in step). WORKLOAD_KINDS stands for the kinds that own pods (wfhost.workloadKinds,
@wfhost/sdk/explain's WORKLOAD_KINDS). The debug tools (podTroubleshooting) read pods,
their logs and events only, which every workflow gets.
*/}}
{{- define "wfhost.explainerReads" -}}
podEnrichment:
  restartLoopReporter: [WORKLOAD_KINDS]
  imagePullBackoffEnricher: [WORKLOAD_KINDS]
  podInvestigatorEnricher: [WORKLOAD_KINDS, v1/Node, v1/PersistentVolumeClaim, v1/ConfigMap]
  podEvictedEnrichments: [WORKLOAD_KINDS, v1/Node]
  podCreationEnricher: [WORKLOAD_KINDS, v1/ResourceQuota]
oomKiller:
  podOomKillerEnricher: [WORKLOAD_KINDS, v1/Node]
jobs:
  jobFailureReporter: [batch/v1/Job, batch/v1/CronJob]
nodes:
  nodeStatusEnricher: [v1/Node]
alertEnrichment:
  defaultEnricher: [WORKLOAD_KINDS, v1/Node]
{{- end }}

{{/* The kinds that own pods, directly or through another owner. */}}
{{- define "wfhost.workloadKinds" -}}
[apps/v1/ReplicaSet, apps/v1/Deployment, apps/v1/StatefulSet, apps/v1/DaemonSet, batch/v1/Job, batch/v1/CronJob]
{{- end }}

{{/* wfhost.explainerReads with WORKLOAD_KINDS spelled out, as JSON {group: {explainer: [kind...]}}. */}}
{{- define "wfhost.explainerKinds" -}}
{{- $workloads := include "wfhost.workloadKinds" . | fromYamlArray }}
{{- $out := dict }}
{{- range $group, $explainers := include "wfhost.explainerReads" . | fromYaml }}
{{- $expanded := dict }}
{{- range $name, $reads := $explainers }}
{{- $kinds := list }}
{{- range $reads }}
{{- if eq . "WORKLOAD_KINDS" }}
{{- $kinds = concat $kinds $workloads }}
{{- else }}
{{- $kinds = append $kinds . }}
{{- end }}
{{- end }}
{{- $_ := set $expanded $name $kinds }}
{{- end }}
{{- $_ := set $out $group $expanded }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The kinds enabled workflows read or trigger on, as a JSON list of {kind, from} (from: the
value that asks for it, for error messages):
  - enabled explainers: the kinds they read (wfhost.explainerReads);
  - enabled built-ins (debug tools and explainers): the resource of each of their trigger
    bindings, and the kind a semantic trigger (job.failed, node.*,
    deployment.rolloutStuck) watches;
  - with custom workflows enabled: customWorkflows.typescript.defaultReads, every grant's
    reads, and the same for every grant's trigger bindings.
*/}}
{{- define "wfhost.wantedKinds" -}}
{{- $feeds := include "wfhost.feedKinds" . | fromYaml }}
{{- $out := list }}
{{- $bindings := list }}
{{- range $group, $explainers := include "wfhost.explainerKinds" . | fromJson }}
{{- range $name, $kinds := $explainers }}
{{- if (index $.Values.workflows $group $name).enabled }}
{{- range $kinds }}
{{- $out = append $out (dict "kind" . "from" (printf "workflows.%s.%s (its reads)" $group $name)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $group, $workflows := .Values.workflows }}
{{- range $name, $workflow := $workflows }}
{{- if and $workflow.enabled $workflow.triggers }}
{{- $bindings = append $bindings (list (printf "workflows.%s.%s.triggers" $group $name) $workflow.triggers) }}
{{- end }}
{{- end }}
{{- end }}
{{- $ts := .Values.customWorkflows.typescript }}
{{- if $ts.enabled }}
{{- range $ts.defaultReads }}
{{- $out = append $out (dict "kind" . "from" "customWorkflows.typescript.defaultReads") }}
{{- end }}
{{- range $i, $grant := $ts.grants }}
{{- range $grant.reads }}
{{- $out = append $out (dict "kind" . "from" (printf "customWorkflows.typescript.grants[%d].reads" $i)) }}
{{- end }}
{{- if $grant.triggers }}
{{- $bindings = append $bindings (list (printf "customWorkflows.typescript.grants[%d].triggers" $i) $grant.triggers) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $entry := $bindings }}
{{- $where := index $entry 0 }}
{{- range $j, $binding := include "wfhost.triggers" (index $entry 1) | fromJsonArray }}
{{- with $binding.resource }}
{{- $out = append $out (dict "kind" . "from" (printf "%s[%d].resource" $where $j)) }}
{{- end }}
{{- with get $feeds (toString $binding.on) }}
{{- $out = append $out (dict "kind" . "from" (printf "%s[%d].on (%s)" $where $j $binding.on)) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The RBAC resources of the wanted kinds, as JSON {namespaced: {group: [plural...]},
cluster: {group: [plural...]}}, plurals sorted and deduplicated. Pods and core Events are
left out (the read rules always grant them). Fails on a kind that is malformed, a glob,
v1/Secret, or unknown to the chart and missing from rbac.extraKinds.
*/}}
{{- define "wfhost.readKinds" -}}
{{- $known := include "wfhost.knownKinds" . | fromYaml }}
{{- $kindPattern := `^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+((alpha|beta)[0-9]+)?/[A-Z][A-Za-z0-9]*$` }}
{{- $extra := dict }}
{{- range $i, $entry := .Values.rbac.extraKinds | default list }}
{{- $kind := toString $entry.kind }}
{{- if not (regexMatch $kindPattern $kind) }}
{{- fail (printf "rbac.extraKinds[%d].kind: %q is not a kind: write apiVersion/Kind, such as example.com/v1/Widget" $i $kind) }}
{{- end }}
{{- if not (regexMatch `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (toString $entry.plural)) }}
{{- fail (printf "rbac.extraKinds[%d].plural: %q is not a resource name such as widgets" $i (toString $entry.plural)) }}
{{- end }}
{{- $parts := splitList "/" $kind }}
{{- $group := ternary "" (first $parts) (eq (len $parts) 2) }}
{{- if or (eq $kind "v1/Secret") (and (eq $group "") (eq $entry.plural "secrets")) }}
{{- fail (printf "rbac.extraKinds[%d]: Secrets are never readable by workflows" $i) }}
{{- end }}
{{- $cluster := and (hasKey $entry "namespaced") (not $entry.namespaced) }}
{{- $_ := set $extra (ternary (last $parts) (printf "%s/%s" $group (last $parts)) (eq $group "")) (dict "plural" $entry.plural "cluster" $cluster) }}
{{- end }}
{{- $out := dict "namespaced" dict "cluster" dict }}
{{- range $wanted := include "wfhost.wantedKinds" . | fromJsonArray }}
{{- $kind := toString $wanted.kind }}
{{- if regexMatch `[*?\[]` $kind }}
{{- fail (printf "%s: %q is a glob; the chart grants RBAC on exact kinds only: list each kind as apiVersion/Kind" $wanted.from $kind) }}
{{- end }}
{{- if not (regexMatch $kindPattern $kind) }}
{{- fail (printf "%s: %q is not a kind: write apiVersion/Kind, such as apps/v1/Deployment or v1/Node" $wanted.from $kind) }}
{{- end }}
{{- if eq $kind "v1/Secret" }}
{{- fail (printf "%s: v1/Secret: Secrets are never readable by workflows" $wanted.from) }}
{{- end }}
{{- $parts := splitList "/" $kind }}
{{- $group := ternary "" (first $parts) (eq (len $parts) 2) }}
{{- $key := ternary (last $parts) (printf "%s/%s" $group (last $parts)) (eq $group "") }}
{{- $resource := get $known $key | default (get $extra $key) }}
{{- if not $resource }}
{{- /* Without rbac.create the operator binds the roles; the chart needs no plural then. */}}
{{- if $.Values.rbac.create }}
{{- fail (printf "%s: %s is a kind the chart does not know the RBAC resource of: add it to rbac.extraKinds, e.g. {kind: %s, plural: <the CRD's spec.names.plural>} (and namespaced: false for a cluster-scoped kind)" $wanted.from $kind $kind) }}
{{- end }}
{{- else if not (and (eq $group "") (has $resource.plural (list "pods" "events"))) }}
{{- $scope := get $out "namespaced" }}
{{- if $resource.cluster }}
{{- $scope = get $out "cluster" }}
{{- end }}
{{- $_ := set $scope $group (append (get $scope $group | default list) $resource.plural | uniq | sortAlpha) }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* get/list/watch rules for a {group: [plural...]} map: one rule per group, groups sorted. */}}
{{- define "wfhost.kindRules" -}}
{{- range $group := keys . | sortAlpha }}
{{- $resources := list }}
{{- range get $ $group }}
{{- $resources = append $resources (quote .) }}
{{- end }}
- apiGroups: [{{ quote $group }}]
  resources: [{{ join ", " $resources }}]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end }}

{{/*
The RBAC rules for reading pods, their logs and events, then the namespaced kinds
enabled workflows read or trigger on (wfhost.readKinds).
*/}}
{{- define "wfhost.readRules" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["get", "list", "watch"]
{{- with (include "wfhost.readKinds" . | fromJson).namespaced }}
{{- include "wfhost.kindRules" . }}
{{- end }}
{{- end }}

{{/* The RBAC rules for the cluster-scoped kinds enabled workflows read or trigger on. */}}
{{- define "wfhost.clusterReadRules" -}}
{{- include "wfhost.kindRules" (include "wfhost.readKinds" . | fromJson).cluster }}
{{- end }}

{{/*
The RBAC rules of the debug backend: add an ephemeral container to a pod (a patch of the
pods/ephemeralcontainers subresource) and run the debug agent in it (pods/exec; "get" is
what the WebSocket exec protocol asks for, "create" the older SPDY one).
*/}}
{{- define "wfhost.debugRules" -}}
- apiGroups: [""]
  resources: ["pods/ephemeralcontainers"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["pods/exec"]
  verbs: ["create", "get"]
{{- end }}

{{/*
The host's config file, built from the values sections that mirror it. Chart-only keys
(files, paths, token, urlSecret) are turned into what the host reads: mounted paths and
names.
*/}}
{{- define "wfhost.hostConfig" -}}
{{- $v := .Values }}
{{- $le := $v.leaderElection }}
{{- $ts := $v.customWorkflows.typescript }}
{{- $sinks := deepCopy $v.sinks }}
{{- $urlSecrets := include "wfhost.sinkUrlSecrets" . | fromJson }}
{{- range $sink := list "webhook" "slack" }}
{{- $sinkConfig := get $sinks $sink }}
{{- /* The host's model has no urlSecret key; a URL from a Secret is a urlFile. */}}
{{- $_ := unset $sinkConfig "urlSecret" }}
{{- if hasKey $urlSecrets $sink }}
{{- $_ := set $sinkConfig "url" "" }}
{{- $_ := set $sinkConfig "urlFile" (include "wfhost.sinkUrlFile" $sink) }}
{{- end }}
{{- end }}
{{- $api := dict "enabled" true "host" "0.0.0.0" "port" $v.api.port "tokenFile" (printf "%s/%s" (include "wfhost.tokenDir" .) $v.api.token.secretKey) }}
{{- with $v.api.publicUrl }}
{{- $_ := set $api "publicUrl" . }}
{{- end }}
{{- $config := dict
  "workflows" (include "wfhost.builtinWorkflows" . | fromJson)
  "customWorkflows" (dict "typescript" (dict
    "enabled" $ts.enabled
    "volume" (dict "mountPath" $ts.volume.mountPath "configMap" (dict "name" (include "wfhost.workflowsConfigMapName" .)))
    "defaultCapabilities" $ts.defaultCapabilities
    "defaultReads" ($ts.defaultReads | default list)
    "grants" (include "wfhost.grants" . | fromJsonArray)))
  "sandbox" (merge (dict "sdkPath" $v.image.paths.sdk) (deepCopy $v.sandbox))
  "sinks" $sinks
  "api" $api
  "cluster" (dict
    "namespaces" (include "wfhost.watchNamespaces" . | fromJsonArray)
    "watchTimeoutSeconds" $v.cluster.watchTimeoutSeconds
    "backoff" $v.cluster.backoff)
  "triggers" $v.triggers
  "debug" (dict
    "image" (include "wfhost.imageRef" (list . $v.debug.image))
    "maxEphemeralContainersPerPod" $v.debug.maxEphemeralContainersPerPod
    "actionTimeoutSeconds" $v.debug.actionTimeoutSeconds
    "containerStartTimeoutSeconds" $v.debug.containerStartTimeoutSeconds)
  "leaderElection" (dict
    "enabled" (eq (include "wfhost.leaderElection" .) "true")
    "leaseName" (include "wfhost.leaseName" .)
    "leaseNamespace" .Release.Namespace
    "leaseDurationSeconds" $le.leaseDurationSeconds
    "renewDeadlineSeconds" $le.renewDeadlineSeconds
    "retryPeriodSeconds" $le.retryPeriodSeconds)
  "logging" $v.logging
  "limits" $v.limits
}}
{{- toYaml $config }}
{{- end }}

{{/*
Trigger bindings as JSON with the "on" key restored: YAML 1.1 (which Helm uses for values
files) reads an unquoted `on:` key as `true`, so a binding written the natural way arrives
as {"true": "pod.crashLoop"}.
*/}}
{{- define "wfhost.triggers" -}}
{{- $out := list }}
{{- range . }}
{{- $binding := deepCopy . }}
{{- if hasKey $binding "true" }}
{{- $_ := set $binding "on" (get $binding "true") }}
{{- $_ := unset $binding "true" }}
{{- end }}
{{- $out = append $out $binding }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* The built-in workflows' settings (every group), with their trigger bindings repaired. */}}
{{- define "wfhost.builtinWorkflows" -}}
{{- $workflows := deepCopy .Values.workflows }}
{{- range $group, $section := $workflows }}
{{- range $name, $workflow := $section }}
{{- if hasKey $workflow "triggers" }}
{{- $_ := set $workflow "triggers" (include "wfhost.triggers" $workflow.triggers | fromJsonArray) }}
{{- end }}
{{- end }}
{{- end }}
{{- $_ := set $workflows "builtinDirectory" .Values.image.paths.builtinWorkflows }}
{{- toJson $workflows }}
{{- end }}

{{/* The custom workflow grants, with their trigger bindings repaired. */}}
{{- define "wfhost.grants" -}}
{{- $grants := list }}
{{- range .Values.customWorkflows.typescript.grants }}
{{- $grant := deepCopy . }}
{{- if hasKey $grant "triggers" }}
{{- $_ := set $grant "triggers" (include "wfhost.triggers" $grant.triggers | fromJsonArray) }}
{{- end }}
{{- $grants = append $grants $grant }}
{{- end }}
{{- toJson $grants }}
{{- end }}

{{/* Fails the render on combinations the schema cannot express. */}}
{{- define "wfhost.validate" -}}
{{- $ts := .Values.customWorkflows.typescript }}
{{- if and $ts.files (not $ts.enabled) }}
{{- fail "customWorkflows.typescript.files is set but customWorkflows.typescript.enabled is false: enable custom workflows or remove the files" }}
{{- end }}
{{- $seen := dict }}
{{- range $path, $_ := $ts.files }}
{{- $key := $path | replace "/" "__" }}
{{- if hasKey $seen $key }}
{{- fail (printf "customWorkflows.typescript.files: %q and %q map to the same ConfigMap key %q" (get $seen $key) $path $key) }}
{{- end }}
{{- $_ := set $seen $key $path }}
{{- end }}
{{- $le := .Values.leaderElection }}
{{- if ge (float64 $le.renewDeadlineSeconds) (float64 $le.leaseDurationSeconds) }}
{{- fail "leaderElection.renewDeadlineSeconds must be less than leaderElection.leaseDurationSeconds" }}
{{- end }}
{{- if ge (float64 $le.retryPeriodSeconds) (float64 $le.renewDeadlineSeconds) }}
{{- fail "leaderElection.retryPeriodSeconds must be less than leaderElection.renewDeadlineSeconds" }}
{{- end }}
{{- with .Values.sinks.spoolDirectory }}
{{- $writable := list $.Values.sandbox.stateDir "/tmp" }}
{{- if $.Values.sinks.files.enabled }}
{{- $writable = append $writable $.Values.sinks.files.directory }}
{{- end }}
{{- $inside := false }}
{{- range $writable }}
{{- if or (eq $.Values.sinks.spoolDirectory .) (hasPrefix (printf "%s/" (trimSuffix "/" .)) $.Values.sinks.spoolDirectory) }}
{{- $inside = true }}
{{- end }}
{{- end }}
{{- if not $inside }}
{{- fail (printf "sinks.spoolDirectory %s is not writable: the root filesystem is read-only; put it under one of %s" . (join ", " $writable)) }}
{{- end }}
{{- end }}
{{- /* The schema rejects this too; this message also reaches installs that skip it. */}}
{{- range $sink := list "webhook" "slack" }}
{{- $values := index $.Values.sinks $sink }}
{{- if and $values.enabled (not $values.url) (not $values.urlSecret.name) }}
{{- fail (printf "sinks.%s is enabled but has no URL: set sinks.%s.url, or sinks.%s.urlSecret.name to a Secret holding it" $sink $sink $sink) }}
{{- end }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "serviceAccount.name is required when serviceAccount.create is false" }}
{{- end }}
{{- if ge (float64 .Values.sandbox.shutdownGraceSeconds) (float64 .Values.terminationGracePeriodSeconds) }}
{{- fail "sandbox.shutdownGraceSeconds must be less than terminationGracePeriodSeconds, or the kubelet kills the host before running invocations finish" }}
{{- end }}
{{- end }}
