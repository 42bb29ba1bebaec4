{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "streamvault.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; leaves room for the component suffix ("-dashboard"). */}}
{{- define "streamvault.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "streamvault.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "streamvault.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "streamvault.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamvault.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "streamvault.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret with the passwords: the user's, or the one this chart creates. */}}
{{- define "streamvault.credentialsSecret" -}}
{{- .Values.credentials.existingSecret | default (include "streamvault.fullname" .) }}
{{- end }}

{{- define "streamvault.caEnabled" -}}
{{- if or .Values.tls.ca.existingSecret .Values.tls.ca.certificate }}true{{ end }}
{{- end }}

{{- define "streamvault.caSecret" -}}
{{- .Values.tls.ca.existingSecret | default (printf "%s-ca" (include "streamvault.fullname" .)) }}
{{- end }}

{{- define "streamvault.caFile" -}}
{{ .Values.tls.mountPath }}/{{ .Values.tls.ca.key }}
{{- end }}

{{/* Who a workload logs in as (list $ $service): a loader's own login where its values name one
(services.<key>.kafkaUsername, redisUsername, pgUser, credentialsSecret: one principal per service), else
the shared one. As YAML: read back with fromYaml, then add "root". */}}
{{- define "streamvault.login" -}}
{{- $root := index . 0 }}
{{- $svc := index . 1 }}
kafkaUsername: {{ $svc.kafkaUsername | default $root.Values.kafka.username | quote }}
redisUsername: {{ $svc.redisUsername | default $root.Values.redis.username | quote }}
pgUser: {{ $svc.pgUser | default $root.Values.postgres.user | quote }}
secret: {{ $svc.credentialsSecret | default (include "streamvault.credentialsSecret" $root) | quote }}
{{- end }}

{{/* A password from a Secret: (list "SECRET" "VARIABLE"); the Secret's key is the variable's name. */}}
{{- define "streamvault.secretEnv" -}}
{{- $secret := index . 0 }}
{{- $variable := index . 1 -}}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $variable }}
{{- end }}

{{/* docs/spec.md §4 connection settings, one block per server; each takes a login (streamvault.login + "root"). */}}
{{- define "streamvault.kafkaEnv" -}}
{{- $root := .root -}}
- name: KAFKA_HOST
  value: {{ $root.Values.kafka.host | quote }}
- name: KAFKA_PORT
  value: {{ $root.Values.kafka.port | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $root.Values.kafka.securityProtocol | quote }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $root.Values.kafka.saslMechanism | quote }}
- name: KAFKA_CONSUMER_USERNAME
  value: {{ .kafkaUsername | quote }}
{{ include "streamvault.secretEnv" (list .secret "KAFKA_CONSUMER_PASSWORD") }}
{{- if include "streamvault.caEnabled" $root }}
- name: KAFKA_SSL_CA_LOCATION
  value: {{ include "streamvault.caFile" $root | quote }}
{{- end }}
{{- end }}

{{- define "streamvault.redisEnv" -}}
{{- $root := .root -}}
- name: REDIS_HOST
  value: {{ $root.Values.redis.host | quote }}
- name: REDIS_PORT
  value: {{ $root.Values.redis.port | quote }}
- name: REDIS_SSL
  value: {{ $root.Values.redis.ssl | quote }}
- name: REDIS_USERNAME
  value: {{ .redisUsername | quote }}
{{ include "streamvault.secretEnv" (list .secret "REDIS_PASSWORD") }}
{{- if include "streamvault.caEnabled" $root }}
- name: REDIS_SSL_CA_CERTS
  value: {{ include "streamvault.caFile" $root | quote }}
{{- end }}
{{- end }}

{{/* The warehouse's address and TLS, and the login's user; its password is the caller's (pgEnv, the dashboard). */}}
{{- define "streamvault.pgAddressEnv" -}}
{{- $root := .root -}}
- name: PG_WAREHOUSE_HOST
  value: {{ $root.Values.postgres.host | quote }}
- name: PG_WAREHOUSE_PORT
  value: {{ $root.Values.postgres.port | quote }}
- name: PG_WAREHOUSE_DBNAME
  value: {{ $root.Values.postgres.dbname | quote }}
- name: PG_WAREHOUSE_USER
  value: {{ .pgUser | quote }}
- name: PG_WAREHOUSE_SSLMODE
  value: {{ $root.Values.postgres.sslmode | quote }}
{{- if include "streamvault.caEnabled" $root }}
- name: PG_WAREHOUSE_SSLROOTCERT
  value: {{ include "streamvault.caFile" $root | quote }}
{{- end }}
{{- end }}

{{- define "streamvault.pgEnv" -}}
{{ include "streamvault.pgAddressEnv" . }}
{{ include "streamvault.secretEnv" (list .secret "PG_WAREHOUSE_PASSWORD") }}
{{- end }}

{{/* name: value pairs of a map, sorted by name. */}}
{{- define "streamvault.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* Pod-level pieces shared by every workload. */}}
{{- define "streamvault.podSpecCommon" -}}
automountServiceAccountToken: false
# No <SERVICE>_PORT variables from other Services of the namespace: a Service named "redis" or
# "kafka" would otherwise inject REDIS_PORT=tcp://... or KAFKA_PORT=tcp://... into the pods.
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Volumes: /tmp (the root file system is read-only) and the CA certificate when given. */}}
{{- define "streamvault.volumes" -}}
volumes:
  - name: tmp
    emptyDir: {}
{{- if include "streamvault.caEnabled" . }}
  - name: tls-ca
    secret:
      secretName: {{ include "streamvault.caSecret" . }}
      items:
        - key: {{ .Values.tls.ca.key }}
          path: {{ .Values.tls.ca.key }}
{{- end }}
{{- end }}

{{- define "streamvault.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- if include "streamvault.caEnabled" . }}
  - name: tls-ca
    mountPath: {{ .Values.tls.mountPath }}
    readOnly: true
{{- end }}
{{- end }}

{{/* Restart the pods when the chart-made Secrets change. */}}
{{- define "streamvault.secretChecksums" -}}
checksum/secrets: {{ include (print .Template.BasePath "/secrets.yaml") . | sha256sum }}
{{- end }}
