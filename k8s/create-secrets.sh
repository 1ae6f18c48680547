#!/usr/bin/env bash
# Creates the Secrets Keyward needs in a namespace, with random passwords, tokens and KEK:
#
#   <name>-secrets   broker-url, database-password-<schema> (6), token-<identity> (7),
#                    api-gateway-jwt-secret, api-gateway-vkey-pepper, api-gateway-totp-key,
#                    audit-signing-key
#   <name>-kek       kek: a fresh 256-bit key-encryption key, format "1:BASE64"
#   <name>-db-admin  username, password: the role `keyward migrate` uses to create the others
#   <name>-unused    (--with-unused, for k8s/ without Helm; the chart makes its own) random
#                    stand-ins for the entries a pod does not use
#
# A Secret that already exists is left alone (never a KEK: replacing it makes every stored
# provider key unreadable). Nothing secret is passed on a command line.
#
#   KEYWARD_BROKER_URL='amqp://keyward:…@rabbitmq:5672/%2f' \
#   KEYWARD_ADMIN_USER=keyward_admin KEYWARD_ADMIN_PASSWORD='…' \
#     k8s/create-secrets.sh --namespace keyward [--name keyward] [--with-unused] [--dry-run]
set -euo pipefail

NAMESPACE=keyward
NAME=keyward
WITH_UNUSED=false
DRY_RUN=false
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--namespace) NAMESPACE=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --with-unused) WITH_UNUSED=true; shift ;;
    --dry-run) DRY_RUN=true; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

die() { echo "create-secrets: $*" >&2; exit 1; }
command -v kubectl >/dev/null || die "kubectl is required"
: "${KEYWARD_BROKER_URL:?set KEYWARD_BROKER_URL (amqp://user:password@host:5672/%2f)}"
: "${KEYWARD_ADMIN_USER:?set KEYWARD_ADMIN_USER (a Postgres role that may create roles and schemas)}"
: "${KEYWARD_ADMIN_PASSWORD:?set KEYWARD_ADMIN_PASSWORD}"

SCHEMAS=(identity vault usage cost alert audit)
IDENTITIES=(api-gateway vault usage-ingest cost alert audit operator)

# 40 random letters and digits, starting with a letter: environment values that are a bare
# number, true/false or inf/nan would be read as such instead of as text.
random_token() {
  local s
  s=$(head -c 96 /dev/urandom | base64 | LC_ALL=C tr -dc 'A-Za-z0-9')
  printf 'k%s' "${s:0:39}"
}

WORK=$(mktemp -d)
chmod 700 "$WORK"
trap 'rm -rf "$WORK"' EXIT

exists() { kubectl -n "$NAMESPACE" get secret "$1" >/dev/null 2>&1; }

# create NAME DIR: a generic Secret whose keys are DIR's file names.
create() {
  local secret=$1 dir=$2
  if ! $DRY_RUN && exists "$secret"; then
    echo "secret/$secret exists; left unchanged"
    return
  fi
  if $DRY_RUN; then
    kubectl -n "$NAMESPACE" create secret generic "$secret" --from-file="$dir" \
      --dry-run=client -o yaml
    echo "---"
  else
    kubectl -n "$NAMESPACE" create secret generic "$secret" --from-file="$dir"
    kubectl -n "$NAMESPACE" label secret "$secret" app.kubernetes.io/part-of=keyward >/dev/null
  fi
}

mkdir "$WORK/secrets" "$WORK/kek" "$WORK/admin" "$WORK/unused"
printf '%s' "$KEYWARD_BROKER_URL" > "$WORK/secrets/broker-url"
for schema in "${SCHEMAS[@]}"; do
  random_token > "$WORK/secrets/database-password-$schema"
  random_token > "$WORK/unused/database-password-$schema"
done
for identity in "${IDENTITIES[@]}"; do
  random_token > "$WORK/secrets/token-$identity"
  random_token > "$WORK/unused/token-$identity"
done
random_key() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
random_token > "$WORK/secrets/api-gateway-jwt-secret"
random_token > "$WORK/secrets/api-gateway-vkey-pepper"
printf '1:%s' "$(random_key)" > "$WORK/secrets/api-gateway-totp-key"
random_key > "$WORK/secrets/audit-signing-key"
printf '1:%s' "$(random_key)" > "$WORK/kek/kek"
random_key > "$WORK/unused/kek"
printf '%s' "$KEYWARD_ADMIN_USER" > "$WORK/admin/username"
printf '%s' "$KEYWARD_ADMIN_PASSWORD" > "$WORK/admin/password"

create "$NAME-secrets" "$WORK/secrets"
create "$NAME-kek" "$WORK/kek"
create "$NAME-db-admin" "$WORK/admin"
if $WITH_UNUSED; then
  create "$NAME-unused" "$WORK/unused"
fi
if ! $DRY_RUN; then
  echo "done. Back up $NAME-kek outside the cluster: without it no stored provider key can be read."
fi
