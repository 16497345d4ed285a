export { ecrDoor, type EcrDeps } from './plugin.js';
