{{/*
Names.
*/}}
{{- define "keyward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keyward.fullname" -}}
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

{{- define "keyward.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of one service's Deployment and Service: <fullname>-<service>. */}}
{{- define "keyward.svcName" -}}
{{- printf "%s-%s" (include "keyward.fullname" .root) .service | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keyward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyward.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "keyward.secretsName" -}}
{{- default (printf "%s-secrets" (include "keyward.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{- define "keyward.unusedSecretName" -}}
{{- printf "%s-unused" (include "keyward.fullname" .) }}
{{- end }}

{{- define "keyward.kekSecretName" -}}
{{- default (printf "%s-kek" (include "keyward.fullname" .)) .Values.kek.existingSecret }}
{{- end }}

{{- define "keyward.adminSecretName" -}}
{{- default (printf "%s-db-admin" (include "keyward.fullname" .)) .Values.migrate.admin.existingSecret }}
{{- end }}

{{- define "keyward.tlsSecretName" -}}
{{- $names := .root.Values.internalTls.secretNames | default dict }}
{{- default (printf "%s-%s-tls" (include "keyward.fullname" .root) .service) (get $names .service) }}
{{- end }}

{{- define "keyward.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Labels. `component` is the service name (or migrate / operator).
*/}}
{{- define "keyward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyward.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "keyward.labels" -}}
helm.sh/chart: {{ include "keyward.chart" .root }}
{{ include "keyward.selectorLabels" . }}
app.kubernetes.io/part-of: keyward
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "keyward.commonLabels" -}}
helm.sh/chart: {{ include "keyward.chart" . }}
app.kubernetes.io/name: {{ include "keyward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: keyward
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
What the code fixes about each service (each services/<name>/src/lib.rs): its config section, the schema
its login role owns, whether it serves gRPC, ALLOWED_CALLERS (the identities its gRPC server
accepts), and its own secrets (environment variable: key in the platform Secret). Keep in step with
the code.
*/}}
{{- define "keyward.catalog" -}}
api-gateway:
  section: api_gateway
  schema: identity
  grpc: false
  callers: []
  secrets:
    KEYWARD__API_GATEWAY__JWT_SECRET: api-gateway-jwt-secret
    KEYWARD__API_GATEWAY__VKEY_PEPPER: api-gateway-vkey-pepper
    KEYWARD__API_GATEWAY__TOTP_KEY: api-gateway-totp-key
vault:
  section: vault
  schema: vault
  grpc: true
  callers: [api-gateway, alert, operator]
usage-ingest:
  section: usage_ingest
  schema: usage
  grpc: true
  callers: [api-gateway, cost, operator]
cost:
  section: cost
  schema: cost
  grpc: true
  callers: [api-gateway, alert, operator]
alert:
  section: alert
  schema: alert
  grpc: true
  callers: [api-gateway, operator]
audit:
  section: audit
  schema: audit
  grpc: true
  callers: [api-gateway, operator]
  secrets:
    KEYWARD__AUDIT__SIGNING_KEY: audit-signing-key
{{- end }}

{{- define "keyward.schemas" -}}
[identity, vault, usage, cost, alert, audit]
{{- end }}

{{/* Every identity that holds a token (services/keyward/src/config.rs IDENTITIES). */}}
{{- define "keyward.identities" -}}
[api-gateway, vault, usage-ingest, cost, alert, audit, operator]
{{- end }}

{{/*
One service's settings: `defaults` overlaid by services.<name>. Returns YAML; use fromYaml.
*/}}
{{- define "keyward.serviceValues" -}}
{{- $own := get .root.Values.services .service | default dict }}
{{- $merged := mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $own) }}
{{- toYaml $merged }}
{{- end }}

{{/* The gRPC URL of a service, as other services reach it. */}}
{{- define "keyward.grpcUrl" -}}
{{- $v := include "keyward.serviceValues" . | fromYaml }}
{{- $scheme := ternary "https" "http" .root.Values.internalTls.enabled }}
{{- printf "%s://%s:%v" $scheme (include "keyward.svcName" .) $v.ports.grpc }}
{{- end }}

{{/*
keyward.toml: everything but secrets.
*/}}
{{- define "keyward.toml" -}}
# Rendered by the keyward Helm chart. No secrets here: passwords, tokens, the broker URL and the
# KEK reach each pod as KEYWARD__… environment variables, which override this file.

[telemetry]
format = {{ .Values.config.telemetry.format | toJson }}
level = {{ .Values.config.telemetry.level | toJson }}

[database]
url = {{ .Values.config.database.url | toJson }}
max_connections = {{ int .Values.config.database.maxConnections }}
acquire_timeout_ms = {{ int .Values.config.database.acquireTimeoutMs }}

[broker]
spool_dir = "/var/lib/keyward/spool"
prefetch = {{ int .Values.config.broker.prefetch }}
{{- with .Values.config.broker.namespace }}
namespace = {{ . | toJson }}
{{- end }}
{{- if .Values.internalTls.enabled }}

[internal.tls]
cert = "/etc/keyward/tls/tls.crt"
key = "/etc/keyward/tls/tls.key"
ca = "/etc/keyward/tls/ca.crt"
{{- end }}
{{- $root := . }}
{{- $catalog := include "keyward.catalog" . | fromYaml }}
{{- range $service := list "api-gateway" "vault" "usage-ingest" "cost" "alert" "audit" }}
{{- $c := get $catalog $service }}
{{- $v := include "keyward.serviceValues" (dict "root" $root "service" $service) | fromYaml }}

[{{ $c.section }}]
http = "0.0.0.0:{{ $v.ports.http }}"
{{- if $c.grpc }}
grpc = "0.0.0.0:{{ $v.ports.grpc }}"
grpc_url = {{ include "keyward.grpcUrl" (dict "root" $root "service" $service) | toJson }}
{{- end }}
{{- if and (eq $service "api-gateway") $v.workers }}
workers = {{ int $v.workers }}
{{- end }}
{{- end }}
{{- with .Values.config.extraToml }}

{{ . }}
{{- end }}
{{- end }}

{{/*
A secret-backed environment variable.
*/}}
{{- define "keyward.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/*
The secrets one service's pod receives (least privilege):
  - the broker URL;
  - its own database password; other schemas' entries from <fullname>-unused (padUnused);
  - its own token and the tokens of the identities its gRPC server accepts; the other
    identities' entries from <fullname>-unused (padUnused);
  - its own secrets: the api-gateway's JWT key, virtual-key pepper and TOTP key, the audit
    service's checkpoint signing key;
  - the vault alone: the KEK (the others, whose configuration check also wants one, get a random
    stand-in from <fullname>-unused with padUnused).
Token variables keep the identity's dash (KEYWARD__INTERNAL__TOKENS__API-GATEWAY): Kubernetes
allows '-' in variable names and the loader lowercases each path segment, giving
internal.tokens.api-gateway.
*/}}
{{- define "keyward.serviceSecretEnv" -}}
{{- $root := .root }}
{{- $service := .service }}
{{- $c := get (include "keyward.catalog" $root | fromYaml) $service }}
{{- $secrets := include "keyward.secretsName" $root }}
{{- $unused := include "keyward.unusedSecretName" $root }}
{{- $pad := $root.Values.secrets.padUnused }}
{{- include "keyward.secretEnv" (dict "name" "KEYWARD__BROKER__URL" "secret" $secrets "key" "broker-url") }}
{{- range $schema := include "keyward.schemas" $root | fromYamlArray }}
{{- $key := printf "database-password-%s" $schema }}
{{- $name := printf "KEYWARD__DATABASE__PASSWORDS__%s" (upper $schema) }}
{{- if eq $schema $c.schema }}
{{ include "keyward.secretEnv" (dict "name" $name "secret" $secrets "key" $key) }}
{{- else if $pad }}
{{ include "keyward.secretEnv" (dict "name" $name "secret" $unused "key" $key) }}
{{- end }}
{{- end }}
{{- range $identity := include "keyward.identities" $root | fromYamlArray }}
{{- $key := printf "token-%s" $identity }}
{{- $name := printf "KEYWARD__INTERNAL__TOKENS__%s" (upper $identity) }}
{{- if or (eq $identity $service) (has $identity $c.callers) }}
{{ include "keyward.secretEnv" (dict "name" $name "secret" $secrets "key" $key) }}
{{- else if $pad }}
{{ include "keyward.secretEnv" (dict "name" $name "secret" $unused "key" $key) }}
{{- end }}
{{- end }}
{{- range $env, $key := $c.secrets }}
{{ include "keyward.secretEnv" (dict "name" $env "secret" $secrets "key" $key) }}
{{- end }}
{{- if eq $service "vault" }}
{{ include "keyward.secretEnv" (dict "name" $root.Values.kek.env "secret" (include "keyward.kekSecretName" $root) "key" $root.Values.kek.key) }}
{{- else if $pad }}
{{ include "keyward.secretEnv" (dict "name" $root.Values.kek.env "secret" $unused "key" "kek") }}
{{- end }}
{{- end }}
