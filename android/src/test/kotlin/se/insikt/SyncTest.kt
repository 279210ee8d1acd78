// Devices converging: two team stores through a real hub process, a young person's
// own phone in participant mode, and two stores over a device-to-device link that is
// an in-memory Kotlin transport.
package se.insikt

import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import se.insikt.ffi.AgeBand
import se.insikt.ffi.Change
import se.insikt.ffi.ChangeListener
import se.insikt.ffi.ChangedDocument
import se.insikt.ffi.ConsentScope
import se.insikt.ffi.DiaryPhoto
import se.insikt.ffi.GivenBy
import se.insikt.ffi.HubSyncOptions
import se.insikt.ffi.InsiktException
import se.insikt.ffi.Lang
import se.insikt.ffi.MemberRole
import se.insikt.ffi.NewDiaryEntry
import se.insikt.ffi.NewNote
import se.insikt.ffi.NewSession
import se.insikt.ffi.NoteKind
import se.insikt.ffi.ParticipantRole
import se.insikt.ffi.SessionKind
import se.insikt.ffi.Store

/** Collects what a listener is told. */
class Heard : ChangeListener {
    val changes = LinkedBlockingQueue<List<Change>>()

    override fun onChange(changes: List<Change>) {
        this.changes.put(changes)
    }

    fun next(seconds: Long = 10): List<Change>? = changes.poll(seconds, TimeUnit.SECONDS)
}

class SyncTest {
    private val options = HubSyncOptions(fetchOriginals = true)

    @Test
    fun `two team stores and a young person's phone converge through a hub process`() = runBlocking {
        HubProcess().use { hub ->
            freshStore("sara").use { sara ->
                freshStore("omar").use { omar ->
                    freshStore("phone").use { phone ->
                        val project = sara.createProject("Rasten", Lang.SV, "Sara")
                        sara.addMember(project, omar.memberId(), "Omar", MemberRole.RESEARCHER)
                        val p04 = sara.addParticipant(project, "P-04", ParticipantRole.YOUNG_PERSON, AgeBand.FROM13_TO15)
                        sara.recordConsent(p04, ConsentScope.NOTES, GivenBy.GUARDIAN, "v1")
                        sara.recordConsent(p04, ConsentScope.PHOTOS, GivenBy.GUARDIAN, "v1")
                        val session = sara.startSession(project, NewSession(SessionKind.INTERVIEW, "Rasten", listOf(p04)))
                        sara.addNote(session, NewNote(NoteKind.QUOTE, "Jag vill bli tillfrågad"))

                        sara.enroll(hub.url, hub.invite("coordinator"), "Saras telefon", null)
                        omar.enroll(hub.url, hub.invite("researcher"), "Omars telefon", null)
                        sara.syncWithHub(options)
                        omar.syncWithHub(options)
                        assertEquals(MemberRole.RESEARCHER, omar.myRole(project))
                        assertEquals(listOf("Jag vill bli tillfrågad"), omar.notes(session).map { it.text })

                        // Sara listens to the session; Omar's note arrives with a sync.
                        val heard = Heard()
                        sara.observeSession(session, heard).use {
                            omar.addNote(session, NewNote(NoteKind.OBSERVATION, "Tittar ner i bordet"))
                            omar.syncWithHub(options)
                            val report = sara.syncWithHub(options)
                            assertTrue(report.documentsChanged >= 1u)
                            val changes = assertNotNull(heard.next(), "no change heard after the sync")
                            assertTrue(changes.all { it.project == project })
                            assertTrue(changes.any { it.document is ChangedDocument.Material || it.document is ChangedDocument.Session })
                        }
                        assertEquals(omar.notes(session).map { it.id }.sorted(), sara.notes(session).map { it.id }.sorted())
                        assertEquals(2, sara.notes(session).size)

                        // P-04's own phone: enrolled with a participant invite, it holds
                        // their inbox only.
                        phone.enroll(hub.url, hub.invite("participant", p04), "P-04:s telefon", null)
                        assertEquals(p04, phone.participantMode()?.participant)
                        phone.submitOwnDiaryEntry(
                            NewDiaryEntry(heading = "Idag", text = "Det var bra på rasten", rating = 4u.toUByte(), photo = DiaryPhoto(photoWithGps(), "Skolgården")),
                        )
                        phone.syncWithHub(options)
                        sara.syncWithHub(options)
                        val entry = sara.inbox(p04).entries.single()
                        assertEquals("Det var bra på rasten", entry.text)
                        val photo = assertNotNull(entry.photo)
                        assertTrue(exifTags(sara.blob(photo.original.hash)).none { it.startsWith("GPS:") })

                        sara.sendMessage(p04, "Tack! Vi tar med det till workshopen.")
                        sara.syncWithHub(options)
                        phone.syncWithHub(options)
                        assertEquals(listOf("Tack! Vi tar med det till workshopen."), phone.ownInbox().messages.map { it.text })

                        // The phone never holds the project (the hub refuses it to a
                        // participant's device): asking for it is a typed refusal.
                        val refusal = assertFailsWith<InsiktException.NotFound> { phone.sessions(project) }
                        assertEquals("project", refusal.what)
                        assertTrue(phone.projects().isEmpty())
                        assertNull(sara.participantMode())
                    }
                }
            }
        }
    }

    @Test
    fun `two stores converge over a device-to-device link in memory`() = runBlocking {
        freshStore("tablet").use { tablet ->
            freshStore("phone").use { phone ->
                val project = tablet.createProject("Workshop", Lang.SV, "Sara")
                tablet.addMember(project, phone.memberId(), "Omar", MemberRole.RESEARCHER)
                val session = tablet.startSession(project, NewSession(SessionKind.OBSERVATION, "Väntrummet"))
                repeat(20) { tablet.addNote(session, NewNote(NoteKind.OBSERVATION, "Observation $it")) }

                link(tablet, phone)
                assertEquals(20, phone.notes(session).size)

                phone.addNote(session, NewNote(NoteKind.FEELING, "Oro"))
                tablet.addNote(session, NewNote(NoteKind.GAIN, "Någon hälsade"))
                val (a, b) = link(tablet, phone)
                assertTrue(a.documentsChanged >= 1u && b.documentsChanged >= 1u)
                assertEquals(tablet.notes(session).map { it.id }.sorted(), phone.notes(session).map { it.id }.sorted())
                assertEquals(22, phone.notes(session).size)
            }
        }
    }

    /** Connects two stores through a pair of in-memory pipes, in small pieces. */
    private suspend fun link(a: Store, b: Store) = coroutineScope {
        val ab = Channel<ByteArray>(Channel.UNLIMITED)
        val ba = Channel<ByteArray>(Channel.UNLIMITED)
        fun end(out: Channel<ByteArray>, inc: Channel<ByteArray>) = object : ByteLink {
            override suspend fun send(bytes: ByteArray) {
                // A radio link delivers in pieces: split every send.
                bytes.toList().chunked(1000).forEach { out.send(it.toByteArray()) }
            }

            override suspend fun receive(): ByteArray? = inc.receiveCatching().getOrNull()
        }
        val left = async { a.syncWithPeer(end(ab, ba), dialer = true) }
        val right = async { b.syncWithPeer(end(ba, ab), dialer = false) }
        left.await() to right.await()
    }
}
