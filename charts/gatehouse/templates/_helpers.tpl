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

{{/*
An image reference under global.imageRegistry: the registry takes the place of the reference's own
(its first path element when that names a host: it has a "." or ":", or is "localhost"), or goes in
front of a reference without one. Called with (dict "ref" REF "root" $).
*/}}
{{- define "gatehouse.registry" -}}
{{- $registry := ((.root.Values.global).imageRegistry | default "") | trimSuffix "/" -}}
{{- if $registry -}}
{{- $parts := splitList "/" .ref -}}
{{- $first := first $parts -}}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- printf "%s/%s" $registry (rest $parts | join "/") -}}
{{- else -}}
{{- printf "%s/%s" $registry .ref -}}
{{- end -}}
{{- else -}}
{{- .ref -}}
{{- end -}}
{{- end -}}

{{/*
The one Gatehouse image: repository@digest when image.digest is set, else repository:tag (the tag
defaulting to the chart's appVersion); under global.imageRegistry.
*/}}
{{- define "gatehouse.image" -}}
{{- $ref := "" -}}
{{- if .Values.image.digest -}}
{{- $ref = printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- $ref = printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- include "gatehouse.registry" (dict "ref" $ref "root" .) -}}
{{- end -}}

{{/* Envoy of DataPlane pods (--envoy-image), under global.imageRegistry. */}}
{{- define "gatehouse.envoyImage" -}}
{{- include "gatehouse.registry" (dict "ref" .Values.envoyImage "root" .) -}}
{{- end -}}

{{/* The xDS address DataPlane pods dial: the gatehouse-xds Service of this namespace. */}}
{{- define "gatehouse.xdsAddress" -}}
{{- if .Values.operator.xdsAddress -}}
{{ .Values.operator.xdsAddress }}
{{- else -}}
gatehouse-xds.{{ .Release.Namespace }}.svc:{{ .Values.xds.port }}
{{- end -}}
{{- end -}}

{{/* monitoring.labels and an object's own labels, for ServiceMonitor, PodMonitor and PrometheusRule. */}}
{{- define "gatehouse.monitoringLabels" -}}
{{- $labels := merge (deepCopy (.own | default dict)) (.root.Values.monitoring.labels | default dict) -}}
{{- with $labels -}}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/* interval (the monitor's own, else monitoring.interval) and scrapeTimeout of a scrape endpoint, or nothing. */}}
{{- define "gatehouse.scrapeTiming" -}}
{{- $timing := dict -}}
{{- with (.interval | default .root.Values.monitoring.interval) }}{{ $_ := set $timing "interval" . }}{{ end -}}
{{- with .root.Values.monitoring.scrapeTimeout }}{{ $_ := set $timing "scrapeTimeout" . }}{{ end -}}
{{- with $timing }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
The operator's NODE_OPTIONS: operator.nodeOptions when set; else, from resources.limits.memory given
as a whole number of Mi or Gi, V8's old generation capped at 60% of it and its semi-spaces at 16 MB
(the rest of the process, module code, young generation and buffers, is about 200 MB at start); no
limit in that form, no options (docs/architecture.md#the-operator-at-scale-issue-20).
*/}}
{{- define "gatehouse.operatorNodeOptions" -}}
{{- if .Values.operator.nodeOptions -}}
{{- .Values.operator.nodeOptions -}}
{{- else -}}
{{- $limit := toString ((.Values.resources).limits).memory | default "" -}}
{{- $mib := 0 -}}
{{- if regexMatch "^[0-9]+Gi$" $limit -}}
{{- $mib = mul (trimSuffix "Gi" $limit | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+Mi$" $limit -}}
{{- $mib = trimSuffix "Mi" $limit | atoi -}}
{{- end -}}
{{- if gt (int $mib) 0 -}}
{{- printf "--max-old-space-size=%d --max-semi-space-size=16" (div (mul $mib 6) 10) -}}
{{- end -}}
{{- end -}}
{{- end -}}
