// The position for a sign-in (签到) and a visit at the door: with fine or coarse permission (Android 12+ lets the manager
// grant only approximate), a current fix with a timeout from the platform's location manager — on
// phones without Google services the last known fix is often empty — else a recent last known
// one (core-logic's chooseFix) with its provider and the system's mock flag; without either, the
// fact records "no fix within 30 s" (core-logic's positionOf). No Google Play services: Chinese
// phones do not have them.
package app.gridbook.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Build
import android.os.Bundle
import android.os.CancellationSignal
import android.os.Looper
import app.gridbook.logic.CURRENT_FIX_TIMEOUT_MS
import app.gridbook.logic.Fix
import app.gridbook.logic.chooseFix
import app.gridbook.logic.microDegrees
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.coroutines.resume

object CurrentLocation {
    /** Both together: the system's dialog then offers precise or approximate. */
    val PERMISSIONS = arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)

    fun permitted(context: Context): Boolean = PERMISSIONS.any { context.checkSelfPermission(it) == PackageManager.PERMISSION_GRANTED }

    /** The fix a sign-in records, or null. Never blocks the main thread; waits at most the timeout. */
    suspend fun fix(context: Context): Fix? {
        if (!permitted(context)) return null
        val lm = context.getSystemService(LocationManager::class.java) ?: return null
        val providers = try {
            lm.getProviders(true).sortedBy { PREFERENCE.indexOf(it).let { i -> if (i < 0) PREFERENCE.size else i } }
        } catch (e: SecurityException) {
            return null
        }
        val current = providers.firstOrNull()?.let { withTimeoutOrNull(CURRENT_FIX_TIMEOUT_MS) { current(context, lm, it) } }
        val known = withContext(Dispatchers.IO) { providers.mapNotNull { lastKnown(lm, it) } }
        return chooseFix(current?.toFix(), known.map { it.toFix() }, System.currentTimeMillis())
    }

    /** Fused where the platform has it (Android 12+), then satellites, then the network. */
    private val PREFERENCE = listOf("fused", LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)

    private fun Location.toFix() = Fix(
        microDegrees(latitude), microDegrees(longitude), time, if (hasAccuracy()) accuracy else null,
        provider = provider ?: "",
        // the system's own mark of a mock-location app's fix (developer options)
        mock = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) isMock else @Suppress("DEPRECATION") isFromMockProvider,
    )

    @SuppressLint("MissingPermission")  // permitted() was checked by fix(); a withdrawn permission is caught
    private fun lastKnown(lm: LocationManager, provider: String): Location? = try {
        lm.getLastKnownLocation(provider)
    } catch (e: SecurityException) {
        null
    }

    @SuppressLint("MissingPermission")
    private suspend fun current(context: Context, lm: LocationManager, provider: String): Location? =
        suspendCancellableCoroutine { cont ->
            try {
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                    val cancel = CancellationSignal()
                    cont.invokeOnCancellation { cancel.cancel() }
                    lm.getCurrentLocation(provider, cancel, context.mainExecutor) { loc -> if (cont.isActive) cont.resume(loc) }
                } else {
                    // every method overridden: before Android 11 the interface has no defaults at run time
                    val listener = object : LocationListener {
                        override fun onLocationChanged(location: Location) {
                            lm.removeUpdates(this)
                            if (cont.isActive) cont.resume(location)
                        }
                        @Deprecated("still called before Android 10")
                        override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) {}
                        override fun onProviderEnabled(provider: String) {}
                        override fun onProviderDisabled(provider: String) {}
                    }
                    cont.invokeOnCancellation { lm.removeUpdates(listener) }
                    lm.requestLocationUpdates(provider, 0L, 0f, listener, Looper.getMainLooper())
                }
            } catch (e: SecurityException) {
                if (cont.isActive) cont.resume(null)
            } catch (e: IllegalArgumentException) {
                if (cont.isActive) cont.resume(null)  // the provider went away
            }
        }
}
