/** `berth status`: see "berth status --help". */
export async function statusCommand(argv: string[]): Promise<number> {
  void argv;
  process.stderr.write('berth status: not available in this build\n');
  return 2;
}
