// How invokers name a call in errors and logs, and which session a handle's calls belong to.

import type { HandleRef } from '../handles/handle-ref.js';
import type { Call, SessionRef } from './invoker.js';

/** The call as error messages name it: `numpy.linalg.norm`, `<Model #3>.fit`, `eval(1 + 1)`. */
export function describeCall(call: Call): string {
  const on = call.handle === undefined ? '' : `<${call.handle.type} #${call.handle.id}>`;
  switch (call.op) {
    case 'call':
      return on === '' ? call.target : call.target === '' ? on : `${on}.${call.target}`;
    case 'eval':
    case 'exec':
      return `${call.op}(${call.target.length > 40 ? `${call.target.slice(0, 40)}…` : call.target})`;
    default:
      return `${call.op} ${on === '' ? call.target : `${on}.${call.target}`}`;
  }
}

/** The session a handle was created in, if any: calls on it run in that session. */
export function sessionOfHandle(handle: HandleRef | undefined): SessionRef | undefined {
  return handle?.session === undefined || handle.owner === undefined
    ? undefined
    : { id: handle.session, owner: handle.owner };
}
