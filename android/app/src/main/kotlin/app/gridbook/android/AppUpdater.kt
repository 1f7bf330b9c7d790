// The Android side of app updates (docs/sync-protocol.md, "App versions"): what the phone says of
// itself with each sync (model, OS, free storage, battery saver), which certificates sign a
// downloaded APK and this app (PackageManager), and the install through PackageInstaller once
// core-logic's AppUpdates.check has passed. Phones in China have no Google Play: the build comes
// from the grid's own server, and the system installer still asks the manager to confirm.
package app.gridbook.android

import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageInfo
import android.content.pm.PackageInstaller
import android.content.pm.PackageManager
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.Build
import android.os.PowerManager
import android.os.StatFs
import app.gridbook.ffi.core.AppUpdate
import app.gridbook.ffi.core.DeviceEnvironment
import app.gridbook.ffi.core.NetworkKind
import app.gridbook.logic.AppUpdates
import app.gridbook.logic.SigningCertificates
import app.gridbook.logic.UpdateCheck
import java.io.File
import java.security.MessageDigest

object PhoneFacts {
    fun of(context: Context): DeviceEnvironment {
        val free = runCatching { StatFs(context.filesDir.path).availableBytes.toULong() }.getOrNull()
        val power = context.getSystemService(Context.POWER_SERVICE) as? PowerManager
        return DeviceEnvironment(
            deviceModel = "${Build.MANUFACTURER} ${Build.MODEL}".trim().take(100),
            osVersion = "Android ${Build.VERSION.RELEASE}",
            freeStorageBytes = free,
            batterySaver = power?.isPowerSaveMode,
        )
    }

    /** Wi-Fi (any unmetered network), mobile data (metered), or none: what the photo policy reads. */
    fun network(context: Context): NetworkKind {
        val connectivity = context.getSystemService(Context.CONNECTIVITY_SERVICE) as? ConnectivityManager
            ?: return NetworkKind.NONE
        val caps = connectivity.getNetworkCapabilities(connectivity.activeNetwork) ?: return NetworkKind.NONE
        if (!caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)) return NetworkKind.NONE
        return if (caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)) NetworkKind.WIFI else NetworkKind.MOBILE
    }
}

/** PackageManager's view of who signs a file and this app, as SHA-256 of each certificate. */
class PackageCertificates(private val context: Context) : SigningCertificates {
    private fun sha256(bytes: ByteArray) = MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    private fun of(info: PackageInfo?): Set<String>? {
        val signing = info?.signingInfo ?: return null
        val certs = if (signing.hasMultipleSigners()) signing.apkContentsSigners else signing.signingCertificateHistory
        return certs?.map { sha256(it.toByteArray()) }?.toSet()
    }

    override fun ofFile(file: File): Set<String>? =
        of(context.packageManager.getPackageArchiveInfo(file.path, PackageManager.GET_SIGNING_CERTIFICATES))

    override fun ofInstalledApp(): Set<String> =
        of(context.packageManager.getPackageInfo(context.packageName, PackageManager.GET_SIGNING_CERTIFICATES)) ?: emptySet()
}

object AppUpdater {
    /**
     * Downloads [offer] into the app's cache (resuming a cut-off download), checks it, and hands
     * it to the system installer. Answers the check: [UpdateCheck.Refused] deleted the file.
     */
    fun downloadAndInstall(context: Context, serverUrl: String, token: String, offer: AppUpdate): UpdateCheck {
        val dir = File(context.cacheDir, "updates")  // cache: never in a backup
        val file = AppUpdates.download(serverUrl, token, offer, dir)
        val check = AppUpdates.check(offer, file, PackageCertificates(context))
        if (check == UpdateCheck.Install) install(context, file)
        return check
    }

    private fun install(context: Context, file: File) {
        val installer = context.packageManager.packageInstaller
        val params = PackageInstaller.SessionParams(PackageInstaller.SessionParams.MODE_FULL_INSTALL)
        params.setAppPackageName(context.packageName)
        val id = installer.createSession(params)
        installer.openSession(id).use { session ->
            file.inputStream().use { input ->
                session.openWrite("gridbook.apk", 0, file.length()).use { out ->
                    input.copyTo(out)
                    session.fsync(out)
                }
            }
            val intent = Intent(context, MainActivity::class.java).setAction("app.gridbook.UPDATE_INSTALLED")
            val flags = PendingIntent.FLAG_UPDATE_CURRENT or (if (Build.VERSION.SDK_INT >= 31) PendingIntent.FLAG_MUTABLE else 0)
            session.commit(PendingIntent.getActivity(context, id, intent, flags).intentSender)
        }
    }
}
