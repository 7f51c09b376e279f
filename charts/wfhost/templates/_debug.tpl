{{/*
The debug agent's second mechanism (debug.mechanism nodePod or auto): node pods run in
debug.nodePod.namespace, by default the release namespace.
*/}}
{{- define "wfhost.nodePodNamespace" -}}
{{- default .Release.Namespace .Values.debug.nodePod.namespace }}
{{- end }}

{{/*
"true" when the host may create node pods: a debug workflow is enabled and debug.mechanism
is nodePod or auto. Empty otherwise (ephemeralContainer, the default, needs no pod rights).
*/}}
{{- define "wfhost.nodePodsOn" -}}
{{- $plan := include "wfhost.rbacPlan" . | fromJson }}
{{- if and $plan.debug.enabled (ne .Values.debug.mechanism "ephemeralContainer") }}true{{ end }}
{{- end }}
