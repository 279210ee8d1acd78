// A stock automerge-repo client, as any third-party app would write it: it connects to a
// sync peer over a WebSocket, finds one document and prints it as JSON on stdout.
//
//   node client.mjs <ws-url> <automerge-url> [--set key=value] [--timeout seconds]
//
// <ws-url> for an Insikt hub carries the device token as a query parameter
// (ws://host:port/v1/sync?token=...), since a stock client can set nothing but the URL.
// With --set, the client then sets a root key of the document to a string and waits until
// the peer's sync state acknowledges the new heads (the edit has reached the peer).
//
// Exit codes: 0 done; 2 the document is unavailable; 3 the connection failed or was
// refused; 4 timed out. Diagnostics go to stderr, only the document to stdout.
import { Repo, encodeHeads } from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const args = process.argv.slice(2)
const positional = []
let set = null
let timeout = 20
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--set") {
    const [key, ...rest] = (args[++i] ?? "").split("=")
    set = { key, value: rest.join("=") }
  } else if (args[i] === "--timeout") {
    timeout = Number(args[++i])
  } else {
    positional.push(args[i])
  }
}
const [wsUrl, docUrl] = positional
if (!wsUrl || !docUrl || (set && !set.key)) {
  console.error("usage: node client.mjs <ws-url> <automerge-url> [--set key=value] [--timeout seconds]")
  process.exit(64)
}

const fail = (code, message) => {
  console.error(`interop client: ${message}`)
  process.exit(code)
}
// The stock adapter rethrows any socket error but "connection refused" from its event
// handler, e.g. "Unexpected server response: 401" when a peer refuses the upgrade.
process.on("uncaughtException", e => fail(3, `error: ${e?.message ?? e}`))
setTimeout(() => fail(4, `timed out after ${timeout} s`), timeout * 1000).unref()

const repo = new Repo({
  network: [new BrowserWebSocketClientAdapter(wsUrl)],
  peerId: `interop-js-${process.pid}`,
})

let handle
try {
  handle = await repo.find(docUrl)
} catch (e) {
  fail(2, `not found: ${e?.message ?? e}`)
}
const doc = handle.doc()
if (!doc || Object.keys(doc).length === 0) {
  // A doc that ends "ready" but empty was not really found (the stock 0.2.8 server
  // answers a search for a missing document that way).
  fail(2, "not found: the peer returned an empty document")
}
// Automerge gives 64-bit integers as BigInt, which JSON.stringify refuses: print them
// as plain numbers (exact, since the digits are written out).
const json = JSON.stringify(doc, (_key, value) =>
  typeof value === "bigint" ? `\u0000${value}\u0000` : value,
).replace(/"\\u0000(-?\d+)\\u0000"/g, "$1")
console.log(json)

if (set) {
  const acknowledged = new Promise(resolve => {
    let mine = null
    const check = ({ documentId, syncState }) => {
      if (documentId !== handle.documentId || !mine || !syncState?.theirHeads) return
      const theirs = new Set(encodeHeads(syncState.theirHeads))
      if (mine.every(h => theirs.has(h))) resolve()
    }
    repo.synchronizer.on("sync-state", check)
    handle.change(d => {
      d[set.key] = set.value
    })
    mine = handle.heads()
  })
  await acknowledged
  console.error(`interop client: the peer acknowledged ${set.key}`)
}
process.exit(0)
