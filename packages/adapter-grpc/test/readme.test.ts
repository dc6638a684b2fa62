// The README's example is readme-example.ts, verbatim, and it runs: over
// stdio, over managed gRPC servers, and against a server started here.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, stopServers } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('./readme-example.ts', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

afterAll(stopServers);

describe('README example', () => {
  it('is the code of test/readme-example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${readFileSync(EXAMPLE, 'utf8')}\`\`\``);
  });

  it('runs over stdio, managed gRPC servers and a remote server, and prints what its comments say', async () => {
    const server = await startServer([], { env: { SNAKEBRIDGE_TOKEN: 'readme-token' } });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=@snakebridge/source', EXAMPLE], {
      cwd: REPOSITORY,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        SNAKEBRIDGE_GRPC_ENDPOINTS: server.endpoint,
        SNAKEBRIDGE_GRPC_TOKEN: 'readme-token',
      },
    });
    expect(stdout.split('\n')).toEqual(['stdio 5', 'grpc 5', 'CPython', '']);
  }, 30_000);
});
