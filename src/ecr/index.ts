export { ecrPlugin, type EcrDeps } from './plugin.js';
