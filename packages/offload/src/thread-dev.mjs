// The worker-thread entry when running from TypeScript sources (tests,
// development): loader hooks given with --import do not reach worker threads
// on Node 20, so the thread registers tsx itself before loading thread.ts.
// Compiled packages use dist/thread.js directly.

const { register } = await import('tsx/esm/api');
register();
const thread = await import('./thread.ts');

export default thread.default;
