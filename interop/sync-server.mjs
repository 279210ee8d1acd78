// Starts the stock @automerge/automerge-repo-sync-server (no access control, no
// announcing: it syncs any document a peer names by id) on loopback only.
//
//   node sync-server.mjs <port> <data-dir>
//
// Prints "Listening on port <port>" on stdout once it accepts connections.
import http from "node:http"

const [port, dataDir] = process.argv.slice(2)
if (!port || !dataDir) {
  console.error("usage: node sync-server.mjs <port> <data-dir>")
  process.exit(64)
}
process.env.PORT = port
process.env.DATA_DIR = dataDir

// The server calls listen(PORT) on every interface; a test server with no access
// control belongs on loopback.
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (first, ...rest) {
  if (typeof first === "number" || typeof first === "string") {
    return listen.call(this, Number(first), "127.0.0.1", ...rest)
  }
  return listen.call(this, first, ...rest)
}

await import("@automerge/automerge-repo-sync-server")
