/** `berth audit`: see "berth audit --help". */
export async function auditCommand(argv: string[]): Promise<number> {
  void argv;
  process.stderr.write('berth audit: not available in this build\n');
  return 2;
}
