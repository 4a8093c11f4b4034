{{/* Labels every object of the release carries. */}}
{{- define "gatehouse.labels" -}}
app.kubernetes.io/name: gatehouse
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* What selects the operator's pods (stable across upgrades: never add to it). */}}
{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: gatehouse
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The one Gatehouse image: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "gatehouse.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The xDS address DataPlane pods dial: the gatehouse-xds Service of this namespace. */}}
{{- define "gatehouse.xdsAddress" -}}
{{- if .Values.operator.xdsAddress -}}
{{ .Values.operator.xdsAddress }}
{{- else -}}
gatehouse-xds.{{ .Release.Namespace }}.svc:{{ .Values.xds.port }}
{{- end -}}
{{- end -}}
