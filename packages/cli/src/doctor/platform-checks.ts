// The platform features the pool relies on, as the interpreter found them:
// pipes passed as extra file descriptors, the parent-death signal, resource
// limits and the OS sandbox; each says what degrades without it.

import type { ResolvedConfig } from '@snakebridge/core';
import type { PythonDoctorReport } from '../python/doctor-probe.js';
import { type Check, fail, ok, warn } from './checks.js';

export function platformChecks(report: PythonDoctorReport, config: ResolvedConfig): Check[] {
  return [
    extraFdsCheck(report, config),
    parentDeathCheck(report, config),
    rlimitsCheck(report, config),
    sandboxCheck(report, config),
  ];
}

function sandboxCheck(report: PythonDoctorReport, config: ResolvedConfig): Check {
  const id = 'platform.sandbox';
  const title = 'OS sandbox';
  const feature = report.features.sandbox ?? { ok: false, detail: 'not reported by this runtime' };
  const wanted = config.security.sandbox.enabled;
  if (feature.ok === true) {
    return ok(
      id,
      title,
      `${feature.detail}${wanted ? ', as security.sandbox needs' : ': security.sandbox can be used'}`,
    );
  }
  if (wanted) {
    return fail(
      id,
      title,
      `${feature.detail}, but security.sandbox is on: workers would refuse to start (docs/security.md)`,
      'run on Linux 5.13+ with Landlock enabled (lsm= boot parameter), or turn security.sandbox off',
    );
  }
  return ok(id, title, `${feature.detail}: security.sandbox cannot be used here (it is off)`);
}

function extraFdsCheck(report: PythonDoctorReport, config: ResolvedConfig): Check {
  const id = 'platform.extra-fds';
  const title = 'Pipes at extra file descriptors';
  const feature = report.features.extra_fds;
  const user =
    config.invoker === 'stdio'
      ? 'the stdio invoker sends its frames over pipes at fds 3-5'
      : 'managed gRPC servers report ready and watch their host over pipes at fds 3-4';
  if (feature.ok === true) return ok(id, title, `a pipe at fd 3 reached Python: ${user}`);
  return fail(
    id,
    title,
    `${feature.detail}; ${user}, so workers cannot start here`,
    "run on Linux or macOS, or use invoker: 'grpc' with grpc.mode: 'remote' and servers on a platform that has them",
  );
}

function parentDeathCheck(report: PythonDoctorReport, config: ResolvedConfig): Check {
  const id = 'platform.parent-death';
  const title = 'Parent-death signal';
  const feature = report.features.parent_death_signal;
  if (feature.ok === true) return ok(id, title, `${feature.detail}: workers die at once with a host that is killed`);
  const heartbeat =
    config.pool.hostTimeoutMs > 0
      ? `, or the host's heartbeat stops answering (pool.hostTimeoutMs ${config.pool.hostTimeoutMs} ms)`
      : '';
  return warn(
    id,
    title,
    `not available (${feature.detail}): a worker outlives a killed host until it sees its pipes close or its ` +
      `parent change (checked every second)${heartbeat}`,
    null,
  );
}

function rlimitsCheck(report: PythonDoctorReport, config: ResolvedConfig): Check {
  const id = 'platform.rlimits';
  const title = 'Resource limits';
  const feature = report.features.rlimits;
  const { addressSpaceBytes, cpuSeconds } = config.pool.limits;
  const configured = addressSpaceBytes !== undefined || cpuSeconds !== undefined;
  if (feature.ok === true) {
    return ok(id, title, `${feature.detail}${configured ? ', as pool.limits needs' : ': pool.limits can be used'}`);
  }
  if (configured) {
    return fail(
      id,
      title,
      `${feature.detail}, but pool.limits is set: workers would fail to start`,
      'remove pool.limits.addressSpaceBytes and pool.limits.cpuSeconds; pool.maxRssBytes recycles big workers instead',
    );
  }
  return ok(id, title, `${feature.detail}: pool.limits cannot be used here (it is not set)`);
}
