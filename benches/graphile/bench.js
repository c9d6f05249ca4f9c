// graphile-worker's side of scripts/bench-jobs.sh: the same no-op jobs on the same
// PostgreSQL, measured the same way as examples/job_bench.rs.
//
//   node bench.js throughput JOBS WORKERS BATCH
//   node bench.js latency SAMPLES idle|busy
//
// DATABASE_URL names an empty database; graphile-worker installs its own schema.
const { run, makeWorkerUtils } = require("graphile-worker");
const { Pool } = require("pg");

const connectionString = process.env.DATABASE_URL;
const [mode, ...rest] = process.argv.slice(2);
const silent = () => () => {};
const { Logger } = require("graphile-worker");
const logger = new Logger(silent);

function percentile(sorted, p) {
  return sorted[Math.round((sorted.length - 1) * p)];
}

async function throughput(jobs, workers, batch) {
  const pool = new Pool({ connectionString, max: 4 });
  const utils = await makeWorkerUtils({ pgPool: pool, logger });
  await utils.migrate();
  let started = process.hrtime.bigint();
  for (let done = 0; done < jobs; done += batch) {
    const n = Math.min(batch, jobs - done);
    // add_jobs, one statement per batch, as Pactum enqueues.
    await pool.query(
      `select graphile_worker.add_jobs(array(
         select row('noop', json_build_object('i', i), null, null, null, null, null, null)::graphile_worker.job_spec
         from generate_series(1, $1::int) i))`,
      [n],
    );
  }
  const enqueueSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  let count = 0;
  let finished;
  const allDone = new Promise((resolve) => (finished = resolve));
  started = process.hrtime.bigint();
  const runner = await run({
    pgPool: pool,
    concurrency: workers,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    taskList: {
      noop: async () => {
        count += 1;
        if (count === jobs) finished();
      },
    },
  });
  await allDone;
  const runSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  await utils.release();
  await pool.end();
  console.log(
    `graphile-worker throughput: ${jobs} jobs, ${workers} workers, batches of ${batch}: ` +
      `enqueue ${(jobs / enqueueSeconds).toFixed(0)} jobs/s, run ${(jobs / runSeconds).toFixed(0)} jobs/s`,
  );
}

async function latency(samples, busy) {
  const pool = new Pool({ connectionString, max: 8 });
  const utils = await makeWorkerUtils({ pgPool: pool, logger });
  await utils.migrate();
  const waiting = new Map();
  const runner = await run({
    pgPool: pool,
    concurrency: 4,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    taskList: {
      noop: async (payload) => {
        if (payload.probe) {
          const resolve = waiting.get(payload.probe);
          if (resolve) resolve(process.hrtime.bigint());
        }
      },
    },
  });
  let stop = false;
  const filler = busy
    ? (async () => {
        while (!stop) {
          const { rows } = await pool.query(
            "select count(*)::int as n from graphile_worker.jobs where locked_at is null",
          );
          if (rows[0].n < 5000) {
            await pool.query(
              `select graphile_worker.add_jobs(array(
                 select row('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec
                 from generate_series(1, 1000)))`,
            );
          } else {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      })()
    : null;
  if (busy) await new Promise((r) => setTimeout(r, 2000));
  const delays = [];
  for (let i = 1; i <= samples; i++) {
    const started = new Promise((resolve) => waiting.set(i, resolve));
    const before = process.hrtime.bigint();
    await utils.addJob("noop", { probe: i });
    const at = await started;
    delays.push(Number(at - before) / 1e6);
    await new Promise((r) => setTimeout(r, 10));
  }
  stop = true;
  if (filler) await filler;
  await runner.stop();
  await utils.release();
  await pool.end();
  delays.sort((a, b) => a - b);
  console.log(
    `graphile-worker start delay, ${busy ? "busy" : "idle"} queue: p50 ${percentile(delays, 0.5).toFixed(2)} ms, ` +
      `p99 ${percentile(delays, 0.99).toFixed(2)} ms over ${samples} jobs`,
  );
}

(async () => {
  if (mode === "throughput") {
    await throughput(Number(rest[0]), Number(rest[1]), Number(rest[2]));
  } else if (mode === "latency") {
    await latency(Number(rest[0]), rest[1] === "busy");
  } else {
    console.error("usage: node bench.js throughput JOBS WORKERS BATCH | latency SAMPLES idle|busy");
    process.exit(2);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
