// The store as an object the app holds: many threads at once, listeners that start
// and stop, typed errors without personal data, a panic below, long calls that can
// be cancelled, and a thousand opens and closes.
package se.insikt

import java.io.File
import java.net.ServerSocket
import java.util.Collections
import java.util.UUID
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import se.insikt.ffi.AgeBand
import se.insikt.ffi.ChangedDocument
import se.insikt.ffi.ConsentScope
import se.insikt.ffi.InsiktException
import se.insikt.ffi.Lang
import se.insikt.ffi.NewNote
import se.insikt.ffi.NewPhoto
import se.insikt.ffi.NewSession
import se.insikt.ffi.NoteKind
import se.insikt.ffi.ParticipantRole
import se.insikt.ffi.SessionKind
import se.insikt.ffi.Store

class StoreTest {
    private fun session(store: Store, participants: List<String> = emptyList()): Pair<String, String> {
        val project = store.createProject("Rasten", Lang.SV, "Sara")
        return project to store.startSession(project, NewSession(SessionKind.OBSERVATION, "Skolgården", participants))
    }

    @Test
    fun `eight threads write and read the same store at once`() {
        freshStore("threads").use { store ->
            val (project, session) = session(store)
            val written = Collections.synchronizedList(mutableListOf<String>())
            val failures = Collections.synchronizedList(mutableListOf<Throwable>())
            val pool = Executors.newFixedThreadPool(8)
            val start = CountDownLatch(1)
            repeat(8) { t ->
                pool.execute {
                    start.await()
                    try {
                        for (i in 0 until 500) {
                            written += store.addNote(session, NewNote(NoteKind.OBSERVATION, "tråd $t anteckning $i"))
                            if (i % 100 == 0) {
                                store.notes(session)
                                store.search(project, "anteckning", 5u)
                                store.sessions(project)
                            }
                        }
                    } catch (e: Throwable) {
                        failures += e
                    }
                }
            }
            start.countDown()
            pool.shutdown()
            assertTrue(pool.awaitTermination(5, TimeUnit.MINUTES))
            assertEquals(emptyList(), failures)
            assertEquals(4000, written.toSet().size)
            assertEquals(written.toSet(), store.notes(session).map { it.id }.toSet())
        }
    }

    @Test
    fun `listeners fire after local writes and stop when closed`() = runBlocking {
        freshStore("listen").use { store ->
            val (project, session) = session(store)
            val heard = Heard()
            val handle = store.observeSession(session, heard)
            store.addNote(session, NewNote(NoteKind.PLAIN, "första"))
            val changes = assertNotNull(heard.next())
            assertEquals(listOf(ChangedDocument.Session(session)), changes.map { it.document })
            assertEquals(project, changes.single().project)

            // Another session's writes are not this listener's business.
            val other = store.startSession(project, NewSession(SessionKind.INTERVIEW, "Annan"))
            store.addNote(other, NewNote(NoteKind.PLAIN, "annan"))
            store.notes(other)
            assertNull(heard.next(1))

            handle.close()
            store.addNote(session, NewNote(NoteKind.PLAIN, "efter"))
            store.notes(session)
            assertNull(heard.next(1), "a closed listener was called")

            // The Flow form: registered while collected.
            val flow = store.projectChanges(project)
            val first = async { flow.first() }
            delay(200)
            store.createProject("Annat projekt", Lang.EN, "Sara")
            store.addNote(session, NewNote(NoteKind.PLAIN, "i flödet"))
            assertTrue(withTimeout(10_000) { first.await() }.all { it.project == project })
        }
    }

    @Test
    fun `errors are typed and carry no personal data`() = runBlocking {
        val dir = File(scratch("errors"), "store")
        val key = newKey()
        openStore(dir, key.copyOf()).use { store ->
            // Missing consent: the participant's code and the note's text stay out.
            val project = store.createProject("Rasten", Lang.SV, "Sara")
            val p07 = store.addParticipant(project, "P-07", ParticipantRole.CHILD, AgeBand.FROM10_TO12)
            val session = store.startSession(project, NewSession(SessionKind.INTERVIEW, "Intervju", listOf(p07)))
            val missing = assertFailsWith<InsiktException.ConsentMissing> {
                store.addNote(session, NewNote(NoteKind.QUOTE, "Mamma dricker på kvällarna"))
            }
            assertEquals(ConsentScope.NOTES, missing.scope)
            assertEquals(p07, missing.participant)
            clean(missing)

            // A bad image.
            store.recordConsent(p07, ConsentScope.PHOTOS, se.insikt.ffi.GivenBy.GUARDIAN, "v1")
            val bad = assertFailsWith<InsiktException.BadMedia> {
                store.addPhoto(session, "inte en bild".encodeToByteArray() + ByteArray(2000), NewPhoto("Teckningen", listOf(p07)))
            }
            clean(bad)

            // An unknown id, and one that is not an id at all.
            val unknown = assertFailsWith<InsiktException.NotFound> { store.note(UUID.randomUUID().toString()) }
            assertEquals("note", unknown.what)
            clean(unknown)
            clean(assertFailsWith<InsiktException.InvalidInput> { store.note("P-07") })
            clean(assertFailsWith<InsiktException.InvalidInput> { store.addNote(session, NewNote(NoteKind.PLAIN, "   ")) })

            // A second open of an open store is refused; closing releases it.
            clean(assertFailsWith<InsiktException.StoreUnavailable> { openStore(dir, key.copyOf()) })
        }
        openStore(dir, key.copyOf()).close()

        // The wrong key.
        clean(assertFailsWith<InsiktException.WrongKey> { openStore(dir, newKey()) })
        clean(assertFailsWith<InsiktException.InvalidInput> { openStore(dir, ByteArray(16)) })
    }

    private fun clean(e: InsiktException) {
        val text = "${e.message} $e"
        for (secret in listOf("P-07", "Mamma", "kvällarna", "Teckningen", "Sara", "Rasten", "inte en bild")) {
            assertFalse(secret in text, "'$secret' in an error: $text")
        }
    }

    @Test
    fun `a panic below is an internal error and the store goes on`() {
        freshStore("panic").use { store ->
            val (project, session) = session(store)
            store.addNote(session, NewNote(NoteKind.PLAIN, "före"))
            assertFailsWith<InsiktException.Internal> { store.debugPanicInside() }
            // Both of the store's locks were held by the panicking call.
            store.addNote(session, NewNote(NoteKind.PLAIN, "efter"))
            assertEquals(listOf("före", "efter"), store.notes(session).map { it.text })
            assertEquals(1, store.search(project, "efter", 10u).size)
        }
    }

    @Test
    fun `a long call is cancelled without waiting for the network`() = runBlocking {
        // A "hub" that accepts connections and never answers.
        ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()).use { silent ->
            val accepted = mutableListOf<java.net.Socket>()
            val acceptor = Thread { runCatching { while (true) accepted += silent.accept() } }.apply { isDaemon = true; start() }
            freshStore("cancel").use { store ->
                val started = System.nanoTime()
                assertFailsWith<TimeoutCancellationException> {
                    withTimeout(500) { store.enroll("http://127.0.0.1:${silent.localPort}", "ABCD-EFGH-JKLM", "telefon", null) }
                }
                val millis = (System.nanoTime() - started) / 1_000_000
                assertTrue(millis < 3_000, "cancellation took $millis ms")
                // The store goes on meanwhile.
                val (_, session) = session(store)
                store.addNote(session, NewNote(NoteKind.PLAIN, "medan"))
            }
            acceptor.interrupt()
        }
    }

    @Test
    fun `a thousand opens and closes leak neither files nor memory`() {
        val dir = File(scratch("lifecycle"), "store")
        val key = newKey()
        openStore(dir, key.copyOf()).use { store ->
            val (_, session) = session(store)
            store.addNote(session, NewNote(NoteKind.PLAIN, "en anteckning"))
        }
        fun cycle() = openStore(dir, key.copyOf()).use { store ->
            val project = store.projects().single()
            val session = store.sessions(project.id).single()
            assertEquals(1, store.notes(session.id).size)
        }
        repeat(50) { cycle() }
        System.gc()
        val fdsBefore = openFiles()
        val rssBefore = rssKb()
        repeat(1000) { cycle() }
        System.gc()
        Thread.sleep(200)
        val fdsAfter = openFiles()
        val rssAfter = rssKb()
        println("1000 opens: open files $fdsBefore -> $fdsAfter, RSS ${rssBefore / 1024} -> ${rssAfter / 1024} MB")
        assertTrue(fdsAfter <= fdsBefore + 4, "open files grew from $fdsBefore to $fdsAfter")
        assertTrue(rssAfter - rssBefore < 64 * 1024, "RSS grew by ${(rssAfter - rssBefore) / 1024} MB")
    }

    private fun openFiles(): Int = File("/proc/self/fd").list()!!.size

    private fun rssKb(): Long =
        File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }.split(Regex("\\s+"))[1].toLong()
}
