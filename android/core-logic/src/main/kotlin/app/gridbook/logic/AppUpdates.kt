// Installing a build of the app the server offered (docs/sync-protocol.md, "App versions"). Phones
// in China have no Google Play: the server publishes the APK itself. The file is downloaded from
// the same server with the device token (a download cut off resumes with `Range: bytes=N-`), and
// offered for install only when its size and SHA-256 are the offer's AND it is signed with the
// certificate the installed app is signed with: a file swapped on the way, or built by someone
// else, is deleted and reported, never installed. The platform (PackageManager on Android) says
// which certificates sign a file, behind `SigningCertificates`.
package app.gridbook.logic

import app.gridbook.ffi.core.AppUpdate
import java.io.File
import java.io.IOException
import java.net.HttpURLConnection
import java.net.URI
import java.security.MessageDigest

/** The SHA-256 (lowercase hex) of each certificate that signs an APK, as the platform reads it. */
interface SigningCertificates {
    /** The certificates of the package in [file]; null when the file is not a package it can read. */
    fun ofFile(file: File): Set<String>?
    /** The certificates of the app now running. */
    fun ofInstalledApp(): Set<String>
}

/** Why a downloaded build is not offered for install. */
enum class UpdateRefusal { WRONG_SIZE, WRONG_HASH, NOT_A_PACKAGE, OTHER_SIGNER }

sealed interface UpdateCheck {
    /** Every check passed: offer the install. */
    data object Install : UpdateCheck
    /** The file was deleted; [detail] is for the log and the support ticket. */
    data class Refused(val reason: UpdateRefusal, val detail: String) : UpdateCheck
}

object AppUpdates {
    /** Downloads are written here first and renamed only when whole. */
    private const val PART = ".part"

    /**
     * Downloads [offer] from [serverUrl] with the device [token] into [dir], resuming a part file
     * a cut-off download left; answers the whole file (not yet checked: call [check]). A server
     * that ignores the range sends the whole file again, which is written from the start.
     */
    fun download(serverUrl: String, token: String, offer: AppUpdate, dir: File): File {
        dir.mkdirs()
        val part = File(dir, offer.sha256 + ".apk" + PART)
        val done = File(dir, offer.sha256 + ".apk")
        if (done.exists() && done.length() == offer.bytes.toLong()) return done
        val have = if (part.exists()) part.length() else 0L
        if (have > offer.bytes.toLong()) part.delete()
        val conn = URI(serverUrl.trimEnd('/') + offer.url).toURL().openConnection() as HttpURLConnection
        try {
            conn.connectTimeout = 10_000
            conn.readTimeout = 60_000
            conn.setRequestProperty("Authorization", "Bearer $token")
            val from = if (part.exists()) part.length() else 0L
            if (from > 0) conn.setRequestProperty("Range", "bytes=$from-")
            val status = conn.responseCode
            val append = when (status) {
                206 -> true
                200 -> false
                else -> throw IOException("download of ${offer.version} answered $status")
            }
            conn.inputStream.use { input ->
                java.io.FileOutputStream(part, append).use { out -> input.copyTo(out, 64 * 1024) }
            }
        } finally {
            conn.disconnect()
        }
        if (!part.renameTo(done)) throw IOException("could not move $part to $done")
        return done
    }

    /** The checks before an install; a file that fails one is deleted. */
    fun check(offer: AppUpdate, file: File, certificates: SigningCertificates): UpdateCheck {
        val refused = { reason: UpdateRefusal, detail: String ->
            file.delete()
            UpdateCheck.Refused(reason, detail)
        }
        if (file.length() != offer.bytes.toLong()) {
            return refused(UpdateRefusal.WRONG_SIZE, "${file.length()} bytes, the offer says ${offer.bytes}")
        }
        val sha = sha256Hex(file)
        if (sha != offer.sha256) return refused(UpdateRefusal.WRONG_HASH, "SHA-256 $sha, the offer says ${offer.sha256}")
        val signers = certificates.ofFile(file) ?: return refused(UpdateRefusal.NOT_A_PACKAGE, "not a package the system reads")
        val own = certificates.ofInstalledApp()
        if (signers.isEmpty() || signers != own) {
            return refused(UpdateRefusal.OTHER_SIGNER, "signed by ${signers.joinToString()}, this app by ${own.joinToString()}")
        }
        return UpdateCheck.Install
    }

    fun sha256Hex(file: File): String {
        val digest = MessageDigest.getInstance("SHA-256")
        file.inputStream().use { input ->
            val buf = ByteArray(64 * 1024)
            while (true) {
                val n = input.read(buf)
                if (n < 0) break
                digest.update(buf, 0, n)
            }
        }
        return digest.digest().joinToString("") { "%02x".format(it) }
    }
}
