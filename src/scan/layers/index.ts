export { walkLayers } from './walk.js';
export type { Collector, FileEntry, LayerSource, WalkOptions, WalkResult } from './walk.js';
export { detectCompression, sniffLayer } from './decompress.js';
export type { Compression } from './decompress.js';
export { MergedFiles, normalizePath } from './merged.js';
export type { FoundFile } from './merged.js';
