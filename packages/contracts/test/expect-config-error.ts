import { ConfigError } from '../src/config';

/** Runs `load`, which must throw a ConfigError, and returns it for closer inspection. */
export function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
