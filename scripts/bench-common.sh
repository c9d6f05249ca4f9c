# Shared by the load benchmarks (bench-http.sh, bench-clm.sh); sourced, not run.

# shellcheck source=scripts/lib/packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/packages.sh"

# wrk, from the distribution if missing.
ensure_wrk() {
  install_packages "command -v wrk" wrk
}

# fresh_bench_database NAME [TEMPLATE]: drops and recreates database NAME (a copy of
# database TEMPLATE, if given) on the server of DATABASE_URL (else the private cluster)
# and exports DATABASE_URL pointing at it.
# Sets PSQL (the client), BASE (the server's URL without a database) and
# BENCH_SERVER_URL (the URL it started from) for the caller.
# On the private cluster the URL goes through its Unix socket, which spares the TCP
# stack as a server next to its database would (BENCH_PG_TCP=1 keeps TCP).
fresh_bench_database() {
  local name=$1 template=${2:-}
  BENCH_SERVER_URL="${DATABASE_URL:-$(bash scripts/pg.sh url)}"
  BASE="${BENCH_SERVER_URL%/*}"
  PSQL="$(ls /usr/lib/postgresql/*/bin/psql | tail -n1)"
  "$PSQL" -q "$BENCH_SERVER_URL" -c "drop database if exists $name with (force)" \
    -c "create database $name${template:+ template $template}" >/dev/null
  drop_orphan_tenant_roles
  export DATABASE_URL="$BASE/$name"
  # Only when DATABASE_URL is that cluster: its running postmaster's port is the URL's.
  local private_port=""
  if [ -f .pactum/pg-data-dir ]; then
    private_port="$(sed -n 4p "$(cat .pactum/pg-data-dir)/postmaster.pid" 2>/dev/null || true)"
  fi
  if [ -z "${BENCH_PG_TCP:-}" ] && [ -n "$private_port" ] &&
    [ "$BASE" = "postgres://postgres@127.0.0.1:$private_port" ]; then
    local encoded_dir
    encoded_dir="$(sed 's#/#%2F#g' .pactum/pg-data-dir)"
    export DATABASE_URL="postgres://postgres@$encoded_dir:${BASE##*:}/$name"
  fi
}

# drop_bench_database NAME: the cleanup at the end of a run, with the tenant roles of
# databases that are gone (roles are cluster-wide; see crates/tenancy/src/roles.rs).
drop_bench_database() {
  "$PSQL" -q "$BENCH_SERVER_URL" -c "drop database if exists $1 with (force)" >/dev/null || true
  drop_orphan_tenant_roles
}

drop_orphan_tenant_roles() {
  "$PSQL" -q "$BENCH_SERVER_URL" >/dev/null 2>&1 <<'SQL' || true
select format('drop role if exists %I', rolname) from pg_roles
 where rolname ~ '^pactum_t[0-9]{1,10}_[0-9a-f]{16}$'
   and substring(rolname from '^pactum_t([0-9]+)_')::oid not in (select oid from pg_database)
\gexec
SQL
}

# append_rotating_request FILE: completes a wrk script whose `targets` table lists
# {host, token} pairs with a request function that takes them in turn.
append_rotating_request() {
  cat >>"$1" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local t = targets[(n % #targets) + 1]
  wrk.headers["Host"] = t[1]
  wrk.headers["Authorization"] = "Bearer " .. t[2]
  return wrk.format("GET", wrk.path)
end
LUA
}

# median VALUE...: the middle value (the upper one of an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# seed_contracts URL SCHEMA COUNT: COUNT contracts (and 200 counterparties) in the
# tenant schema SCHEMA, owned by its first user, with varied types, statuses, values,
# dates, tags and searchable bodies; then ANALYZE. Plain SQL on columns every build
# since the CLM core has, so two builds can be seeded alike. The tenants are marked
# as read by every edition of the rules (where the build keeps editions), so that the
# server measured does not start by reading the seeded contracts again.
seed_contracts() {
  local url=$1 schema=$2 count=$3
  "$PSQL" -q -v ON_ERROR_STOP=1 "$url" -c "
    insert into $schema.counterparties (name) select 'Counterparty ' || i from generate_series(1, 200) i;
    insert into $schema.contracts (title, contract_type, status, value, currency, counterparty_id, owner_id,
        start_date, end_date, auto_renew, renewal_notice_days, tags, body, created_by, updated_by, created_at)
    select
      (array['Master services','Hosting','Supply','Consulting','Licence','Maintenance','Logistics','Catering'])[1 + i % 8]
        || ' agreement ' || i,
      (array['msa','nda','sow','dpa','lease','employment','purchase_order','other'])[1 + i % 8],
      (array['draft','in_review','approved','rejected','executed','expired','terminated'])[1 + (i / 8) % 7],
      round(((i * 7919) % 1000000)::numeric / 100, 2), 'EUR',
      (select id from $schema.counterparties order by name limit 1 offset i % 200),
      owner.id,
      date '2024-01-01' + (i % 730), date '2026-01-01' + (i % 1460),
      i % 3 = 0, case when i % 3 = 0 then 30 + i % 60 end,
      case when i % 5 = 0 then array['strategic'] when i % 5 = 1 then array['renewal', 'q' || (1 + i % 4)] else '{}' end,
      'This agreement number ' || i || ' is made between the parties. The supplier shall provide '
        || (array['consulting','hosting','logistics','catering','security','cleaning','software','hardware'])[1 + i % 8]
        || ' services. Payment is due within ' || (30 + (i % 3) * 15) || ' days of invoice. '
        || 'Liability of either party is limited to the fees paid. Reference keyword ref' || (i % 1000) || '.',
      owner.id, owner.id,
      now() - (i || ' minutes')::interval
    from generate_series(1, $count) i, (select id from $schema.users limit 1) owner;
    analyze $schema.contracts;"
  "$PSQL" -q -v ON_ERROR_STOP=1 "$url" -c "
    do \$\$ begin
      if to_regclass('public.reader_editions') is not null then
        insert into public.reader_editions (tenant_id, reader, edition)
          select id, 'intelligence.rules', 2147483647 from public.tenants
          on conflict (tenant_id, reader) do update set edition = excluded.edition;
      end if;
    end \$\$;"
}

# seed_crm URL: in tenant bench0 of database URL, 100,000 contracts and 100,000 each of
# accounts, contacts, leads, opportunities (six stages, two currencies, a third
# closed) and invoices (five statuses). The CRM benchmarks' data.
seed_crm() {
  seed_contracts "$1" t_bench0 100000
  "$PSQL" -q -v ON_ERROR_STOP=1 "$1" <<'SQL'
set search_path to t_bench0, public;
insert into counterparties (name, industry, website, tags, owner_id)
  select 'Account ' || i, (array['Retail','Logistics','Health','Software'])[1 + i % 4],
         'https://a' || i || '.example', case when i % 3 = 0 then array['key'] else '{}' end,
         (select id from users limit 1)
  from generate_series(1, 100000) i;
insert into contacts (name, emails, email_keys, phones, role)
  select 'Person ' || i, array['P' || i || '@a' || i || '.example'], array['p' || i || '@a' || i || '.example'],
         array['+1 555 ' || lpad(i::text, 6, '0')], 'buyer'
  from generate_series(1, 100000) i;
insert into account_contacts (contact_id, counterparty_id)
  select c.id, a.id from (select id, row_number() over (order by id) n from contacts) c
  join (select id, row_number() over (order by id) n from counterparties where name like 'Account %') a on a.n = c.n;
insert into leads (name, company, email, source, status, lost_reason, score, owner_id, created_at)
  select 'Lead ' || i, 'Company ' || i, 'lead' || i || '@c' || i || '.example',
         (array['web','event','referral'])[1 + i % 3],
         (array['new','contacted','qualified','lost'])[1 + i % 4],
         case when i % 4 = 3 then 'price' end, i % 101, (select id from users limit 1),
         now() - (i || ' minutes')::interval
  from generate_series(1, 100000) i;
insert into opportunities (name, account_id, stage, amount, currency, expected_close_date, owner_id, lost_reason, closed_at)
  select 'Deal ' || i, a.id,
         (array['prospecting','qualification','proposal','negotiation','won','lost'])[(1 + i % 6)::int],
         (i % 1000) * 100, (array['EUR','USD'])[(1 + i % 2)::int], date '2026-01-01' + (i % 730)::int,
         (select id from users limit 1), case when i % 6 = 5 then 'price' end,
         case when i % 6 >= 4 then now() - ((i % 300) || ' days')::interval end
  from (select id, row_number() over (order by id) i from counterparties where name like 'Account %') a;
insert into invoices (number, account_id, currency, status, issue_date, due_date, total, paid, created_at)
  select 'INV-2026-' || lpad(i::text, 6, '0'), a.id, 'EUR',
         (array['draft','sent','paid','overdue','partly_paid'])[(1 + i % 5)::int],
         date '2026-01-01' + (i % 300)::int, date '2026-01-31' + (i % 300)::int,
         (i % 500) * 10, case when i % 5 = 2 then (i % 500) * 10 when i % 5 = 4 then 5 else 0 end,
         now() - (i || ' minutes')::interval
  from (select id, row_number() over (order by id) i from counterparties where name like 'Account %') a;
analyze;
SQL
}

# crm_tenant: the release build, migrated into the fresh bench database, with one
# tenant bench0 (host bench0.localhost, its admin admin@bench0.example) holding
# seed_crm's records. The CRM benchmarks' start.
crm_tenant() {
  cargo build --release --locked --workspace --bins
  target/release/tenantctl migrate >/dev/null
  printf 'bench password 123\n' | target/release/tenantctl create bench0 \
    --domain bench0.localhost --admin-email admin@bench0.example >/dev/null
  echo "== seeding bench0: 100,000 contracts and 100,000 of each CRM record"
  local started
  started=$(date +%s)
  seed_crm "$DATABASE_URL"
  echo "   seeded in $(( $(date +%s) - started )) s"
}

# cpu_ticks PID...: one line per live process, "PID TICKS": its user plus system CPU
# so far, in clock ticks (1/100 s).
cpu_ticks() {
  local pid stat
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "$pid $((${12} + ${13}))"
  done
}

# cpu_ticks_spent BEFORE AFTER: the ticks spent between two cpu_ticks outputs by the
# processes alive at both (one that ended in between is left out rather than counted
# as a negative).
cpu_ticks_spent() {
  awk 'NR == FNR {before[$1] = $2; next} ($1 in before) {sum += $2 - before[$1]} END {print sum + 0}' \
    <(echo "$1") <(echo "$2")
}

# backend_pids DATABASE: the PostgreSQL backends connected to DATABASE (by the
# process title PostgreSQL gives them).
backend_pids() {
  pgrep -f "^postgres: (.*: )?[^ ]+ $1 " || true
}

# Builds the benchmark program benches/NAME.rs (release) and prints its path: the
# programs take their own arguments, so the scripts run them directly rather than
# through `cargo bench`.
bench_program() {
  local built
  built=$(cargo bench --locked --no-run --bench "$1" --message-format=json |
    grep '"kind":\["bench"\]' | grep "\"name\":\"$1\"" |
    grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4)
  [ -n "$built" ] || { echo "benches/$1.rs did not build" >&2; return 1; }
  echo "$built"
}

# start_release_server PORT LOG: the release server on PORT with the environment as it
# is, its log to LOG; returns once it is ready, with SERVER_PID set.
start_release_server() {
  PACTUM_BIND="127.0.0.1:$1" RUST_LOG=warn target/release/pactum 2>"$2" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/readyz" -H "host: localhost" >/dev/null && break
    sleep 0.1
  done
}

# serve_one_tenant DATABASE SLUG PORT: the release server with the model
# (PACTUM_MODEL_DIR, else the one scripts/model.sh installs) on PORT over a fresh
# DATABASE holding one tenant SLUG (host SLUG.localhost, schema t_SLUG, its admin
# admin@SLUG.example); sets SERVER_PID and TOKEN (the admin's), and at exit stops the
# server and drops the database.
serve_one_tenant() {
  local database=$1 slug=$2 port=$3
  export JWT_SECRET="bench-secret-bench-secret-bench-secret-00"
  PACTUM_MODEL_DIR="${PACTUM_MODEL_DIR:-$(bash scripts/model.sh)}"
  export PACTUM_MODEL_DIR
  fresh_bench_database "$database"
  # shellcheck disable=SC2064 # the names are fixed now, on purpose
  trap "drop_bench_database $database" EXIT
  cargo build --release --locked --workspace --bins
  target/release/tenantctl migrate >/dev/null
  printf 'bench password 123\n' | target/release/tenantctl create "$slug" \
    --domain "$slug.localhost" --admin-email "admin@$slug.example" >/dev/null
  start_release_server "$port" "/tmp/pactum-$database.log"
  # shellcheck disable=SC2064
  trap "kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; drop_bench_database $database" EXIT
  TOKEN=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H "host: $slug.localhost" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"admin@$slug.example\",\"password\":\"bench password 123\"}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
}
