import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Ends the local server's pipelined answers with their connection. Node answers a connection's
 * requests in order: an answer whose turn has not come has no socket yet, and when the connection
 * goes Node aborts its request but never emits the answer's 'close' (only the one being written
 * gets it). @hono/node-server cancels a streamed body on that 'close' alone, so each such answer
 * (a file read on the fs store) kept its file open until garbage collection. When the connection
 * closes, each answer still queued on it is destroyed (a body handed over later is cancelled at once)
 * and gets the 'close' Node leaves out (a body being written is cancelled, the request's signal
 * aborted). The connection's close, not the request's: a request emits its own once its body is
 * read. An answer that has its socket, the usual case, costs one check.
 */
export function closeQueuedResponsesWithTheirConnection(server: Server): void {
  const queued = new WeakMap<Socket, Set<ServerResponse>>();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (res.socket) return;
    const socket = req.socket;
    let answers = queued.get(socket);
    if (!answers) {
      const waiting = new Set<ServerResponse>();
      answers = waiting;
      queued.set(socket, waiting);
      // After Node's own listener, which closes the answer being written (destroyed by then).
      socket.once("close", () => {
        for (const answer of waiting) {
          if (answer.writableFinished || answer.destroyed) continue;
          answer.destroy();
          answer.emit("close");
        }
      });
    }
    answers.add(res);
    res.once("finish", () => answers.delete(res));
  });
}
