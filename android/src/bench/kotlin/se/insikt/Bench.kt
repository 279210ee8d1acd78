// The Kotlin half of scripts/bench-bindings.sh: the same 10,000 notes as the Rust
// half, captured through the bindings; then a store of 20,000 notes (200 sessions)
// opened and its sessions listed from Kotlin. Prints figures, asserts nothing.
package se.insikt

import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import se.insikt.ffi.Lang
import se.insikt.ffi.NewNote
import se.insikt.ffi.NewSession
import se.insikt.ffi.NoteKind
import se.insikt.ffi.SessionKind

private fun key() = ByteArray(32).also { SecureRandom().nextBytes(it) }

private fun ms(start: Long) = (System.nanoTime() - start) / 1e6

fun main() {
    val root = Files.createTempDirectory("insikt-bench-kotlin").toFile()

    // 10,000 notes through Kotlin, as the Rust half does them.
    openStore(File(root, "capture"), key()).use { store ->
        val project = store.createProject("Bänk", Lang.SV, "Sara")
        val session = store.startSession(project, NewSession(SessionKind.OBSERVATION, "Väntrummet"))
        store.openSession(session)
        // Warm up the JIT on another session, outside the measurement.
        val warm = store.startSession(project, NewSession(SessionKind.OBSERVATION, "Uppvärmning"))
        repeat(500) { store.addNote(warm, NewNote(NoteKind.OBSERVATION, "uppvärmning $it")) }
        store.notes(warm)
        val start = System.nanoTime()
        for (i in 0 until 10_000) {
            store.addNote(session, NewNote(NoteKind.OBSERVATION, "observation nummer $i i väntrummet"))
        }
        val took = ms(start)
        check(store.notes(session).size == 10_000)
        println("kotlin_capture_ms=%.1f (10000 notes, %.3f ms a note)".format(took, took / 10_000))
    }

    // A field project: 200 sessions of 100 notes.
    val dir = File(root, "field")
    val k = key()
    openStore(dir, k.copyOf()).use { store ->
        val project = store.createProject("Fältet", Lang.SV, "Sara")
        repeat(200) { s ->
            val session = store.startSession(project, NewSession(SessionKind.INTERVIEW, "Intervju $s"))
            repeat(100) { n -> store.addNote(session, NewNote(NoteKind.PLAIN, "anteckning $n i intervju $s om väntan och bemötande")) }
        }
        check(store.projects().single().notes == 20_000u)
    }
    val times = (1..5).map {
        val start = System.nanoTime()
        openStore(dir, k.copyOf()).use { store ->
            val sessions = store.sessions(store.projects().single().id)
            check(sessions.size == 200)
            val took = ms(start)
            took
        }
    }
    println("kotlin_open_list_ms=%.1f (first of 5; median %.1f; 20000 notes, 200 sessions)".format(times.first(), times.sorted()[2]))
    root.deleteRecursively()
}
