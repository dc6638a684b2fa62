// Turns zod's findings into ConfigIssues that name the field and, where the
// set is fixed, the allowed values (including the known keys for a typo).

import type { z } from 'zod';
import type { ConfigIssue } from '../errors/errors.js';

type Schema = z.ZodType;

/** ConfigIssues for a failed parse; `prefix` names where the settings came from. */
export function toConfigIssues(error: z.ZodError, schema: Schema, prefix = ''): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({
          field: formatField(prefix, [...path, key]),
          message: 'unknown setting',
          allowed: knownKeys(schema, path),
        });
      }
    } else if (issue.code === 'invalid_value') {
      issues.push({
        field: formatField(prefix, path),
        message: 'not an allowed value',
        allowed: issue.values.map(String),
      });
    } else {
      issues.push({ field: formatField(prefix, path), message: issue.message });
    }
  }
  return issues;
}

/** `pool.restart.maxRestarts`, `python.path[0]`. */
export function formatField(prefix: string, path: readonly (string | number)[]): string {
  let field = prefix;
  for (const key of path) {
    field = typeof key === 'number' ? `${field}[${key}]` : field === '' ? key : `${field}.${key}`;
  }
  return field;
}

// Walks the schema along `path` to list the keys an object there accepts.
function knownKeys(schema: Schema, path: readonly (string | number)[]): string[] | undefined {
  let node: Schema | undefined = unwrap(schema);
  for (const key of path) {
    if (node === undefined) return undefined;
    const def = node.def as { type: string; shape?: Record<string, Schema>; valueType?: Schema };
    node = unwrap(def.type === 'object' ? def.shape?.[String(key)] : def.valueType);
  }
  const def = node?.def as { type: string; shape?: Record<string, Schema> } | undefined;
  return def?.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : undefined;
}

function unwrap(schema: Schema | undefined): Schema | undefined {
  let node = schema;
  while (node !== undefined && (node.def as { type: string }).type === 'optional') {
    node = (node.def as unknown as { innerType: Schema }).innerType;
  }
  return node;
}
