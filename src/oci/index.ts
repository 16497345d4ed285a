export { ociPlugin } from './plugin.js';
export type { OciDeps } from './context.js';
export { parseOciPath, type OciRoute } from './route.js';
export { sendOciError } from './errors.js';
