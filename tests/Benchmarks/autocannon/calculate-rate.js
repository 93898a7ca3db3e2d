#!/usr/bin/env node
// Promotions calculate at a fixed rate (the latency goal: p99 at 5,000 requests/s), the 30-line basket that
// tests/Benchmarks/wrk/calculate.sh seeds and writes. Needs the main job running, seeded, and its admin key.
//   npm ci --prefix tests/Benchmarks/autocannon
//   node tests/Benchmarks/autocannon/calculate-rate.js [--url http://127.0.0.1:7071] [--rate 5000] [--seconds 20] [--connections 64]
'use strict';
const autocannon = require('autocannon');
const fs = require('node:fs');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, i, all) =>
  (i % 2 === 0 ? [...pairs, [value.replace(/^--/, ''), all[i + 1]]] : pairs), []));
const url = args.url ?? 'http://127.0.0.1:7071';
const rate = Number(args.rate ?? 5000);
const seconds = Number(args.seconds ?? 20);
const connections = Number(args.connections ?? 64);

async function main() {
  const key = fs.readFileSync(process.env.ADMIN_KEY_FILE ?? '.data/admin.key', 'utf8').trim();
  const body = fs.readFileSync(process.env.BODY_FILE ?? '.data/calculate-body.json', 'utf8');
  let notOk = 0;
  const result = await autocannon({
    url: `${url}/api/promotions/calculate`,
    connections,
    overallRate: rate,
    duration: seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    requests: [{ onResponse: (status) => { if (status !== 200) notOk++; } }],
  });
  const l = result.latency;
  console.log(`requests ${result.requests.total} in ${seconds} s at a target of ${rate}/s (${(result.requests.total / seconds).toFixed(0)}/s done); answers other than 200: ${notOk + result.errors + result.timeouts}`);
  console.log(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p99_9}  max ${l.max}`);
}

main().catch((error) => { console.error(error); process.exit(1); });
