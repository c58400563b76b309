#!/usr/bin/env bash
# Schedule `oie run` on Google Cloud: a Cloud Run job that runs the oie image's `oie run`,
# and a Cloud Scheduler job that executes it every N minutes. See docs/scheduling.md.
#
#   GCP_PROJECT=my-proj OIE_IMAGE=europe-west1-docker.pkg.dev/my-proj/oie/oie:1.0 \
#   OIE_BQ_DATASET=oie deploy/schedule.sh [--dry-run]
#
# Idempotent: each job is described first, then updated if it exists, else created; run it
# again after changing a setting. --dry-run prints every command and runs only the
# read-only `describe` calls. Settings (environment variables) [default]:
#   OIE_IMAGE                 image with the project installed, `oie` on PATH (required)
#   GCP_PROJECT               project [$OIE_BQ_PROJECT]
#   GCP_REGION                region of both jobs [us-central1]
#   RUN_JOB                   Cloud Run job name [oie-run]
#   SCHEDULER_JOB             Cloud Scheduler job name [oie-run-every-N-min]
#   EVERY_MINUTES             N: 2-60 and a divisor of 60, so runs start evenly [5]
#   TASK_TIMEOUT_MINUTES      per execution, below N: two executions never overlap [N-1]
#   SKIP_DBT                  1: run `oie run --skip-dbt` (dbt Cloud builds) [0]
#   RUN_DATA_DIR              OIE_DATA_DIR in the container; the lock is
#                             RUN_DATA_DIR/oie-run.lock [/tmp/oie]
#   RUN_SERVICE_ACCOUNT       identity of the job [oie-run@PROJECT.iam.gserviceaccount.com]
#   SCHEDULER_SERVICE_ACCOUNT identity that executes it [oie-scheduler@PROJECT.iam...]
#   TOKEN_SECRET_NAME         Secret Manager secret for OIE_TOKEN_SECRET [oie-token-secret]
#   TOMBSTONE_SECRET_NAME     ... for OIE_TOMBSTONE_SECRET (erasure retries) [oie-tombstone-secret]
#   EXTRA_SECRETS             more VAR=secret:version pairs, comma-separated []
#   MEMORY, CPU               per task [1Gi, 1]
#   TIME_ZONE                 of the schedule [Etc/UTC]
# Every other OIE_* variable set in your shell is passed to the job as is (not secrets), and
# so are CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_BASE_URL (the KV sync's destination); the API
# token is a secret: EXTRA_SECRETS=CLOUDFLARE_API_TOKEN=<secret>:latest. So are the alerts'
# destinations (docs/alerts.md): OIE_ALERT_SLACK_WEBHOOK_URL, OIE_ALERT_WEBHOOK_URL and
# OIE_ALERT_WEBHOOK_SECRET go only through EXTRA_SECRETS (one set in your shell instead is
# not passed, and the script says so); OIE_ALERT_LEVEL, _MAX_ATTEMPTS, _MAX_AGE pass as is.
# The CRM sync's OIE_HUBSPOT_TOKEN likewise (docs/crm.md); OIE_HUBSPOT_BASE_URL passes.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY_RUN=0
for arg in "$@"; do
  case $arg in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "schedule: unknown option $arg" >&2; exit 2 ;;
  esac
done

: "${OIE_IMAGE:?set OIE_IMAGE (the image with the project installed, oie on PATH)}"
PROJECT=${GCP_PROJECT:-${OIE_BQ_PROJECT:-}}
: "${PROJECT:?set GCP_PROJECT (or OIE_BQ_PROJECT)}"
REGION=${GCP_REGION:-us-central1}
EVERY=${EVERY_MINUTES:-5}
if ! [[ $EVERY =~ ^[0-9]+$ ]] || ((EVERY < 2 || EVERY > 60 || 60 % EVERY != 0)); then
  echo "schedule: EVERY_MINUTES=$EVERY must be 2-60 and divide 60 (2 3 4 5 6 10 12 15 20 30 60)" >&2
  exit 2
fi
TIMEOUT=${TASK_TIMEOUT_MINUTES:-$((EVERY - 1))}
if ! [[ $TIMEOUT =~ ^[0-9]+$ ]] || ((TIMEOUT < 1 || TIMEOUT >= EVERY)); then
  echo "schedule: TASK_TIMEOUT_MINUTES=$TIMEOUT must be at least 1 and below EVERY_MINUTES=$EVERY," \
    "else two executions can overlap" >&2
  exit 2
fi
RUN_JOB=${RUN_JOB:-oie-run}
SCHEDULER_JOB=${SCHEDULER_JOB:-oie-run-every-$EVERY-min}
SKIP_DBT=${SKIP_DBT:-0}
DATA_DIR=${RUN_DATA_DIR:-/tmp/oie}
RUN_SA=${RUN_SERVICE_ACCOUNT:-oie-run@$PROJECT.iam.gserviceaccount.com}
SCHEDULER_SA=${SCHEDULER_SERVICE_ACCOUNT:-oie-scheduler@$PROJECT.iam.gserviceaccount.com}
SECRETS="OIE_TOKEN_SECRET=${TOKEN_SECRET_NAME:-oie-token-secret}:latest"
SECRETS="$SECRETS,OIE_TOMBSTONE_SECRET=${TOMBSTONE_SECRET_NAME:-oie-tombstone-secret}:latest"
if [[ -n ${EXTRA_SECRETS:-} ]]; then SECRETS="$SECRETS,$EXTRA_SECRETS"; fi
if ((EVERY == 60)); then CRON="0 * * * *"; else CRON="*/$EVERY * * * *"; fi

# The command: the same `oie run` as the cron line and the dbt Cloud set-up.
ARGS=run
if [[ $SKIP_DBT == 1 ]]; then ARGS=run,--skip-dbt; fi

# Settings, with "@" between pairs (gcloud's ^@^ form) so commas in values stay intact.
ENV_VARS="OIE_TARGET=bigquery@OIE_SINK=bigquery@OIE_DATA_DIR=$DATA_DIR@OIE_BQ_PROJECT=${OIE_BQ_PROJECT:-$PROJECT}"
while IFS='=' read -r key value; do
  if [[ $value == *@* ]]; then echo "schedule: $key contains '@', which this script cannot pass" >&2; exit 2; fi
  ENV_VARS="$ENV_VARS@$key=$value"
done < <(env | grep -E '^(OIE_[A-Z0-9_]+|CLOUDFLARE_ACCOUNT_ID|CLOUDFLARE_BASE_URL)=' \
  | grep -vE '^OIE_(TOKEN_SECRET|TOMBSTONE_SECRET|EVENT_SIGNING_SECRET|IP_HASH_SECRET|ALERT_SLACK_WEBHOOK_URL|ALERT_WEBHOOK_URL|ALERT_WEBHOOK_SECRET|HUBSPOT_TOKEN|FAULT|TARGET|SINK|DATA_DIR|LANDING_DIR|PIXEL_DIR|IMAGE|BQ_PROJECT)=' \
  | sort)
# A webhook URL is its own credential, and so is the HubSpot token: never a plain variable
# of the job.
for secret in OIE_ALERT_SLACK_WEBHOOK_URL OIE_ALERT_WEBHOOK_URL OIE_ALERT_WEBHOOK_SECRET \
  OIE_HUBSPOT_TOKEN; do
  if [[ -n ${!secret:-} && ,$SECRETS, != *",$secret="* ]]; then
    echo "schedule: $secret is a secret and is not passed as a plain variable: add" \
      "$secret=<Secret Manager secret>:latest to EXTRA_SECRETS" >&2
  fi
done

run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  if [[ $DRY_RUN == 0 ]]; then "$@"; fi
}

# Read-only, so it runs in --dry-run too: does the resource exist already?
exists() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  "$@" >/dev/null 2>&1
}

# 1. The Cloud Run job: one task, no parallelism, no retry (the next run catches up), and a
#    task timeout below the interval, so an execution is over before the next one starts.
if exists gcloud run jobs describe "$RUN_JOB" --project "$PROJECT" --region "$REGION" \
  --format 'value(name)'; then
  VERB=update
else
  VERB=create
fi
run gcloud run jobs "$VERB" "$RUN_JOB" \
  --project "$PROJECT" \
  --region "$REGION" \
  --image "$OIE_IMAGE" \
  --command oie \
  --args "$ARGS" \
  --set-env-vars "^@^$ENV_VARS" \
  --set-secrets "$SECRETS" \
  --service-account "$RUN_SA" \
  --tasks 1 \
  --parallelism 1 \
  --max-retries 0 \
  --task-timeout "${TIMEOUT}m" \
  --memory "${MEMORY:-1Gi}" \
  --cpu "${CPU:-1}"

# 2. Who may execute it (adding a binding that exists already changes nothing).
run gcloud run jobs add-iam-policy-binding "$RUN_JOB" \
  --project "$PROJECT" \
  --region "$REGION" \
  --member "serviceAccount:$SCHEDULER_SA" \
  --role roles/run.invoker

# 3. The trigger: Cloud Scheduler calls the Run Admin API's jobs.run every N minutes.
if exists gcloud scheduler jobs describe "$SCHEDULER_JOB" --project "$PROJECT" \
  --location "$REGION" --format 'value(name)'; then
  VERB=update
else
  VERB=create
fi
run gcloud scheduler jobs "$VERB" http "$SCHEDULER_JOB" \
  --project "$PROJECT" \
  --location "$REGION" \
  --schedule "$CRON" \
  --time-zone "${TIME_ZONE:-Etc/UTC}" \
  --http-method POST \
  --uri "https://run.googleapis.com/v2/projects/$PROJECT/locations/$REGION/jobs/$RUN_JOB:run" \
  --oauth-service-account-email "$SCHEDULER_SA" \
  --oauth-token-scope https://www.googleapis.com/auth/cloud-platform \
  --max-retry-attempts 0

echo "schedule: '$SCHEDULER_JOB' ($CRON) executes '$RUN_JOB': oie ${ARGS//,/ }," \
  "under the lock $DATA_DIR/oie-run.lock, at most ${TIMEOUT} min per run"
