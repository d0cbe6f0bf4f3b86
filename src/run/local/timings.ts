/**
 * A request's phases in ms, with k6's names
 * (https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/).
 */
export interface Timings {
  blocked: number;
  connecting: number;
  tls_handshaking: number;
  sending: number;
  waiting: number;
  receiving: number;
  duration: number;
}

export function zeroTimings(): Timings {
  return { blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting: 0, receiving: 0, duration: 0 };
}
