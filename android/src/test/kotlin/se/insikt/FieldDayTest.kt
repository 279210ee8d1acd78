// A researcher's field day through Kotlin: an encrypted store, a project, a young
// person with consent, an interview, notes, a photo whose planted GPS must not
// survive, search, an insight with evidence, an idea with dots, and the report.
package se.insikt

import java.io.File
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import se.insikt.ffi.AgeBand
import se.insikt.ffi.ConsentScope
import se.insikt.ffi.Evidence
import se.insikt.ffi.GivenBy
import se.insikt.ffi.JourneyStage
import se.insikt.ffi.Lang
import se.insikt.ffi.NewIdea
import se.insikt.ffi.NewNote
import se.insikt.ffi.NewPhoto
import se.insikt.ffi.NewSession
import se.insikt.ffi.NoteAnchor
import se.insikt.ffi.NoteKind
import se.insikt.ffi.ParticipantRole
import se.insikt.ffi.RedactStyle
import se.insikt.ffi.Redaction
import se.insikt.ffi.Region
import se.insikt.ffi.SessionKind

class FieldDayTest {
    @Test
    fun `a field day from the first note to the report`() = runBlocking {
        val dir = scratch("field-day")
        val key = newKey()
        openStore(File(dir, "store"), key.copyOf()).use { store ->
            val project = store.createProject("Första kontakten", Lang.SV, "Sara")
            val p07 = store.addParticipant(project, "P-07", ParticipantRole.YOUNG_PERSON, AgeBand.FROM13_TO15)
            for (scope in listOf(ConsentScope.NOTES, ConsentScope.PHOTOS, ConsentScope.QUOTES_IN_REPORTS)) {
                store.recordConsent(p07, scope, GivenBy.GUARDIAN, "2026-10")
            }
            val session = store.startSession(
                project,
                NewSession(SessionKind.INTERVIEW, "Intervju på fritidsgården", listOf(p07), "Fritidsgården"),
            )
            store.openSession(session)

            val quote = store.addNote(session, NewNote(NoteKind.QUOTE, "Ingen frågade vad jag ville", tags = listOf("delaktighet")))
            val pain = store.addNote(
                session,
                NewNote(NoteKind.PAIN, "Väntan i receptionen", anchor = NoteAnchor(stage = JourneyStage.BEFORE, emotion = (-2).toByte())),
            )
            val typo = store.addNote(session, NewNote(NoteKind.PLAIN, "en anteckning med stavfel"))
            store.editNote(pain, "Lång väntan i receptionen")
            store.deleteNote(typo)
            val notes = store.notes(session)
            assertEquals(listOf(quote, pain), notes.map { it.id })
            assertEquals("Lång väntan i receptionen", notes[1].text)
            assertEquals(JourneyStage.BEFORE, notes[1].anchor.stage)
            assertEquals(p07, notes[0].about, "in a one-participant session notes are about them")

            // A photo with a GPS position, a serial number and an owner planted.
            val planted = photoWithGps()
            assertTrue(exifTags(planted).any { it.startsWith("GPS:") })
            val photo = store.addPhoto(
                session,
                planted,
                NewPhoto("Teckningen", listOf(p07), listOf(Redaction(Region.Ellipse(400u, 200u, 400u, 500u), RedactStyle.BLUR))),
            )
            val attachment = store.attachments(session).single()
            assertEquals(photo, attachment.id)
            assertTrue(attachment.redacted)
            val renditions = listOfNotNull(attachment.thumbnail, attachment.preview, attachment.original)
            assertEquals(3, renditions.size)
            for (r in renditions) {
                val bytes = store.blob(r.hash)
                assertEquals(r.bytes.toInt(), bytes.size)
                val tags = exifTags(bytes)
                assertFalse(tags.any { it.startsWith("GPS:") || it.startsWith("IFD0:") || it.startsWith("ExifIFD:") }, "metadata in a rendition: $tags")
                for (secret in listOf("SN-4711-SECRET", "Sara Lind", "2026:10:14")) {
                    assertFalse(bytes.contains(secret), "$secret in a rendition")
                }
            }

            val hits = store.search(project, "frågade", 10u)
            assertEquals(listOf(quote), hits.map { it.note.id })
            assertContains(hits[0].snippet, "[frågade]")

            val insight = store.addInsight(project, "Barn känner sig inte hörda", listOf(quote), "Fråga barnet först")
            store.addHmw(project, insight, "Hur kan vi låta barnet tala först?")
            assertEquals(listOf("Hur kan vi låta barnet tala först?"), store.insights(project).single().questions)
            val evidence = store.insightEvidence(project, insight).single()
            assertTrue(evidence is Evidence.Present && evidence.note.text == "Ingen frågade vad jag ville")

            val idea = store.addIdea(project, NewIdea("Barnets egen kallelse"))
            store.vote(project, idea, 2u)
            assertEquals(2u, store.ideaRanking(project).single().dots)

            val out = File(dir, "rapport")
            val report = store.exportToFolder(project, Lang.SV, out)
            val markdown = File(out, "report.md").readText()
            assertContains(markdown, "Barn känner sig inte hörda")
            assertContains(markdown, "Ingen frågade vad jag ville")
            val exported = report.media.single()
            assertEquals(photo, exported.attachment.id)
            val file = File(out, "$photo.jpg").readBytes()
            assertFalse(exifTags(file).any { it.startsWith("GPS:") })
            assertEquals(0u, report.withheld)
        }
        // Reopened with the same key, everything is there.
        openStore(File(dir, "store"), key).use { store ->
            val summary = store.projects().single()
            assertEquals(2u, summary.notes)
            assertEquals(1u, summary.insights)
        }
    }
}
