import type { IncomingMessage, Server, ServerResponse } from "node:http";

/**
 * Ends the local server's pipelined answers with their connection. Node answers a connection's
 * requests in order: an answer whose turn has not come has no socket yet, and when the connection
 * goes Node aborts its request but never emits the answer's 'close' (only the one being written
 * gets it). @hono/node-server cancels a streamed body on that 'close' alone, so each such answer
 * (a file read on the fs store) kept its file open until garbage collection. Once the connection
 * can take no more, the queued answer is destroyed (a body handed over later is cancelled at once)
 * and gets the 'close' Node leaves out (a body being written is cancelled, the request's signal
 * aborted). An answer that has its socket, the usual case, costs one check.
 */
export function closeQueuedResponsesWithTheirConnection(server: Server): void {
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (res.socket) return;
    req.once("close", () => {
      // Written whole, or closed already; or its turn may still come.
      if (res.writableFinished || res.destroyed || req.socket.writable) return;
      res.destroy();
      res.emit("close");
    });
  });
}
