export type { BlobInventory, BlobStore, ByteRange, PublishedBlob, StoredFile, UploadId } from './blob-store.js';
export { FsBlobStore } from './fs-blob-store.js';
export { S3BlobStore, openBlobStore } from './s3-blob-store.js';
