/** Media types of the OCI image-spec v1.1 and Docker image manifest v2. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
];

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/**
 * Layers that clients fetch from `urls` rather than from the registry (Windows base layers and
 * OCI non-distributable layers). A manifest may reference them without the registry holding them.
 */
export function isForeignLayer(mediaType: string, urls: unknown): boolean {
  return (
    Array.isArray(urls) &&
    urls.length > 0 &&
    (mediaType.includes('.foreign.') || mediaType.includes('.nondistributable.'))
  );
}
