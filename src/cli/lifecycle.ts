/** `berth lifecycle`: see "berth lifecycle --help". */
export async function lifecycleCommand(argv: string[]): Promise<number> {
  void argv;
  process.stderr.write('berth lifecycle: not available in this build\n');
  return 2;
}
