{{/* The labels of every child and of the pod template. */}}
{{- define "peer.labels" -}}
app.kubernetes.io/managed-by: layer-render
app.kubernetes.io/part-of: hev-layer
{{- if eq .kind "Pipeline" }}
hevlayer.com/pipeline: {{ .name | quote }}
{{- else }}
hevlayer.com/function: {{ .name | quote }}
{{- end }}
layer.hev.dev/component: worker
layer.hev.dev/owner-kind: {{ .kind }}
layer.hev.dev/owner-name: {{ .name | quote }}
{{- if eq .kind "Pipeline" }}
layer.hev.dev/pipeline-id: {{ .pipelineId | default .name | quote }}
{{- end }}
{{- end }}

{{/* The Deployment's and the Service's selector: the owner labels. */}}
{{- define "peer.selector" -}}
layer.hev.dev/owner-kind: {{ .kind }}
layer.hev.dev/owner-name: {{ .name | quote }}
{{- end }}
