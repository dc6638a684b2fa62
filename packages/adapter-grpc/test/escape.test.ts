// Restricted mode (security.allowedModules) against escape attempts, over
// managed gRPC servers (--allowed-module): calls by dotted name, attribute
// paths on handle proxies, setattr and eval, each refused with
// ForbiddenError and running no command. The module allowed is
// fixtures/escape_target.py, which re-exports os.system, pickle.loads and
// importlib.import_module on purpose.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Bridge,
  ForbiddenError,
  type Invoker,
  type PyProxy,
  setattr,
  silentLogger,
  WorkerStartError,
} from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrpcInvoker } from '../src/index.js';
import { rejection, testConfig, testInvoker } from './helpers.js';

const TARGET = 'escape_target';
const SECURITY = { security: { allowedModules: [TARGET] } };

/**
 * What an attack gets: the allowed module's proxy, the bridge, a shell command
 * that leaves a marker file, and the invoker (for a call no proxy makes).
 */
type Attack = (python: PyProxy, bridge: Bridge, command: string, invoker: Invoker) => Promise<unknown>;

/** A protocol-0 pickle that calls os.system(command) when loaded. */
function pickleRunning(command: string): Uint8Array {
  return new TextEncoder().encode(`cposix\nsystem\n(V${command}\ntR.`);
}

async function drain(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const widget = (python: PyProxy): Promise<PyProxy> => python.make_widget();
const python = (command: string) => `__import__('os').system(${JSON.stringify(command)})`;

const ATTACKS: Record<string, Attack> = {
  // Dunders and private names, by dotted name.
  "a function's __globals__ by name": (py) => py.echo.__globals__,
  "the module's __builtins__ by name": (py) => py.__builtins__,
  'object.__subclasses__() by name, the way to os._wrap_close': (py) => py.SECRET.__class__.__base__.__subclasses__(),
  'a private module attribute by name': (py) => py._hidden,
  // Dunders on handle proxies.
  '__class__ on a handle': async (py) => (await widget(py)).__class__,
  '__init__.__globals__ on a handle of a class': async (py) => (await py.Widget).__init__.__globals__,
  '__mro__ on a handle of a class': async (py) => (await py.Widget).__mro__,
  '__reduce_ex__ called on a handle': async (py) => (await widget(py)).__reduce_ex__(2),
  '__getattribute__ called on a handle': async (py) => (await widget(py)).__getattribute__('__dict__'),
  // Generators and frames.
  'gi_frame.f_globals of a generator handle': async (py) => (await py.numbers(3)).gi_frame.f_globals,
  'gi_frame.f_back of a generator handle': async (py) => (await py.numbers(3)).gi_frame.f_back,
  'iterating gi_frame.f_globals of a generator handle': async (py) => drain((await py.numbers(3)).gi_frame.f_globals),
  'a frame a method returns': async (py) => (await widget(py)).frame(),
  // Functions an allowed module re-exports or keeps.
  'os.system re-exported by an allowed module': (py, _, command) => py.system(command),
  'pickle.loads re-exported, given a pickle that runs a command': (py, _, command) => py.loads(pickleRunning(command)),
  'importlib.import_module re-exported': (py) => py.import_module('os'),
  'builtins.getattr re-exported under another name': async (py) => py.read_attribute(await widget(py), '__class__'),
  'gc.get_objects re-exported': (py) => py.get_objects(),
  'os.system wrapped in a functools.partial of the module': (py, _, command) => py.run_later(command),
  'os.system as a static method, through a handle': async (py, _, command) => (await widget(py)).runner(command),
  'pickle.loads behind an attribute of a handle': async (py, _, command) =>
    (await widget(py)).loader(pickleRunning(command)),
  'a re-export streamed': (_, bridge, command) => drain(bridge.stream(`${TARGET}.system`, [command])),
  'a re-export inside a dict read by name': (py) => py.TOOLS,
  'a re-export a generator yields': (_, bridge) => drain(bridge.stream(`${TARGET}.exports`)),
  // Walkers, type() and format strings.
  'an operator.attrgetter the module holds': async (py) => py.walker(await widget(py)),
  "operator.attrgetter built from a caller's string": (py) => py.make_walker('__class__'),
  "type(obj) through an allowed module's name": async (py) => py.kind(await widget(py)),
  "str.format unbound, on a caller's template": async (py) => py.Template.format('{0.__class__}', await widget(py)),
  'format of a str subclass of the allowed module': async (py) => py.TEMPLATE.format(await widget(py)),
  "a string.Formatter of the module, on a caller's template": async (py) =>
    py.formatter.format('{0.describe.__globals__[SECRET]}', await widget(py)),
  // Modules.
  "sys.modules through the allowed module's import": (py) => py.sys.modules,
  "os.system through the allowed module's import": (py, _, command) => py.os.system(command),
  'os.system through a module a handle holds': async (py, _, command) => (await widget(py)).os.system(command),
  'a module a method returns': async (py) => (await widget(py)).module(),
  'the allowed module itself read by name': (_, __, ___, invoker) => invoker.call({ op: 'getattr', target: TARGET }),
  'os.system a method returns': async (py) => (await widget(py)).system_function(),
  // Chaining handles across calls.
  'a method of a foreign object reached through a handle': async (py) => (await (await widget(py)).environ).get('PATH'),
  // Writes, names outside the list, and code strings.
  'setattr of a public module attribute': (py) => setattr(py, 'SECRET', 'changed'),
  'setattr on a handle': async (py) => setattr(await widget(py), 'name', 'changed'),
  'eval by its bare name': (_, bridge, command) => bridge.call('eval', [python(command)]),
  'os.system by its own name': (_, bridge, command) => bridge.call('os.system', [command]),
  'eval while allowEval is off': (_, bridge, command) => bridge.eval(python(command)),
  'exec while allowEval is off': (_, bridge, command) =>
    bridge.exec(`import os; os.system(${JSON.stringify(command)})`),
};

describe('restricted mode over gRPC', () => {
  let invoker: GrpcInvoker;
  let bridge: Bridge;
  let py: PyProxy;
  let markers: string;
  beforeAll(async () => {
    invoker = testInvoker(SECURITY);
    bridge = new Bridge(invoker, testConfig(SECURITY), silentLogger);
    py = bridge.module(TARGET);
    markers = mkdtempSync(join(tmpdir(), 'sb-escape-'));
  });
  afterAll(async () => {
    await bridge.close();
    await invoker.close();
    rmSync(markers, { recursive: true, force: true });
  });

  for (const [name, attack] of Object.entries(ATTACKS)) {
    it(`refuses ${name} with ForbiddenError, running nothing`, async () => {
      const marker = join(markers, name.replace(/\W+/g, '-'));
      const error = await rejection(attack(py, bridge, `touch ${marker}`, invoker));
      expect(ForbiddenError.is(error), String(error)).toBe(true);
      expect(existsSync(marker)).toBe(false);
      expect(await py.SECRET).toBe("the module's secret");
    });
  }

  it('still calls the allowed module, its objects’ methods and its generators', async () => {
    const made = await widget(py);
    expect(await made.describe()).toBe('widget widget');
    expect(await py.apply(await made.describe)).toBe('widget widget');
    expect(await drain(bridge.stream(`${TARGET}.numbers`, [3]))).toEqual([0, 1, 2]);
    expect(await drain(await py.numbers(2))).toEqual([0, 1]);
    expect(await py.square(7)).toBe(49);
  });
});

describe('unsafe modules over gRPC', () => {
  it('does not start a server whose list names an unsafe module, naming it and the flag', async () => {
    const invoker = testInvoker({
      security: { allowedModules: [TARGET, 'pickle'] },
      pool: { restart: { maxRestarts: 0 } },
    });
    const error = await rejection(invoker.start());
    expect(WorkerStartError.is(error), String(error)).toBe(true);
    expect(error.message).toMatch(/restricted mode: .*'pickle'/);
    expect(error.message).toMatch(/--allow-unsafe-modules/);
    await invoker.close();
  });

  it('starts one with allowUnsafeModules, and the other rules still hold', async () => {
    const settings = { security: { allowedModules: ['operator'], allowUnsafeModules: true } };
    const invoker = testInvoker(settings);
    const bridge = new Bridge(invoker, testConfig(settings), silentLogger);
    expect(await bridge.module('operator').add(1, 2)).toBe(3);
    expect(ForbiddenError.is(await rejection(bridge.module('operator').attrgetter.__class__))).toBe(true);
    await bridge.close();
    await invoker.close();
  });
});
