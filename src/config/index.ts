export {
  loadConfig,
  parseListen,
  parseDuration,
  ConfigError,
  CONFIG_FLAGS,
  type Config,
  type ConfigSources,
  type Limits,
  type RateLimits,
  type Peer,
  type S3Config,
  type Webhook,
} from './config.js';
