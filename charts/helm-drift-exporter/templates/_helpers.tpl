{{- define "hde.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hde.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "hde.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hde.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hde.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Namespaces scanned: rbac.namespaces in namespaced mode, else config.namespaces. */}}
{{- define "hde.namespaces" -}}
{{- if eq .Values.rbac.mode "namespaced" -}}
{{- join "," .Values.rbac.namespaces -}}
{{- else -}}
{{- join "," .Values.config.namespaces -}}
{{- end -}}
{{- end -}}

{{/* Read-only rules the exporter always needs: release storage, hook kinds, HPAs. Each is listed once, then watched. */}}
{{- define "hde.baseRules" -}}
- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods, serviceaccounts]
  verbs: [list, watch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch]
{{- end -}}
