{{/*
The host's config.yaml (configmap.yaml), rendered from the values sections that mirror it.
*/}}

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
{{- $_ := set $api "auth" (dict "kubernetes" (deepCopy $v.api.auth.kubernetes)) }}
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
  "findings" (dict
    "store" (merge (dict "directory" (include "wfhost.storeDir" .)) (deepCopy $v.findings.store))
    "delivery" $v.findings.delivery)
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
    "containerStartTimeoutSeconds" $v.debug.containerStartTimeoutSeconds
    "mechanism" $v.debug.mechanism
    "nodePod" (dict "namespace" (include "wfhost.nodePodNamespace" .)))
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
