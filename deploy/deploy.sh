#!/usr/bin/env bash
# Deploy the ingest function as a Cloud Function (gen2). See docs/ingest.md "Deploy".
#
#   OIE_BQ_PROJECT=my-proj OIE_BQ_DATASET=oie_raw \
#   OIE_ALLOWED_ORIGINS=https://www.acme.com OIE_REDIRECT_HOSTS=www.acme.com \
#   OIE_DEAD_LETTER=gs://acme-oie/dead-letter deploy/deploy.sh [--dry-run] [--skip-tables]
#
# Needs: gcloud (authenticated), Secret Manager secrets holding OIE_TOKEN_SECRET and
# OIE_TOMBSTONE_SECRET (default names oie-token-secret, oie-tombstone-secret; optional
# oie-event-signing-secret), and dbt for the raw tables. Every other OIE_* variable set in
# your shell is passed to the function as is, except OIE_IP_ORG_DB: its network database
# files are copied into the upload folder and the function reads those copies.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY_RUN=0
SKIP_TABLES=0
for arg in "$@"; do
  case $arg in
    --dry-run) DRY_RUN=1 ;;
    --skip-tables) SKIP_TABLES=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "deploy: unknown option $arg" >&2; exit 2 ;;
  esac
done

: "${OIE_BQ_PROJECT:?set OIE_BQ_PROJECT (the GCP project of the raw dataset)}"
: "${OIE_BQ_DATASET:?set OIE_BQ_DATASET (the raw dataset, e.g. oie_raw)}"
: "${OIE_ALLOWED_ORIGINS:?set OIE_ALLOWED_ORIGINS (your site origins, comma-separated)}"
: "${OIE_REDIRECT_HOSTS:?set OIE_REDIRECT_HOSTS (your site host(s), first = default)}"
PROJECT=${GCP_PROJECT:-$OIE_BQ_PROJECT}
REGION=${GCP_REGION:-us-central1}
NAME=${FUNCTION_NAME:-oie-ingest}
TOKEN_SECRET_NAME=${TOKEN_SECRET_NAME:-oie-token-secret}
TOMBSTONE_SECRET_NAME=${TOMBSTONE_SECRET_NAME:-oie-tombstone-secret}
SIGNING_SECRET_NAME=${SIGNING_SECRET_NAME:-}
MAX_INSTANCES=${MAX_INSTANCES:-20}
BUNDLE=${BUNDLE_DIR:-build/ingest-bundle}
PY=${PYTHON:-.venv/bin/python}

run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  if [[ $DRY_RUN == 0 ]]; then "$@"; fi
}

# 1. The upload folder: main.py + a wheel of the shared code + pinned requirements.txt.
"$PY" deploy/bundle.py "$BUNDLE" >/dev/null
echo "deploy: bundle in $BUNDLE"

# 1b. Network databases of company inference (docs/warehouse.md "Companies from networks"):
#     local files, shipped inside the upload folder; the function reads them from there.
IP_ORG_DB=""
if [[ -n ${OIE_IP_ORG_DB:-} ]]; then
  mkdir -p "$BUNDLE/ip-org"
  IFS=',' read -r -a specs <<< "$OIE_IP_ORG_DB"
  for spec in "${specs[@]}"; do
    spec=$(echo "$spec" | xargs)
    [[ -z $spec ]] && continue
    if [[ $spec == geoip2fast ]]; then
      echo "deploy: OIE_IP_ORG_DB=geoip2fast is for evaluation only (stale data); use a MaxMind-format file" >&2
      exit 2
    fi
    if [[ ! -f $spec ]]; then
      echo "deploy: OIE_IP_ORG_DB: $spec: no such file" >&2
      exit 2
    fi
    cp "$spec" "$BUNDLE/ip-org/"
    IP_ORG_DB="${IP_ORG_DB:+$IP_ORG_DB,}ip-org/$(basename "$spec")"
  done
  echo "deploy: network databases in $BUNDLE/ip-org"
fi

# 2. Settings as an env-vars file (YAML keeps commas in OIE_ALLOWED_ORIGINS intact).
#    Secrets never go here: they come from Secret Manager below.
ENV_FILE=$BUNDLE/../ingest-env.yaml
{
  echo "OIE_TARGET: \"bigquery\""
  echo "OIE_SINK: \"bigquery\""
  echo "OIE_TRUSTED_PROXY: \"${OIE_TRUSTED_PROXY:-gclb}\""
  echo "WORKERS: \"1\""
  echo "THREADS: \"8\""
  if [[ -n $IP_ORG_DB ]]; then echo "OIE_IP_ORG_DB: \"$IP_ORG_DB\""; fi
  env | grep -E '^OIE_' | grep -vE '^OIE_(TOKEN_SECRET|TOMBSTONE_SECRET|EVENT_SIGNING_SECRET|IP_HASH_SECRET|FAULT|TARGET|SINK|TRUSTED_PROXY|DATA_DIR|LANDING_DIR|PIXEL_DIR|IP_ORG_DB)=' \
    | sort | while IFS='=' read -r key value; do
        printf '%s: "%s"\n' "$key" "${value//\"/\\\"}"
      done
} > "$ENV_FILE"
echo "deploy: settings in $ENV_FILE"

# 3. Raw tables (partitioned by DATE(received_at)); the warehouse owns their DDL.
if [[ $SKIP_TABLES == 0 ]]; then
  run .venv/bin/dbt run-operation oie_create_raw_tables --target bigquery
fi

# 4. The function. Concurrency 80 per instance with 8 threads: the handler is short and
#    mostly waits on BigQuery, so one vCPU serves many requests (bench/results/ingest.md).
# Client IP/geo headers are believed only from the proxy in front (OIE_TRUSTED_PROXY):
# with gclb the function must be reachable only through the load balancer, else anyone
# could forge X-Forwarded-For. Cloudflare fronting: restrict at Cloudflare/Cloud Armor.
PROXY=${OIE_TRUSTED_PROXY:-gclb}
INGRESS=${INGRESS:-$([[ $PROXY == gclb ]] && echo internal-and-gclb || echo all)}
# The tombstone secret: /track drops forgotten visitors, /optout records them
# (docs/privacy.md); oie forget and the scheduled oie run use the same one.
SECRETS="OIE_TOKEN_SECRET=${TOKEN_SECRET_NAME}:latest,OIE_TOMBSTONE_SECRET=${TOMBSTONE_SECRET_NAME}:latest"
if [[ -n $SIGNING_SECRET_NAME ]]; then
  SECRETS="$SECRETS,OIE_EVENT_SIGNING_SECRET=${SIGNING_SECRET_NAME}:latest"
fi
run gcloud functions deploy "$NAME" \
  --gen2 \
  --project "$PROJECT" \
  --region "$REGION" \
  --runtime python311 \
  --source "$BUNDLE" \
  --entry-point ingest \
  --trigger-http \
  --allow-unauthenticated \
  --memory 512Mi \
  --cpu 1 \
  --concurrency 80 \
  --max-instances "$MAX_INSTANCES" \
  --timeout 30s \
  --ingress-settings "$INGRESS" \
  --env-vars-file "$ENV_FILE" \
  --set-secrets "$SECRETS"

echo "deploy: done. Health: \$(gcloud functions describe $NAME --gen2 --region $REGION --format='value(url)')/health"
