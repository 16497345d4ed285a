export { loadConfig, parseListen, parseDuration, ConfigError, CONFIG_FLAGS, type Config, type ConfigSources, type Limits, type RateLimits } from './config.js';
