/** `berth vulndb`: see "berth vulndb --help". */
export async function vulndbCommand(argv: string[]): Promise<number> {
  void argv;
  process.stderr.write('berth vulndb: not available in this build\n');
  return 2;
}
