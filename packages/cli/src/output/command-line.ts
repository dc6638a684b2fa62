// Commands shown to the user to copy and paste: arguments quoted for a POSIX
// shell only where they need it, so simple commands stay readable.

/** `argv` as one line a shell runs as the same arguments. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

function quote(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
