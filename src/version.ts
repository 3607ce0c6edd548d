/** The version in every event's source.version; keep in step with package.json. */
export const VERSION = '0.1.0';
