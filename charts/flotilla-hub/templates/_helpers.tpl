{{/* The labels every object of the chart carries. */}}
{{- define "flotilla-hub.labels" -}}
app.kubernetes.io/name: flotilla-hub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: flotilla
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "flotilla-hub.selector" -}}
app.kubernetes.io/name: flotilla-hub
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Flotilla's policies and RBAC name fleet-system: the chart lives there. */}}
{{- define "flotilla-hub.namespace" -}}
{{- if ne .Release.Namespace "fleet-system" -}}
{{- fail (printf "install the flotilla-hub chart into the namespace fleet-system (helm install --namespace fleet-system --create-namespace), not %s: Flotilla's RBAC and policies name fleet-system" .Release.Namespace) -}}
{{- end -}}
fleet-system
{{- end }}
