{{/*
Names.
*/}}
{{- define "hocba.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hocba.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hocba.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The province slug, validated: it is used in labels.
*/}}
{{- define "hocba.province" -}}
{{- $province := required "province is required (one release per province)" .Values.province | toString }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" $province) }}
{{- fail (printf "province %q must be a lowercase slug (letters, digits, '-')" $province) }}
{{- end }}
{{- $province }}
{{- end }}

{{- define "hocba.baseDomain" -}}
{{- required "baseDomain is required (schools are served at <slug>.<baseDomain>)" .Values.baseDomain | toString | trimSuffix "." }}
{{- end }}

{{/*
Labels. Selector labels never change after install; "component" tells web, worker, beat, migrate apart.
*/}}
{{- define "hocba.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hocba.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hocba.labels" -}}
helm.sh/chart: {{ include "hocba.chart" . }}
{{ include "hocba.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | toString | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hocba
hocba/province: {{ include "hocba.province" . }}
{{- end }}

{{/* Usage: include "hocba.componentSelectorLabels" (list $ "web") */}}
{{- define "hocba.componentSelectorLabels" -}}
{{ include "hocba.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "hocba.componentLabels" -}}
{{ include "hocba.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "hocba.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hocba.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hocba.secretName" -}}
{{- if .Values.secrets.create }}
{{- include "hocba.fullname" . }}
{{- else }}
{{- required "secrets.existingSecret is required (or set secrets.create=true)" .Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{- define "hocba.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
The non-secret environment as a YAML map: the ConfigMap's data, and the migration job's env (the job
is a pre-install hook and runs before the ConfigMap exists).
*/}}
{{- define "hocba.config" -}}
{{- $base := include "hocba.baseDomain" . }}
{{- $config := dict
  "DJANGO_SETTINGS_MODULE" "hocba.settings.production"
  "HOCBA_BASE_DOMAIN" $base
  "HOCBA_PROVINCE" (include "hocba.province" .)
  "HOCBA_PORT" (toString .Values.web.port)
  "WEB_CONCURRENCY" (toString .Values.web.concurrency)
  "XDG_CACHE_HOME" "/tmp/.cache"
}}
{{- range $key, $value := .Values.env }}
{{- $_ := set $config $key (toString $value) }}
{{- end }}
{{- if not (get $config "HOCBA_ALLOWED_HOSTS") }}
{{- $_ := set $config "HOCBA_ALLOWED_HOSTS" (printf "%s,.%s" $base $base) }}
{{- end }}
{{- if not (get $config "S3_ENDPOINT_URL") }}
{{- fail "env.S3_ENDPOINT_URL is required (the archive store)" }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
Pod-level settings shared by every workload.
*/}}
{{- define "hocba.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "hocba.tmpVolume" -}}
- name: tmp
  emptyDir:
    {{- with .Values.tmpSizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end }}

{{/*
Container-level settings shared by every process: image, environment, /tmp, security.
*/}}
{{- define "hocba.containerCommon" -}}
image: {{ include "hocba.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
envFrom:
  - configMapRef:
      name: {{ include "hocba.fullname" . }}
  - secretRef:
      name: {{ include "hocba.secretName" . }}
{{- with .Values.extraEnv }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/*
Checksums that roll the pods when configuration changes.
*/}}
{{- define "hocba.configChecksums" -}}
checksum/config: {{ include "hocba.config" . | sha256sum }}
{{- if .Values.secrets.create }}
checksum/secret: {{ toYaml .Values.secrets.values | sha256sum }}
{{- end }}
{{- end }}
