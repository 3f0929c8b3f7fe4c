// Runs the graphql-http audit suite against a live server; exits non-zero when a MUST fails.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql  (with graphql-http resolvable from NODE_PATH)
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.PFMP_AUDIT_DIR || process.cwd(), 'node_modules', 'x.js'));
const { auditServer } = require('graphql-http');

const results = await auditServer({ url: process.argv[2] });
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status === 'error') console.log(`ERROR ${result.id} ${result.name}: ${result.reason}`);
  if (result.status === 'warn') console.log(`warn  ${result.id} ${result.name}: ${result.reason}`);
}
console.log(JSON.stringify(counts));
process.exit(counts.error ? 1 : 0);
