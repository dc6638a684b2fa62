// @snakebridge/offload: large payloads encoded and decoded off the event loop.

export { PayloadOffloader, type PayloadOffloaderOptions, sizeOf } from './offloader.js';
export { type OffloadSettings, type OffloadSettingsInput, offloadOptions } from './options.js';
