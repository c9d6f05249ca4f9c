#!/usr/bin/env bash
# What stemming each text in its own language costs full-text search, side by side in
# one run: the English-only query the contract search used before against the one it
# uses now (the query parsed in every language for the GIN index, then each match
# checked in its row's own language), both prepared and run under a generic plan as
# the server runs them, in alternating rounds. The table has the generated column of
# migrations/tenant/V53 (BENCH_ROWS English rows, 50 German ones); `payment` matches
# every English row, `4242` one, and `Vertrag` the German rows, which the English-only
# query cannot find ("Verträge").
# Prints Markdown; the figures are in docs/benchmarks.md ("Full-text search in four
# languages").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS="${BENCH_ROWS:-50000}"
ROUNDS="${BENCH_ROUNDS:-5}"
RUNS="${BENCH_RUNS:-20}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_text_languages
trap 'drop_bench_database pactum_bench_text_languages' EXIT

"$PSQL" -q "$DATABASE_URL" <<SQL
create table texts (
    id serial primary key,
    body text not null,
    text_language text not null default 'english',
    search tsvector generated always as (
        case text_language when 'german' then to_tsvector('german', body)
        when 'french' then to_tsvector('french', body)
        when 'spanish' then to_tsvector('spanish', body)
        else to_tsvector('english', body) end) stored,
    english_only tsvector generated always as (to_tsvector('english', body)) stored
);
insert into texts (body)
select 'The supplier shall deliver the goods of order ' || g || ' and the customer makes the payment '
    || (g % 100) || ' within thirty days.' from generate_series(1, $ROWS) g;
insert into texts (body, text_language)
select 'Die Verträge werden vom Lieferanten ' || g || ' erfüllt.', 'german' from generate_series(1, 50) g;
create index on texts using gin (search);
create index on texts using gin (english_only);
vacuum analyze texts;
SQL

# One round: RUNS executions of a prepared query, the mean execution time in ms.
round() {
  local form=$1 q=$2
  "$PSQL" -qAt "$DATABASE_URL" <<SQL | awk '/Execution Time/ {sum += $3; n++} END {printf "%.2f\n", sum / n}'
set plan_cache_mode = force_generic_plan;
prepare before(text) as
  select id, ts_rank(english_only, query) from texts, websearch_to_tsquery('english', \$1) as query
  where english_only @@ query order by 2 desc limit 20;
prepare now(text) as
  select id, ts_rank(search, query) from texts,
    (select *, english || german || french || spanish as query from (select
       websearch_to_tsquery('english', \$1) as english, websearch_to_tsquery('german', \$1) as german,
       websearch_to_tsquery('french', \$1) as french, websearch_to_tsquery('spanish', \$1) as spanish)
     as languages offset 0) as parsed
  where search @@ query and search @@ case text_language when 'german' then parsed.german
    when 'french' then parsed.french when 'spanish' then parsed.spanish else parsed.english end
  order by 2 desc limit 20;
$(for _ in $(seq "$RUNS"); do echo "explain (analyze, costs off, timing off) execute $form('$q');"; done)
SQL
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD)"
echo "$ROWS English rows and 50 German ones; $ROUNDS alternating rounds of $RUNS executions each; median of the rounds' means"
echo
echo "| query | matches, English only | matches, each in its language | English only (ms) | each in its language (ms) | ratio |"
echo "|---|---|---|---|---|---|"
for query in payment 4242 Vertrag; do
  before=() now=()
  for _ in $(seq "$ROUNDS"); do
    before+=("$(round before "$query")")
    now+=("$(round now "$query")")
  done
  found_before=$("$PSQL" -qAt "$DATABASE_URL" -c \
    "select count(*) from texts where english_only @@ websearch_to_tsquery('english', '$query')")
  found_now=$("$PSQL" -qAt "$DATABASE_URL" -c \
    "select count(*) from texts where search @@ websearch_to_tsquery(text_language::regconfig, '$query')")
  b=$(median "${before[@]}") n=$(median "${now[@]}")
  echo "| \`$query\` | $found_before | $found_now | $b | $n | $(awk -v b="$b" -v n="$n" 'BEGIN {printf "%.2f", n / b}') |"
done
