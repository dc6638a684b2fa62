// Entry point of the `snakebridge` executable (bin/snakebridge.js; in this
// repository, `pnpm snakebridge …` runs it from source).

import { run } from './cli.js';

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
