// Python docstrings as TSDoc comments: escaped so that no docstring can end
// the comment or invent a tag, and cut so that numpy-sized docstrings do not
// bury the declarations.

/** Longest description carried over, in lines; the rest is in Python's `help()`. */
const MAX_DESCRIPTION_LINES = 24;

export interface DocParts {
  readonly text?: string | null | undefined;
  readonly params?: readonly { readonly name: string; readonly doc: string | null }[];
  readonly returns?: string | null | undefined;
  /** Extra block tags, e.g. `@remarks Untyped: …`, written as given. */
  readonly tags?: readonly string[];
}

/** A TSDoc comment indented by `indent`, or '' when there is nothing to say. */
export function tsdoc(parts: DocParts, indent: string): string {
  const lines: string[] = [];
  const text = parts.text ? cut(escapeDoc(parts.text)) : [];
  lines.push(...text);
  const params = (parts.params ?? []).filter((param) => param.doc);
  if (params.length > 0 || parts.returns || (parts.tags ?? []).length > 0) {
    if (lines.length > 0) lines.push('');
  }
  for (const param of params) lines.push(...block(`@param ${param.name} - `, escapeDoc(param.doc as string)));
  if (parts.returns) lines.push(...block('@returns ', escapeDoc(parts.returns)));
  for (const tag of parts.tags ?? []) lines.push(tag);
  if (lines.length === 0) return '';
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((line) => (line === '' ? `${indent} *` : `${indent} * ${line}`)).join('\n')}\n${indent} */\n`;
}

/** Text safe inside a block comment and for TSDoc: no `*\/`, no tags or inline tags it did not mean. */
function escapeDoc(text: string): string {
  return text
    .replace(/\*\//g, '*\\/')
    .replace(/@/g, '\\@')
    .replace(/[{}]/g, (brace) => `\\${brace}`)
    .replace(/\r\n?/g, '\n')
    .trim();
}

function cut(text: string): string[] {
  const lines = text.split('\n').map((line) => line.trimEnd());
  if (lines.length <= MAX_DESCRIPTION_LINES) return lines;
  return [...lines.slice(0, MAX_DESCRIPTION_LINES), '…'];
}

/** A tag whose text may span lines, continued under it. */
function block(head: string, text: string): string[] {
  const [first = '', ...rest] = cut(text).slice(0, 6);
  return [`${head}${first}`, ...rest.map((line) => `  ${line}`)];
}
