export type { BlobInventory, BlobStore, ByteRange, PublishedBlob, StoredFile, UploadId } from './blob-store.js';
export { FsBlobStore } from './fs-blob-store.js';
// s3-blob-store.ts is not re-exported: importing it loads the AWS SDK (open.ts loads it when asked).
export { openBlobStore } from './open.js';
