export type { BlobStore, ByteRange, UploadId } from './blob-store.js';
export { FsBlobStore } from './fs-blob-store.js';
