import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Receiver {
  url: string;
  /** Every POSTed body that was answered 2xx, in arrival order. */
  bodies: Array<Record<string, unknown>>;
  /** Every POST, whatever the answer. */
  hits: number;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that answers 503 to its first `failFirst` POSTs. */
export async function receiver(failFirst = 0): Promise<Receiver> {
  const state: Receiver = { url: '', bodies: [], hits: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      state.hits++;
      if (state.hits <= failFirst) return void res.writeHead(503).end();
      state.bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
