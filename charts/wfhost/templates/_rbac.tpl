{{/*
The RBAC plan: which namespaces the host watches, which kinds enabled workflows read or
trigger on, and the rules rbac.yaml grants for them.
*/}}

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
