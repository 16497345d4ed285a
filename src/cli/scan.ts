/** `berth scan`: see "berth scan --help". */
export async function scanCommand(argv: string[]): Promise<number> {
  void argv;
  process.stderr.write('berth scan: not available in this build\n');
  return 2;
}
