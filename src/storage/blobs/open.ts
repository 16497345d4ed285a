import type { S3Config } from '../../config/index.js';
import type { BlobInventory, BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

/**
 * The blob store the configuration names: the S3 bucket when `s3` is set, else the data folder.
 * The S3 store is loaded only when asked for: the AWS SDK's S3 client costs some 35 MiB of memory
 * that an embedded node never uses.
 */
export async function openBlobStore(config: { dataDir: string; s3?: S3Config }): Promise<(BlobStore & BlobInventory) & { close?(): void }> {
  if (config.s3) {
    const { S3BlobStore } = await import('./s3-blob-store.js');
    const store = new S3BlobStore(config.s3);
    try {
      await store.init();
    } catch (err) {
      store.close();
      throw new Error(`the S3 bucket ${config.s3.bucket}${config.s3.endpoint ? ` at ${config.s3.endpoint}` : ''} does not answer: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return store;
  }
  const store = new FsBlobStore(config.dataDir);
  await store.init();
  return store;
}
