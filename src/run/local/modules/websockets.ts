/** The `k6/websockets` module (and its deprecated alias k6/experimental/websockets): WebSocket. */
import type { VuApi } from '../vuApi.js';
import { makeWebSocketClass } from '../websocket.js';

export function websocketsMembers(vu: VuApi): Record<string, unknown> {
  return { WebSocket: makeWebSocketClass(vu) };
}
