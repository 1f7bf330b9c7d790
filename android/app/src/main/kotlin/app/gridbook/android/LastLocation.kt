// The phone's last known position for the sign-in (签到): from the platform's location manager,
// only with the permission granted, never waiting for a fix — a sign-in in a basement is recorded
// with the time alone.
package app.gridbook.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.LocationManager

object LastLocation {
    /** A position in micro-degrees, as the core stores it. */
    data class Place(val latE6: Long, val lonE6: Long)

    fun permitted(context: Context): Boolean =
        context.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED ||
            context.checkSelfPermission(Manifest.permission.ACCESS_COARSE_LOCATION) == PackageManager.PERMISSION_GRANTED

    /** The freshest last-known fix of any provider, or null (no permission, no fix yet). */
    @SuppressLint("MissingPermission")  // checked by permitted() just below; lint cannot see across calls
    fun last(context: Context): Place? {
        if (!permitted(context)) return null
        val lm = context.getSystemService(LocationManager::class.java) ?: return null
        val best = try {
            lm.getProviders(true).mapNotNull { lm.getLastKnownLocation(it) }.maxByOrNull { it.time }
        } catch (e: SecurityException) {
            null  // the permission was withdrawn meanwhile
        } ?: return null
        return Place((best.latitude * 1_000_000).toLong(), (best.longitude * 1_000_000).toLong())
    }
}
