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
{{- $province := required "province is required: the province's slug, e.g. --set province=ha-noi (one release per province)" .Values.province | toString }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" $province) }}
{{- fail (printf "province %q must be a lowercase slug (letters, digits, '-')" $province) }}
{{- end }}
{{- $province }}
{{- end }}

{{- define "hocba.baseDomain" -}}
{{- required "baseDomain is required: the province's domain, e.g. --set baseDomain=hanoi.hocba.example.vn (schools are served at <slug>.<baseDomain>)" .Values.baseDomain | toString | trimSuffix "." }}
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
{{- include "hocba.validate" . }}
{{- $base := include "hocba.baseDomain" . }}
{{- $config := dict
  "DJANGO_SETTINGS_MODULE" "hocba.settings.production"
  "HOCBA_BASE_DOMAIN" $base
  "HOCBA_PORT" (toString .Values.web.port)
  "WEB_CONCURRENCY" (toString .Values.web.concurrency)
  "XDG_CACHE_HOME" "/tmp/.cache"
  "HOCBA_HEARTBEAT_FILE" (toString .Values.heartbeatFile)
  "HOCBA_ARCHIVE_BUCKET" (toString .Values.archive.bucket)
  "HOCBA_ANCHOR_RETENTION_DAYS" (toString .Values.archive.anchorRetentionDays)
  "HOCBA_RECORD_RETENTION_DAYS" (toString (int64 .Values.archive.recordRetentionDays))
  "HOCBA_VERIFY_MAX_BYTES" (toString (int64 .Values.verification.maxUploadBytes))
  "HOCBA_VERIFY_RATE_LIMIT" (toString (int64 .Values.verification.rateLimit))
  "HOCBA_VERIFY_RATE_WINDOW" (toString (int64 .Values.verification.rateWindowSeconds))
  "HOCBA_BACKUP_RETENTION_DAYS" (toString .Values.backup.retentionDays)
  "HOCBA_BACKUP_SCHEDULE" (ternary "on" "off" (.Values.backup.schedule.enabled | default false))
  "HOCBA_BACKUP_HOUR" (toString .Values.backup.schedule.hour)
  "HOCBA_DB_BACKUP_USER" (toString .Values.database.backup.user)
  "S3_ENDPOINT_URL" (toString .Values.s3.endpointUrl)
  "S3_REGION" (toString .Values.s3.region)
  "HOCBA_BACKUP_BUCKET" (toString .Values.backup.bucket)
  "HOCBA_ROLLUP_MODE" (toString (.Values.rollups.mode | default "inline"))
}}
{{- with .Values.verification.publicUrl }}
{{- $_ := set $config "HOCBA_PUBLIC_URL" (toString .) }}
{{- end }}
{{- if .Values.verification.trustRootsConfigMap }}
{{- $_ := set $config "HOCBA_TRUST_ROOTS_DIR" "/etc/hocba/trust-roots" }}
{{- end }}
{{- range $key, $value := .Values.env }}
{{- $_ := set $config $key (toString $value) }}
{{- end }}
{{- if not (get $config "HOCBA_ALLOWED_HOSTS") }}
{{- $_ := set $config "HOCBA_ALLOWED_HOSTS" (printf "%s,.%s" $base $base) }}
{{- end }}
{{- if not (get $config "S3_ENDPOINT_URL") }}
{{- fail "s3.endpointUrl is required: the S3-compatible store of the archive and backup buckets, e.g. --set s3.endpointUrl=https://s3.example.vn" }}
{{- end }}
{{- $archive := get $config "HOCBA_ARCHIVE_BUCKET" }}
{{- $backup := get $config "HOCBA_BACKUP_BUCKET" }}
{{- if eq $backup $archive }}
{{- fail (printf "backup.bucket must differ from archive.bucket (both %q): the archive bucket is compliance-locked for years, backups of children's data must expire" $archive) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
Values checks shared by every render (the ConfigMap and the migration job include hocba.config).
*/}}
{{- define "hocba.validate" -}}
{{- $_ := include "hocba.province" . }}
{{- $_ := include "hocba.baseDomain" . }}
{{- if not (regexMatch "^([0-9]|1[0-9]|2[0-3])$" (toString .Values.backup.schedule.hour)) }}
{{- fail (printf "backup.schedule.hour %v: an hour of the day, 0 to 23" .Values.backup.schedule.hour) }}
{{- end }}
{{- $bucket := required "archive.bucket is required: the province's archive bucket with Object Lock, e.g. --set archive.bucket=hocba-ha-noi-archive (no default: provinces must not share one)" .Values.archive.bucket | toString }}
{{- $backup := required "backup.bucket is required: a separate bucket for the schools' backups, without Object Lock and with a lifecycle expiry rule, e.g. --set backup.bucket=hocba-ha-noi-backup" .Values.backup.bucket | toString }}
{{- range $name, $value := dict "archive.bucket" $bucket "backup.bucket" $backup }}
{{- if not (regexMatch "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" $value) }}
{{- fail (printf "%s %q is not a valid S3 bucket name" $name $value) }}
{{- end }}
{{- end }}
{{- if gt (int .Values.archive.anchorRetentionDays) 0 | not }}
{{- fail "archive.anchorRetentionDays must be a positive number of days" }}
{{- end }}
{{- if gt (int .Values.archive.recordRetentionDays) 0 | not }}
{{- fail "archive.recordRetentionDays must be a positive number of days" }}
{{- end }}
{{- range $name := list "maxUploadBytes" "rateLimit" "rateWindowSeconds" }}
{{- if gt (int (index $.Values.verification $name)) 0 | not }}
{{- fail (printf "verification.%s must be a positive number" $name) }}
{{- end }}
{{- end }}
{{- with .Values.verification.publicUrl }}
{{- if not (regexMatch "^https?://[^/ ]+(/[^ ]*)?$" (toString .)) }}
{{- fail (printf "verification.publicUrl %q: an absolute http(s) address, e.g. https://hocba.tayninh.edu.vn" (toString .)) }}
{{- end }}
{{- end }}
{{- if gt (int .Values.backup.retentionDays) 0 | not }}
{{- fail "backup.retentionDays must be a positive number of days" }}
{{- end }}
{{- range $component := list "web" "worker" }}
{{- $pdb := (index $.Values $component).pdb }}
{{- if and $pdb.enabled (ne (toString $pdb.minAvailable) "") (ne (toString $pdb.maxUnavailable) "") }}
{{- fail (printf "%s.pdb: set minAvailable or maxUnavailable, not both" $component) }}
{{- end }}
{{- end }}
{{- if not (has (toString (.Values.rollups.mode | default "inline")) (list "inline" "outbox")) }}
{{- fail (printf "rollups.mode %q: inline or outbox" (toString .Values.rollups.mode)) }}
{{- end }}
{{- include "hocba.connectionBudget" . }}
{{- end }}

{{/*
Worst-case database connections of the release, checked against database.maxConnections when set.
A Deployment at its ceiling (autoscaler maximum, else replicaCount) plus the rolling update's surge (25%,
rounded up); web: gunicorn workers × threads per pod; worker: concurrency + 1 (the parent) per pod; beat: 2;
the migration job: migrate.workers + 1.
*/}}
{{- define "hocba.connectionBudget" -}}
{{- $max := int .Values.database.maxConnections }}
{{- if gt $max 0 }}
{{- if not .Values.worker.concurrency }}
{{- fail "database.maxConnections is set: worker.concurrency must be set too (one per CPU is unknown here)" }}
{{- end }}
{{- $webPods := ternary .Values.web.autoscaling.maxReplicas .Values.web.replicaCount .Values.web.autoscaling.enabled | int }}
{{- $webPods = add $webPods (div (add (mul $webPods 25) 99) 100) }}
{{- $workerPods := ternary .Values.worker.autoscaling.maxReplicas .Values.worker.replicaCount .Values.worker.autoscaling.enabled | int }}
{{- $workerPods = add $workerPods (div (add (mul $workerPods 25) 99) 100) }}
{{- $web := mul $webPods (int .Values.web.concurrency) (max 1 (int .Values.web.threads)) }}
{{- $worker := mul $workerPods (add (int .Values.worker.concurrency) 1) }}
{{- $migrate := ternary (add (int (.Values.migrate.workers | default 1)) 1) 0 .Values.migrate.enabled }}
{{- $total := add $web $worker 2 $migrate }}
{{- $budget := sub $max (int .Values.database.reservedConnections) }}
{{- if gt $total $budget }}
{{- fail (printf "database connections: worst case %d (web %d + worker %d + beat 2 + migrate %d) exceeds database.maxConnections %d - reservedConnections %d = %d; lower replicas, concurrency or threads, or raise max_connections" $total $web $worker $migrate $max (int .Values.database.reservedConnections) $budget) }}
{{- end }}
{{- end }}
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
The verification's trust roots (verification.trustRootsConfigMap), for the pods whose containers mount them
(hocba.containerCommon: web, worker, beat).
*/}}
{{- define "hocba.trustRootsVolume" -}}
{{- with .Values.verification.trustRootsConfigMap }}
- name: trust-roots
  configMap:
    name: {{ . }}
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
{{- $env := include "hocba.secretEnv" (list . "app") | trim }}
{{- if eq (toString (get . "hocbaComponent")) "worker" }}
{{- $env = printf "%s\n%s" $env (include "hocba.backupEnv" . | trim) | trim }}
{{- end }}
{{- if or $env .Values.extraEnv }}
env:
  {{- with $env }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- if .Values.verification.trustRootsConfigMap }}
  - name: trust-roots
    mountPath: /etc/hocba/trust-roots
    readOnly: true
  {{- end }}
{{- end }}

{{/*
Environment entries taken from other Secrets than the main one (they win over envFrom): the database URL
of the role ("app": web, worker, beat; "owner": the migration job) and the S3 key pair.
Usage: include "hocba.secretEnv" (list $ "app")
*/}}
{{- define "hocba.secretEnv" -}}
{{- $ := index . 0 }}
{{- $role := index . 1 }}
{{- $db := index $.Values.database $role }}
{{- if $db.existingSecret }}
{{- range $name := ternary (list "DATABASE_URL" "DATABASE_APP_URL") (list "DATABASE_URL") (eq $role "app") }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $db.existingSecret }}
      key: {{ $db.key }}
{{- end }}
{{- end }}
{{- with $.Values.s3.existingSecret }}
- name: S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.s3.accessKeyIdKey }}
- name: S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.s3.secretAccessKeyKey }}
{{- end }}
{{- end }}

{{/*
The backups' login (DATABASE_BACKUP_URL) from its own Secret: for the worker only, where the nightly backups run.
The worker includes hocba.containerCommon with "hocbaComponent" "worker" merged into the root context.
*/}}
{{- define "hocba.backupEnv" -}}
{{- with .Values.database.backup.existingSecret }}
- name: DATABASE_BACKUP_URL
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.database.backup.key }}
{{- end }}
{{- end }}

{{/*
The liveness probe of worker and beat: their heartbeat file is fresh.
Usage: include "hocba.heartbeatProbe" (list $ .Values.worker.livenessProbe)
*/}}
{{- define "hocba.heartbeatProbe" -}}
{{- $ := index . 0 }}
{{- $probe := index . 1 }}
exec:
  command:
    - python
    - -m
    - hocba.heartbeat
    - --max-age
    - {{ $probe.maxAge | toString | quote }}
{{- toYaml (omit $probe "maxAge") | nindent 0 }}
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

{{/*
How the worker Deployment scales: "" (fixed replicas), "keda" (a ScaledObject on the Celery queue), "external"
(an HPA on an external metric) or "cpu" (an HPA on CPU). One autoscaler at most per Deployment.
*/}}
{{- define "hocba.workerScaler" -}}
{{- $a := .Values.worker.autoscaling }}
{{- if $a.enabled }}
{{- $keda := toString $a.keda.enabled }}
{{- if or (eq $keda "true") (and (eq $keda "auto") (.Capabilities.APIVersions.Has "keda.sh/v1alpha1")) }}
{{- "keda" }}
{{- else if $a.externalMetric.enabled }}
{{- "external" }}
{{- else }}
{{- "cpu" }}
{{- end }}
{{- end }}
{{- end }}
