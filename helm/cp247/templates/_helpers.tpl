{{/* Chart name. */}}
{{- define "cp247.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-qualified name; kept short (40) so that "<fullname>-<service>" stays
within the 63 characters of a Kubernetes label value.
*/}}
{{- define "cp247.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Kubernetes-safe component name of a service: isp_liaison -> isp-liaison. */}}
{{- define "cp247.component" -}}
{{- . | replace "_" "-" }}
{{- end }}

{{- define "cp247.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cp247.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cp247.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cp247.labels" -}}
helm.sh/chart: {{ include "cp247.chart" . }}
{{ include "cp247.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cp247.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
