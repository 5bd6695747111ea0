{{/* The chart's name, or nameOverride. */}}
{{- define "hde.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of every object: fullnameOverride, else the release name with the chart's name (once). */}}
{{- define "hde.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "hde.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The namespace of the namespaced objects: namespaceOverride (for umbrella charts), else the release's. */}}
{{- define "hde.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "hde.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hde.labels" -}}
{{ include "hde.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: exporter
helm.sh/chart: {{ include "hde.chart" . }}
{{- with .Values.commonLabels }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end -}}

{{- define "hde.selector" -}}
app.kubernetes.io/name: {{ include "hde.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hde.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hde.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag@digest; global.imageRegistry (umbrella charts) wins over image.registry. */}}
{{- define "hde.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $repository := .Values.image.repository -}}
{{- if $registry }}{{ $repository = printf "%s/%s" $registry $repository }}{{ end -}}
{{- $image := printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- if .Values.image.digest }}{{ $image = printf "%s@%s" $image .Values.image.digest }}{{ end -}}
{{- $image -}}
{{- end -}}

{{/* imagePullSecrets and global.imagePullSecrets, each as a name or as {name: ...}. */}}
{{- define "hde.imagePullSecrets" -}}
{{- range (concat .Values.global.imagePullSecrets .Values.imagePullSecrets) }}
{{- if kindIs "map" . }}
- {{ toYaml . | trim }}
{{- else }}
- name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Namespaces scanned: rbac.namespaces in namespaced mode, else config.namespaces. */}}
{{- define "hde.namespaces" -}}
{{- if eq .Values.rbac.mode "namespaced" -}}
{{- join "," .Values.rbac.namespaces -}}
{{- else -}}
{{- join "," (default list .Values.config.namespaces) -}}
{{- end -}}
{{- end -}}

{{- define "hde.webConfigDir" -}}/etc/helm-drift-exporter/web{{- end -}}
{{- define "hde.kubeconfigDir" -}}/etc/helm-drift-exporter/kubeconfig{{- end -}}

{{/* Probes and the ServiceMonitor speak HTTPS when the web config has TLS. */}}
{{- define "hde.scheme" -}}
{{- if and .Values.webConfig.secret .Values.webConfig.tls }}https{{ else }}http{{ end -}}
{{- end -}}

{{/*
The exporter's config file: .Values.config as given (the keys of the README's config.yaml; the
schema checks them), with the keys the chart owns: the listen address (service.port), the web
config file, the kubeconfig, and the namespaces in namespaced RBAC mode. Empty strings are left
out, so the exporter's defaults apply.
*/}}
{{- define "hde.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- range $key, $value := $config }}
{{- if and (kindIs "string" $value) (eq $value "") }}{{ $_ := unset $config $key }}{{ end }}
{{- end }}
{{- if eq .Values.rbac.mode "namespaced" }}
{{- $_ := set $config "namespaces" .Values.rbac.namespaces }}
{{- end }}
{{- $web := default dict $config.web }}
{{- $_ := set $web "listenAddress" (printf ":%v" .Values.service.port) }}
{{- if .Values.webConfig.secret }}
{{- $_ := set $web "configFile" (printf "%s/web.yml" (include "hde.webConfigDir" .)) }}
{{- end }}
{{- $_ := set $config "web" $web }}
{{- if .Values.kubeconfig.enabled }}
{{- $_ := set $config "kubeconfig" (printf "%s/%s" (include "hde.kubeconfigDir" .) .Values.kubeconfig.key) }}
{{- end }}
{{- toYaml $config }}
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
{{- /* Whether a release's namespace is being deleted (rollback readiness). Cluster-wide: watched.
  A Role in a namespace may grant `get` of that namespace's own object (the apiserver authorizes
  GET /api/v1/namespaces/<ns> as in <ns>), which the exporter reads by name when it cannot list. */}}
- apiGroups: [""]
  resources: [namespaces]
  verbs: {{ if eq .Values.rbac.mode "cluster" }}[get, list, watch]{{ else }}[get]{{ end }}
{{- end -}}

{{/* A probe from values, with the scheme of the web config unless it names one. */}}
{{- define "hde.probe" -}}
{{- $probe := deepCopy .probe -}}
{{- if $probe.httpGet }}
{{- $_ := set $probe "httpGet" (merge (dict) $probe.httpGet (dict "scheme" (upper (include "hde.scheme" .root)))) }}
{{- end }}
{{- toYaml $probe }}
{{- end -}}

{{/* The job label of the scraped series, and the alert rules' default selector of them. */}}
{{- define "hde.ruleSelector" -}}
{{- default (printf "job=%q" .Values.serviceMonitor.jobLabel) .Values.prometheusRule.selector -}}
{{- end -}}

{{/* Replaces every @@placeholder@@ of the alert rules (alerts/rules.ts) in .text from .params; fails on one without a value. */}}
{{- define "hde.fill" -}}
{{- $text := .text -}}
{{- range $placeholder, $value := .params }}
{{- $text = replace $placeholder (toString $value) $text }}
{{- end }}
{{- with regexFind "@@[A-Za-z0-9_]+@@" $text }}
{{- fail (printf "prometheusRule: nothing fills %s" .) }}
{{- end }}
{{- $text -}}
{{- end -}}
