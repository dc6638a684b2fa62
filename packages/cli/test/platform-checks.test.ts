// The platform checks of snakebridge doctor decide from what the interpreter
// reported: here, whether the OS sandbox can be used when the config asks for it.

import { resolveConfig } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { platformChecks } from '../src/doctor/platform-checks.js';
import type { PythonDoctorReport } from '../src/python/doctor-probe.js';

function report(sandbox: { ok: boolean; detail: string }): PythonDoctorReport {
  const ok = { ok: true, detail: 'available' };
  return {
    features: { extra_fds: ok, parent_death_signal: ok, rlimits: ok, sandbox },
  } as unknown as PythonDoctorReport;
}

const sandboxCheck = (feature: { ok: boolean; detail: string }, enabled: boolean) =>
  platformChecks(report(feature), resolveConfig({ security: { sandbox: { enabled } } }, { env: {} })).find(
    (check) => check.id === 'platform.sandbox',
  );

describe('the sandbox check', () => {
  it('fails when the config turns the sandbox on and the kernel has no Landlock, saying what to do', () => {
    const check = sandboxCheck({ ok: false, detail: 'no Landlock on linux 5.4' }, true);
    expect(check?.status).toBe('fail');
    expect(check?.fix).toContain('Landlock');
  });

  it('passes when the sandbox is off, whatever the kernel', () => {
    expect(sandboxCheck({ ok: false, detail: 'no Landlock on linux 5.4' }, false)?.status).toBe('ok');
  });

  it('passes when the kernel has Landlock', () => {
    expect(sandboxCheck({ ok: true, detail: 'Landlock ABI 7, with TCP rules' }, true)?.status).toBe('ok');
  });
});
