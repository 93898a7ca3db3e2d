#!/usr/bin/env node
// Inbound webhooks at a fixed rate (the latency goal: p99 at 1,000 requests/s), signed GitHub push deliveries,
// each with its own X-GitHub-Delivery. Needs the main job running and its admin key (to create the source).
//   npm ci --prefix tests/Benchmarks/autocannon
//   node tests/Benchmarks/autocannon/inbound-rate.js [--url http://127.0.0.1:7071] [--rate 1000] [--seconds 20] [--connections 32]
'use strict';
const autocannon = require('autocannon');
const crypto = require('node:crypto');
const fs = require('node:fs');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, i, all) =>
  (i % 2 === 0 ? [...pairs, [value.replace(/^--/, ''), all[i + 1]]] : pairs), []));
const url = args.url ?? 'http://127.0.0.1:7071';
const rate = Number(args.rate ?? 1000);
const seconds = Number(args.seconds ?? 20);
const connections = Number(args.connections ?? 32);
const secret = 'bench-secret';
const body = JSON.stringify({
  ref: 'refs/heads/main', before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', after: '59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5',
  repository: { full_name: 'retail/checkout' }, pusher: { name: 'octocat' },
  commits: [{ id: '59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5', message: 'Fix basket rounding', timestamp: '2026-11-22T06:00:00Z',
    author: { name: 'Octo Cat' }, added: [], modified: ['src/basket.cs'], removed: [] }],
});
const signature = 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');

async function main() {
  const key = fs.readFileSync(process.env.ADMIN_KEY_FILE ?? '.data/admin.key', 'utf8').trim();
  const created = await fetch(`${url}/api/webhooks/sources/bench`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'github', secrets: [secret] }),
  });
  if (!created.ok) throw new Error(`creating the source failed: ${created.status} ${await created.text()}`);

  const run = `${Date.now()}-`;
  let sequence = 0;
  let notAccepted = 0;
  const result = await autocannon({
    url: `${url}/api/webhooks/in/bench`,
    connections,
    overallRate: rate,
    duration: seconds,
    requests: [{
      method: 'POST',
      body,
      setupRequest: (request) => ({
        ...request,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-hub-signature-256': signature,
          'x-github-delivery': run + (sequence++),
        },
      }),
      onResponse: (status) => { if (status !== 202) notAccepted++; },
    }],
  });
  const l = result.latency;
  console.log(`requests ${result.requests.total} in ${seconds} s at a target of ${rate}/s (${(result.requests.total / seconds).toFixed(0)}/s done); answers other than 202: ${notAccepted + result.errors + result.timeouts}`);
  console.log(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p99_9}  max ${l.max}`);
}

main().catch((error) => { console.error(error); process.exit(1); });
