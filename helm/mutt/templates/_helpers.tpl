{{/* Names and labels shared by every object of the chart. */}}
{{- define "mutt.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mutt.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mutt
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "alerter") */}}
{{- define "mutt.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mutt.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "mutt.secretName" -}}
{{ .Values.secrets.existingSecret | default (printf "%s-keys" (include "mutt.fullname" .)) }}
{{- end -}}

{{- define "mutt.redisSecretName" -}}
{{ .Values.externalRedis.existingSecret | default (printf "%s-keys" (include "mutt.fullname" .)) }}
{{- end -}}

{{- define "mutt.dbSecretName" -}}
{{ .Values.externalDatabase.existingSecret | default (printf "%s-keys" (include "mutt.fullname" .)) }}
{{- end -}}

{{/* Whether the chart makes the keys Secret: some secret is given as a value. */}}
{{- define "mutt.makesSecret" -}}
{{- $s := .Values.secrets -}}
{{- $sentinel := .Values.externalRedis.sentinel -}}
{{- if or (and (not $s.existingSecret) (or $s.moogApiKey $s.ingestApiKey $s.webuiApiKey)) (and (not .Values.externalRedis.existingSecret) .Values.externalRedis.password) (and (not .Values.externalDatabase.existingSecret) .Values.externalDatabase.password) (and $sentinel.enabled (not $sentinel.existingSecret) $sentinel.password) -}}true{{- end -}}
{{- end -}}

{{/* Connection settings and secrets: the env every container gets besides the ConfigMap. */}}
{{- define "mutt.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- with .Values.externalRedis.sentinel }}
{{- if .enabled }}
- name: REDIS_SENTINEL_HOSTS
  value: {{ join "," .hosts | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .masterName | quote }}
{{- if or .existingSecret .password }}
- name: REDIS_SENTINEL_PASS
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret | default (printf "%s-keys" (include "mutt.fullname" $)) }}
      key: {{ .existingSecretPasswordKey }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.externalRedis.cluster }}
{{- if .enabled }}
- name: REDIS_CLUSTER_NODES
  value: {{ join "," .nodes | quote }}
{{- end }}
{{- end }}
- name: REDIS_HOST
  value: {{ .Values.externalRedis.host | quote }}
- name: REDIS_PORT
  value: {{ .Values.externalRedis.port | quote }}
- name: REDIS_DB
  value: {{ .Values.externalRedis.db | quote }}
- name: REDIS_TLS_ENABLED
  value: {{ .Values.externalRedis.tls | quote }}
{{- with .Values.externalRedis.caCertPath }}
- name: REDIS_CA_CERT_PATH
  value: {{ . | quote }}
{{- end }}
{{- with .Values.externalRedis.user }}
- name: REDIS_USER
  value: {{ . | quote }}
{{- end }}
{{- if or .Values.externalRedis.existingSecret .Values.externalRedis.password }}
- name: REDIS_PASS
  valueFrom:
    secretKeyRef:
      name: {{ include "mutt.redisSecretName" . }}
      key: {{ .Values.externalRedis.existingSecretPasswordKey }}
{{- end }}
- name: DB_HOST
  value: {{ .Values.externalDatabase.host | quote }}
- name: DB_PORT
  value: {{ .Values.externalDatabase.port | quote }}
- name: DB_NAME
  value: {{ .Values.externalDatabase.name | quote }}
- name: DB_USER
  value: {{ .Values.externalDatabase.user | quote }}
- name: DB_TLS_ENABLED
  value: {{ .Values.externalDatabase.tls | quote }}
{{- with .Values.externalDatabase.caCertPath }}
- name: DB_TLS_CA_CERT_PATH
  value: {{ . | quote }}
{{- end }}
{{- if or .Values.externalDatabase.existingSecret .Values.externalDatabase.password }}
- name: DB_PASS
  valueFrom:
    secretKeyRef:
      name: {{ include "mutt.dbSecretName" . }}
      key: {{ .Values.externalDatabase.existingSecretPasswordKey }}
{{- end }}
{{- range $var, $key := dict "MOOG_API_KEY" .Values.secrets.moogApiKeyKey "INGEST_API_KEY" .Values.secrets.ingestApiKeyKey "WEBUI_API_KEY" .Values.secrets.webuiApiKeyKey }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ include "mutt.secretName" $ }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end -}}

{{/* The four services: values key, binary, ports, which port answers probes and scrapes. */}}
{{/* The TLS Secret of a component's listener ("" without TLS). */}}
{{- define "mutt.tlsSecret" -}}
{{- if .component.tls }}{{ (index .root.Values.tls .component.tls).secretName }}{{ end -}}
{{- end -}}

{{- define "mutt.components" -}}
components:
  - name: ingestor
    values: ingestor
    command: ["/usr/local/bin/ingestor"]
    probePort: http
    metricsPort: http
    queue: ""
    tls: ingest
    ports:
      - {name: http, containerPort: 8080, protocol: TCP}
      - {name: syslog-udp, containerPort: 5514, protocol: UDP}
      - {name: syslog-tcp, containerPort: 5514, protocol: TCP}
  - name: alerter
    values: alerter
    command: ["/usr/local/bin/alerter"]
    probePort: health
    metricsPort: metrics
    queue: ingest_queue
    ports:
      - {name: metrics, containerPort: 8081, protocol: TCP}
      - {name: health, containerPort: 8082, protocol: TCP}
  - name: forwarder
    values: forwarder
    command: ["/usr/local/bin/moog-forwarder"]
    probePort: health
    metricsPort: metrics
    queue: alert_queue
    ports:
      - {name: metrics, containerPort: 8083, protocol: TCP}
      - {name: health, containerPort: 8084, protocol: TCP}
  - name: webui
    values: webui
    command: ["/usr/local/bin/webui", "serve"]
    probePort: http
    metricsPort: http
    queue: ""
    tls: webui
    ports:
      - {name: http, containerPort: 8090, protocol: TCP}
{{- end -}}
