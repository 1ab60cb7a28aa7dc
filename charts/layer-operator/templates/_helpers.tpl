{{/*
Names and labels shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "layer-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's object prefix: fullnameOverride, else the release name when it already holds the
chart name (release `layer-operator` gives `layer-operator`, not `layer-operator-layer-operator`),
else `<release>-<chart>`.
*/}}
{{- define "layer-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "layer-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The syncer's object name. */}}
{{- define "layer-operator.syncerName" -}}
{{- printf "%s-syncer" (include "layer-operator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object the chart renders (upstream spec section 1.3: chart conventions). */}}
{{- define "layer-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "layer-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hev-layer
{{- end -}}

{{/* The syncer's selector labels (a Deployment selector is immutable: never change these). */}}
{{- define "layer-operator.syncerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "layer-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: syncer
{{- end -}}

{{/* Labels of the syncer's objects. */}}
{{- define "layer-operator.syncerLabels" -}}
{{ include "layer-operator.labels" . }}
app.kubernetes.io/component: syncer
layer.hev.dev/component: operator
{{- end -}}

{{/* The syncer's ServiceAccount. */}}
{{- define "layer-operator.serviceAccountName" -}}
{{- if .Values.syncer.serviceAccount.create -}}
{{- default (include "layer-operator.syncerName" .) .Values.syncer.serviceAccount.name -}}
{{- else -}}
{{- required "syncer.serviceAccount.name is required when syncer.serviceAccount.create is false" .Values.syncer.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The syncer image: repository, then @digest or :tag (the chart's appVersion by default). */}}
{{- define "layer-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The five hev layer resources, plural. */}}
{{- define "layer-operator.hevResources" -}}
{{- list "functions" "indexes" "infrarules" "pipelines" "vectorstores" | toJson -}}
{{- end -}}
