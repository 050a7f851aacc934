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

{{/* Labels of one service's pods (and what its Deployment, Service, PDB, ... select). */}}
{{- define "cp247.componentSelectorLabels" -}}
{{ include "cp247.selectorLabels" .root }}
app.kubernetes.io/component: {{ include "cp247.component" .name }}
{{- end }}

{{/*
Services that sign documents with the shared Ed25519 key (services/intake/app.py,
services/isp_liaison/app.py; the timeline signs the daily audit anchors): only their pods
mount it.
*/}}
{{- define "cp247.signers" -}}
{{- list "intake" "isp_liaison" "timeline" | toJson }}
{{- end }}

{{/* Autoscaling settings of one service: its own `autoscaling` over the chart-wide ones. */}}
{{- define "cp247.autoscaling" -}}
{{- merge (deepCopy (.svc.autoscaling | default dict)) (deepCopy .root.Values.autoscaling) | toJson }}
{{- end }}

{{/* Where the national policy file is mounted when `policy.settings` is given. */}}
{{- define "cp247.policyDir" -}}
/etc/cp247/policy
{{- end }}

{{/* Where the document signing key is mounted in the signers' pods. */}}
{{- define "cp247.signingKeyDir" -}}
/etc/cp247/signing
{{- end }}

{{/* The URL people reach the gateway at, when the Ingress says it. */}}
{{- define "cp247.publicUrl" -}}
{{- with .Values.gateway.ingress }}
{{- if and .enabled .host }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .tls.secretName))) .host }}
{{- end }}
{{- end }}
{{- end }}

{{/* Where the duty roster is mounted, and the services that read it. */}}
{{- define "cp247.rosterDir" -}}
/etc/cp247/roster
{{- end }}
{{- define "cp247.rosterReaders" -}}
["notification", "gateway"]
{{- end }}
