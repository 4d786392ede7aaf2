/** The span → chat conversion lives with the other telemetry readers (src/datasets/telemetry); kept here for existing imports. */
export { spanToChat, type ChatMessage } from '../../src/datasets/telemetry/span-to-chat.js';
