// @snakebridge/offload: large payloads encoded and decoded off the event loop.

export { PayloadOffloader, type PayloadOffloaderOptions, sizeOf } from './offloader.js';
