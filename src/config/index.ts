export { loadConfig, parseListen, ConfigError, CONFIG_FLAGS, type Config, type ConfigSources } from './config.js';
