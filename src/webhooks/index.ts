export { toEcrEvent, DETAIL_TYPES, type EcrEvent } from './eventbridge.js';
export { deliver, displayUrl, sign, verifySignature, wants, WEBHOOK_JOB, SIGNATURE_HEADER, TIMESTAMP_HEADER, type DeliveryPayload, type AttemptResult } from './delivery.js';
