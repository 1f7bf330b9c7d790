// The device key behind the Android Keystore: a 32-byte Ed25519 secret, encrypted at rest with a
// non-exportable AES-256-GCM key that lives in the Keystore, decrypted only for the moment of a
// signature. Implements the core's DeviceSigner seam (docs/mobile.md, "The device key").
package app.gridbook.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import app.gridbook.ffi.DeviceSigner
import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.inMemoryDeviceKey
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

class KeystoreSigner private constructor(private val sealedSecret: File) : DeviceSigner {

    /** Decrypts the secret, runs [use] with the in-memory key, wipes the secret. */
    private fun <T> withKey(use: (DeviceSigner) -> T): T {
        val secret = try {
            unwrap(sealedSecret.readBytes())
        } catch (e: Exception) {
            throw GridbookException.Other("device key unavailable: ${e.message}")
        }
        try {
            val key = inMemoryDeviceKey(secret)
            try {
                return use(key)
            } finally {
                (key as? AutoCloseable)?.close()
            }
        } finally {
            secret.fill(0)
        }
    }

    override fun publicKey(): ByteArray = withKey { it.publicKey() }

    override fun sign(message: ByteArray): ByteArray = withKey { it.sign(message) }

    companion object {
        private const val ALIAS = "gridbook-device-key-wrap"
        private const val GCM_IV = 12

        /**
         * Deletes the device key (after a remote wipe: a new store is a new device, which enrols
         * with a new key): its sealed file and its Keystore wrapping key.
         */
        fun delete(context: Context) {
            File(context.noBackupFilesDir, "device-key.sealed").delete()
            runCatching { KeyStore.getInstance("AndroidKeyStore").apply { load(null) }.deleteEntry(ALIAS) }
        }

        /** The device's signer; makes the key on first use. */
        fun create(context: Context): KeystoreSigner {
            val file = File(context.noBackupFilesDir, "device-key.sealed")
            if (!file.exists()) {
                val secret = ByteArray(32).also { SecureRandom().nextBytes(it) }
                try {
                    val tmp = File(file.path + ".tmp")
                    tmp.writeBytes(wrap(secret))
                    check(tmp.renameTo(file)) { "cannot store the device key" }
                } finally {
                    secret.fill(0)
                }
            }
            return KeystoreSigner(file)
        }

        private fun wrappingKey(): SecretKey {
            val ks = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
            (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
            val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            gen.init(
                KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .build(),
            )
            return gen.generateKey()
        }

        private fun wrap(secret: ByteArray): ByteArray {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.ENCRYPT_MODE, wrappingKey())
            return cipher.iv + cipher.doFinal(secret)
        }

        private fun unwrap(sealed: ByteArray): ByteArray {
            require(sealed.size > GCM_IV) { "the sealed device key is truncated" }
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, sealed, 0, GCM_IV))
            return cipher.doFinal(sealed, GCM_IV, sealed.size - GCM_IV)
        }
    }
}
