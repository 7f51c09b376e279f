{{/*
Names, labels and mount paths shared by the templates. Object names are truncated to 63
characters because most of them also appear as label values and DNS labels, which
Kubernetes caps at 63; a trailing "-" left by the cut is trimmed.
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

{{/*
The host config's findings.store.directory: the claim's mount with persistence, else a
directory in the state emptyDir.
*/}}
{{- define "wfhost.storeDir" -}}
{{- if .Values.persistence.enabled }}/var/lib/wfhost/store{{ else }}{{ trimSuffix "/" .Values.sandbox.stateDir }}/findings{{ end }}
{{- end }}

{{/* The findings store's PersistentVolumeClaim: an existing one, or the chart's own. */}}
{{- define "wfhost.storeClaimName" -}}
{{- default (include "wfhost.suffixedName" (list . "findings")) .Values.persistence.existingClaim }}
{{- end }}

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
