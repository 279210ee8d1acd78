// The one file of the facade that needs Android: the store key kept by the Android
// Keystore. Everything else in `se.insikt` is plain Kotlin, tested on the JVM.
package se.insikt.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The store's 32-byte key: random bytes made on first start, kept only wrapped
 * (AES-GCM) by a non-exportable key of the Android Keystore, in the app's no-backup
 * folder. Hand the bytes to `openStore`, which wipes them.
 */
object KeystoreKey {
    private const val KEYSTORE = "AndroidKeyStore"
    private const val WRAPPED_FILE = "insikt-store.key"

    /** The store key for [alias], made and wrapped on first use. */
    fun load(context: Context, alias: String = "insikt-store"): ByteArray {
        val file = File(context.noBackupFilesDir, WRAPPED_FILE)
        val wrapper = wrappingKey(alias)
        if (file.exists()) {
            val blob = file.readBytes()
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, wrapper, GCMParameterSpec(128, blob, 0, 12))
            return cipher.doFinal(blob, 12, blob.size - 12)
        }
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, wrapper)
        val sealed = cipher.iv + cipher.doFinal(key)
        val tmp = File(file.path + ".tmp")
        tmp.writeBytes(sealed)
        check(tmp.renameTo(file)) { "cannot store the wrapped key" }
        return key
    }

    private fun wrappingKey(alias: String): SecretKey {
        val store = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        (store.getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }
}
