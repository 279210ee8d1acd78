// What the JVM tests share: scratch folders, keys, photos with planted metadata,
// exiftool, and a real hub process.
package se.insikt

import java.awt.Color
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import java.util.concurrent.TimeUnit
import javax.imageio.ImageIO
import se.insikt.ffi.Store

fun scratch(name: String): File = Files.createTempDirectory("insikt-$name").toFile()

fun newKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

/** Opens a store in a fresh folder with a fresh key (a copy: `openStore` wipes it). */
fun freshStore(name: String, key: ByteArray = newKey()): Store = openStore(File(scratch(name), "store"), key.copyOf())

/** Runs a command, failing the test when it fails; returns its standard output. */
fun run(vararg command: String, input: ByteArray? = null): String {
    val p = ProcessBuilder(*command).redirectErrorStream(false).start()
    if (input != null) p.outputStream.use { it.write(input) } else p.outputStream.close()
    val out = p.inputStream.readBytes().decodeToString()
    val err = p.errorStream.readBytes().decodeToString()
    check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { "${command.toList()} failed: $err" }
    return out
}

/** Every tag exiftool finds in [bytes], as "Group:Tag" names (exiftool's own aside). */
fun exifTags(bytes: ByteArray): Set<String> {
    val json = run("exiftool", "-j", "-a", "-G1", "-", input = bytes)
    return Regex("\"([A-Za-z0-9-]+):([A-Za-z0-9]+)\"\\s*:").findAll(json)
        .map { "${it.groupValues[1]}:${it.groupValues[2]}" }
        .filterNot { it.startsWith("ExifTool:") || it.startsWith("System:") }
        .toSet()
}

/**
 * A 1200x900 JPEG of a plain scene, with a GPS position, a camera serial number and
 * an owner name planted in its EXIF by exiftool (and checked to be there).
 */
fun photoWithGps(): ByteArray {
    val image = BufferedImage(1200, 900, BufferedImage.TYPE_INT_RGB)
    val g = image.createGraphics()
    g.color = Color(200, 170, 120)
    g.fillRect(0, 0, 1200, 900)
    g.color = Color(40, 90, 160)
    g.fillOval(400, 200, 400, 500)
    g.dispose()
    val plain = ByteArrayOutputStream().also { ImageIO.write(image, "jpg", it) }.toByteArray()
    val file = File(scratch("photo"), "IMG_0042.jpg")
    file.writeBytes(plain)
    run(
        "exiftool", "-q", "-overwrite_original",
        "-GPSLatitude=55.6050", "-GPSLatitudeRef=N", "-GPSLongitude=13.0038", "-GPSLongitudeRef=E",
        "-SerialNumber=SN-4711-SECRET", "-OwnerName=Sara Lind", "-DateTimeOriginal=2026:10:14 09:12:00",
        file.path,
    )
    val planted = file.readBytes()
    val tags = run("exiftool", "-s", "-GPSLatitude", "-SerialNumber", file.path)
    check("GPSLatitude" in tags && "SerialNumber" in tags) { "exiftool did not plant the metadata: $tags" }
    return planted
}

fun ByteArray.contains(text: String): Boolean {
    val needle = text.encodeToByteArray()
    outer@ for (i in 0..size - needle.size) {
        for (j in needle.indices) if (this[i + j] != needle[j]) continue@outer
        return true
    }
    return false
}

/** A hub process started from the `insikt-hub` binary, with one organisation. */
class HubProcess : AutoCloseable {
    private val dir = scratch("hub")
    private val binary = System.getProperty("insikt.hub") ?: error("set -Dinsikt.hub to the insikt-hub binary")
    private val process: Process
    val url: String

    init {
        hub("org", "add", ORG)
        process = ProcessBuilder(binary, "--data", dir.path, "serve", "--listen", "127.0.0.1:0")
            .redirectErrorStream(true)
            .start()
        val line = process.inputStream.bufferedReader().readLine() ?: error("the hub did not start")
        url = Regex("(http://[0-9.:]+)").find(line)?.value ?: error("no address in: $line")
        // Keep draining its output so that it never blocks on a full pipe.
        Thread { process.inputStream.readBytes() }.apply { isDaemon = true }.start()
    }

    /** A one-time invite code for [role] (and, for a participant's phone, whose). */
    fun invite(role: String, participant: String? = null): String {
        val args = mutableListOf("invite", "--org", ORG, "--role", role)
        if (participant != null) args += listOf("--participant", participant)
        return hub(*args.toTypedArray()).trim()
    }

    private fun hub(vararg args: String): String = run(binary, "--data", dir.path, *args)

    override fun close() {
        process.destroy()
        process.waitFor(10, TimeUnit.SECONDS)
    }

    companion object {
        const val ORG = "Malmö stad"
    }
}
