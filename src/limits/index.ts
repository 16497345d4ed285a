export { RateLimiter } from './rate-limiter.js';
