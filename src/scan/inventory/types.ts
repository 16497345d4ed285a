/**
 * The package and OS shapes the inventory produces are the matcher's (src/scan/match/index.ts),
 * so an inventory feeds matching without conversion.
 */
export type { Package, OsRelease } from '../match/index.js';
