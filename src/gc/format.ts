const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`: sizes as the gc and fsck commands print them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}
