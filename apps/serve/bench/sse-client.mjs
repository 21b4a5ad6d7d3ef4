// A lean streaming client for `POST /v1/completions` (the load generator's default, BENCH_CLIENT=http): node:http on
// keep-alive sockets and a server-sent-events parser of its own, reporting each event's arrival time.
//
// Why not the `openai` SDK here (still BENCH_CLIENT=openai, and the client of the tests): on the 2-vCPU machine the
// benchmarks run on, the clients share the cores with the server they measure, and the SDK's path (fetch, web
// streams, async iterators) cost the client process 0.22–0.23 CPU-ms per streamed token at 16 clients: about a
// ninth of the machine, taken from a CPU-bound server. What a client must check is kept: the HTTP status, each event
// parsed as JSON, its text, the usage at the end and `[DONE]`.
import { Agent, request } from 'node:http';

/** An error with the server's status and body, as the SDK would raise it. */
export class HttpError extends Error {
  constructor(status, body) {
    super(`${status} ${body.slice(0, 200)}`);
    this.status = status;
  }
}

/**
 * A client of `base` (e.g. `http://127.0.0.1:8080`) holding up to `sockets` keep-alive connections. `complete(body,
 * onEvent)` streams one completion: `onEvent(event, now)` for each parsed event (`now`: performance.now() when its
 * bytes arrived); it resolves after `[DONE]` and rejects on a non-200 status, a malformed event, or a stream that
 * ends without `[DONE]`.
 */
export function sseClient(base, sockets) {
  const url = new URL('/v1/completions', base);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const complete = (body, onEvent) =>
    new Promise((resolvePromise, reject) => {
      const payload = JSON.stringify({ ...body, stream: true });
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            authorization: 'Bearer bench',
          },
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          if (res.statusCode !== 200) {
            res.on('data', (d) => {
              text += d;
            });
            res.on('end', () => reject(new HttpError(res.statusCode, text)));
            return;
          }
          let done = false;
          let data = '';
          res.on('data', (chunk) => {
            const now = performance.now();
            text += chunk;
            let nl = text.indexOf('\n');
            while (nl >= 0) {
              const line = text.slice(0, text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
              text = text.slice(nl + 1);
              nl = text.indexOf('\n');
              if (line === '') {
                // A blank line ends an event (its data lines joined by newlines, per the SSE spec).
                if (data === '') continue;
                const event = data;
                data = '';
                if (event === '[DONE]') {
                  done = true;
                  continue;
                }
                try {
                  onEvent(JSON.parse(event), now);
                } catch (e) {
                  req.destroy(e);
                  return;
                }
              } else if (line.startsWith('data:')) {
                const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
                data = data === '' ? value : `${data}\n${value}`;
              }
              // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing a completion needs.
            }
          });
          res.on('end', () => (done ? resolvePromise() : reject(new Error('stream ended without [DONE]'))));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return { complete, close: () => agent.destroy() };
}
