// The store's key vault behind the Android Keystore: the store's 32-byte data key is wrapped with a
// non-exportable AES-256-GCM key of the Keystore; the wrapped bytes sit beside the store
// (`gridbook.db-key`, written by the core). Implements the core's KeyVault seam (docs/at-rest.md).
package app.gridbook.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.KeyVault
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

class KeystoreVault : KeyVault {

    override fun wrap(key: ByteArray): ByteArray = keystore {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey(create = true))
        cipher.iv + cipher.doFinal(key)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        if (wrapped.size <= GCM_IV) throw GridbookException.WrongKey("the wrapped store key is truncated")
        val key = wrappingKey(create = false)
            ?: throw GridbookException.WrongKey("no Keystore key: this phone did not wrap the store's key")
        return try {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped, 0, GCM_IV))
            cipher.doFinal(wrapped, GCM_IV, wrapped.size - GCM_IV)
        } catch (e: AEADBadTagException) {
            throw GridbookException.WrongKey("the Keystore key did not wrap this store's key")
        } catch (e: Exception) {
            throw GridbookException.KeyUnavailable("Keystore: ${e.message}")
        }
    }

    override fun destroyKey() = keystore {
        KeyStore.getInstance("AndroidKeyStore").apply { load(null) }.deleteEntry(ALIAS)
    }

    private fun <T> keystore(block: () -> T): T = try {
        block()
    } catch (e: GridbookException) {
        throw e
    } catch (e: Exception) {
        throw GridbookException.KeyUnavailable("Keystore: ${e.message}")
    }

    private fun wrappingKey(create: Boolean): SecretKey? {
        val ks = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        if (!create) return null
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                // usable only while the phone is unlocked; never leaves this device's Keystore
                .setUnlockedDeviceRequired(true)
                .build(),
        )
        return gen.generateKey()
    }

    companion object {
        private const val ALIAS = "gridbook-store-key-wrap"
        private const val GCM_IV = 12
    }
}
