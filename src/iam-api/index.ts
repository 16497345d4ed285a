export { queryDoor, type QueryDeps } from './plugin.js';
