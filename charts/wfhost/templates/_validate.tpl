{{/*
Checks of the values that values.schema.json cannot express; configmap.yaml runs them.
*/}}

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
{{- if and .Values.persistence.enabled (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "persistence.enabled needs replicaCount 1, not %d: the findings store is one SQLite database on a ReadWriteOnce volume with one writer; turn persistence off for standby replicas (each then keeps its store on an emptyDir)" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "serviceAccount.name is required when serviceAccount.create is false" }}
{{- end }}
{{- if ge (float64 .Values.sandbox.shutdownGraceSeconds) (float64 .Values.terminationGracePeriodSeconds) }}
{{- fail "sandbox.shutdownGraceSeconds must be less than terminationGracePeriodSeconds, or the kubelet kills the host before running invocations finish" }}
{{- end }}
{{- end }}
