// The idiomatic Kotlin side of Insikt's core: opening a store, coroutine-friendly
// calls, listeners as Flow, device-to-device sync over the app's own link, and the
// report written to a folder. Everything else is the generated `se.insikt.ffi` API,
// used as it is. No android.* imports here (see `android/KeystoreKey.kt`), so the
// JVM tests compile and run this file.
package se.insikt

import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import se.insikt.ffi.Change
import se.insikt.ffi.ChangeListener
import se.insikt.ffi.Lang
import se.insikt.ffi.LinkReport
import se.insikt.ffi.ListenerHandle
import se.insikt.ffi.PeerScope
import se.insikt.ffi.Report
import se.insikt.ffi.Store

/**
 * Opens (or creates) the store in [dir] with the 32 key bytes from the platform
 * keystore, and wipes [key]. Close the store when done (`use {}`): that releases
 * its files and lock at once.
 */
fun openStore(dir: File, key: ByteArray): Store =
    try {
        Store.open(dir.absolutePath, key)
    } finally {
        key.fill(0)
    }

/**
 * Runs short store calls off the caller's thread: capture is fast enough for the
 * main thread, but lists, search and reads of large renditions belong on
 * [Dispatchers.IO]. Long calls (`addPhoto`, `syncWithHub`, `exportReport`, …) are
 * `suspend` already and never block the thread that calls them.
 */
suspend fun <T> Store.io(block: Store.() -> T): T = withContext(Dispatchers.IO) { block() }

/** A project's changes, after local writes and after sync, while collected. */
fun Store.projectChanges(project: String): Flow<List<Change>> = listen { observeProject(project, it) }

/** One session's changes (its notes, photos, description), while collected. */
fun Store.sessionChanges(session: String): Flow<List<Change>> = listen { observeSession(session, it) }

/** Every change in the store, while collected (a participant's phone: its inbox). */
fun Store.allChanges(): Flow<List<Change>> = listen { observeAll(it) }

private fun listen(register: (ChangeListener) -> ListenerHandle): Flow<List<Change>> =
    callbackFlow {
        val handle = register(
            object : ChangeListener {
                override fun onChange(changes: List<Change>) {
                    trySend(changes)
                }
            },
        )
        // The listener stops when the collector goes away.
        awaitClose { handle.close() }
    }.buffer(Channel.UNLIMITED)

/**
 * Writes the project's report into [dir]: `report.md` and each photo or recording
 * consent allows, named by its attachment id. Returns the report.
 */
suspend fun Store.exportToFolder(project: String, lang: Lang, dir: File): Report {
    val report = exportReport(project, lang)
    withContext(Dispatchers.IO) {
        dir.mkdirs()
        File(dir, "report.md").writeText(report.markdown)
        for (m in report.media) {
            val ext = when {
                m.attachment.mime.contains("jpeg") -> "jpg"
                m.attachment.mime.contains("png") -> "png"
                m.attachment.mime.contains("webp") -> "webp"
                else -> "m4a"
            }
            File(dir, "${m.attachment.id}.$ext").writeBytes(m.bytes)
        }
    }
    return report
}

/** The app's own connection to a peer device: Bluetooth, Wi-Fi Direct, a socket. */
interface ByteLink {
    /** Sends bytes to the peer. */
    suspend fun send(bytes: ByteArray)

    /** The next bytes from the peer, in any split; `null` once the peer closed. */
    suspend fun receive(): ByteArray?
}

/**
 * Syncs with the device at the other end of [link] until both sides are in sync and
 * nothing arrived for [settleMillis], or the peer closes. [dialer] is the side that
 * opened the connection; [scope] limits what the peer sees (a young person's phone
 * met in the field sees only its inbox). Throws `InsiktException.Unreachable` when
 * the peer breaks the protocol or closes before both are in sync.
 */
suspend fun Store.syncWithPeer(
    link: ByteLink,
    dialer: Boolean,
    scope: PeerScope = PeerScope.Everything,
    settleMillis: Long = 300,
): LinkReport {
    val device = deviceLink(scope)
    try {
        link.send(device.start(dialer))
        while (true) {
            val received = withTimeoutOrNull(settleMillis) { link.receive() ?: CLOSED }
            when {
                received === CLOSED -> {
                    if (device.inSync()) return device.report()
                    throw se.insikt.ffi.InsiktException.Unreachable("the peer closed the link early")
                }
                received == null -> {
                    // Quiet: hand over what this device wrote meanwhile, or finish.
                    val local = withContext(Dispatchers.IO) { device.outgoing() }
                    if (local.isNotEmpty()) link.send(local) else if (device.inSync()) return device.report()
                }
                else -> {
                    val reply = withContext(Dispatchers.IO) { device.receive(received) }
                    if (reply.isNotEmpty()) link.send(reply)
                }
            }
        }
    } finally {
        device.close()
    }
}

private val CLOSED = ByteArray(0)
