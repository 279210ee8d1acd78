// A stock automerge-repo client changing a document the way a hostile (or careless)
// third-party app would: ordinary JavaScript values at any path.
//
//   node attack.mjs <ws-url> <automerge-url> <changes.json> [--timeout seconds]
//
// changes.json is a list of {"path": [...keys], "value": <json>, "as": <kind>}; the last
// key is set to the value, written as JavaScript writes it unless "as" says otherwise:
//   (none)   a JS value: a number (automerge writes an integer as a signed int, a
//            fraction as a float), a string (automerge 3: a text object), an object,
//            an array, true/false, null
//   "str"    a plain string (RawString), "int"/"uint"/"f64" that number type,
//   "counter", "date" (ms), "bytes" (a list of byte values), "delete" (delete the key)
//
// The client then waits until the peer acknowledges the new heads. It prints
// {"acknowledged": true|false} on stdout: false when the peer did not take the change
// within the timeout (the hub refuses a change the policy forbids). Exit codes: 0 done;
// 2 the document is unavailable; 3 the connection failed or was refused.
import { Repo, encodeHeads } from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"
import { readFileSync } from "fs"

const args = process.argv.slice(2)
const positional = []
let timeout = 8
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--timeout") timeout = Number(args[++i])
  else positional.push(args[i])
}
const [wsUrl, docUrl, changesFile] = positional
if (!wsUrl || !docUrl || !changesFile) {
  console.error("usage: node attack.mjs <ws-url> <automerge-url> <changes.json> [--timeout seconds]")
  process.exit(64)
}
const changes = JSON.parse(readFileSync(changesFile, "utf8"))

const fail = (code, message) => {
  console.error(`attack client: ${message}`)
  process.exit(code)
}
process.on("uncaughtException", e => fail(3, `error: ${e?.message ?? e}`))

const repo = new Repo({
  network: [new BrowserWebSocketClientAdapter(wsUrl)],
  peerId: `attack-js-${process.pid}`,
})

const give = setTimeout(() => fail(2, "not found in time"), 20000)
let handle
try {
  handle = await repo.find(docUrl)
} catch (e) {
  fail(2, `not found: ${e?.message ?? e}`)
}
clearTimeout(give)

const typed = c => {
  switch (c.as) {
    case "str": return new A.RawString(String(c.value))
    case "int": return new A.Int(c.value)
    case "uint": return new A.Uint(c.value)
    case "f64": return new A.Float64(c.value)
    case "counter": return new A.Counter(c.value)
    case "date": return new Date(c.value)
    case "bytes": return new Uint8Array(c.value)
    default: return c.value
  }
}

let mine = null
const acknowledged = new Promise(resolve => {
  repo.synchronizer.on("sync-state", ({ documentId, syncState }) => {
    if (documentId !== handle.documentId || !mine || !syncState?.theirHeads) return
    const theirs = new Set(encodeHeads(syncState.theirHeads))
    if (mine.every(h => theirs.has(h))) resolve(true)
  })
})
handle.change(d => {
  for (const c of changes) {
    let at = d
    for (const k of c.path.slice(0, -1)) {
      if (at[k] === undefined || at[k] === null) at[k] = {}
      at = at[k]
    }
    const last = c.path[c.path.length - 1]
    if (c.as === "delete") delete at[last]
    else at[last] = typed(c)
  }
})
mine = handle.heads()
const outcome = await Promise.race([
  acknowledged,
  new Promise(resolve => setTimeout(() => resolve(false), timeout * 1000)),
])
console.log(JSON.stringify({ acknowledged: outcome }))
process.exit(0)
