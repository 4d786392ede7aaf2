/** The span → chat conversion lives with the other telemetry readers (src/datasets/telemetry); kept here for existing imports. */
export { spanToChat, type ChatMessage, type ChatToolCall, type SpanAttributes, type SpanConversion } from '../../src/datasets/telemetry/span-to-chat.js';
