// Decisions the phone makes around the forms, kept here so they are tested on the JVM: the
// privacy notice agreed before anything else, when to sync (on coming to the foreground, when
// the network returns, and what a background run does when it fails), which position a fact
// records (a fix or "no fix within 30 s"), the date pickers' UTC midnights, and the receipt book to check before going out.
package app.gridbook.logic

import app.gridbook.ffi.core.LocationFix
import app.gridbook.ffi.core.LocationProvider
import app.gridbook.ffi.core.Position
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.ffi.SyncStatus
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneOffset
import java.time.format.DateTimeParseException

// ---- privacy notice (个人信息保护) -------------------------------------------------------------

/** Where the app keeps which privacy notice the manager agreed to, and when (preferences). */
interface ConsentStore {
    fun agreedVersion(): Int
    fun agree(version: Int, atMs: Long)
}

class MemoryConsentStore(private var version: Int = 0) : ConsentStore {
    var agreedAtMs: Long? = null
        private set
    override fun agreedVersion() = version
    override fun agree(version: Int, atMs: Long) {
        this.version = version
        agreedAtMs = atMs
    }
}

/**
 * The privacy notice on first start (PIPL; the app stores ask for it): nothing else — no
 * enrolment, no location, no sync — until the current version is agreed to. A new version of the
 * notice asks again.
 */
class Consent(private val store: ConsentStore, private val clockMs: () -> Long = System::currentTimeMillis) {
    val needed: Boolean get() = store.agreedVersion() < PRIVACY_NOTICE_VERSION

    fun agree() = store.agree(PRIVACY_NOTICE_VERSION, clockMs())

    companion object {
        /** Raise when the notice's text changes in a way the manager must read again. */
        const val PRIVACY_NOTICE_VERSION = 1
    }
}

// ---- when to sync ----------------------------------------------------------------------------

/** What woke the sync up. */
enum class SyncTrigger { FOREGROUND, NETWORK_BACK, LOCAL_CHANGE }

/**
 * Whether [trigger] should start a sync now. Periodic jobs are killed by many Chinese ROMs, so
 * the app also syncs when it comes to the foreground and when the network returns: at once when
 * something waits to be sent or the last cycle failed, otherwise when the last success is older
 * than [FRESH_MS]. Never while a cycle runs, never before enrolment.
 */
fun shouldSync(trigger: SyncTrigger, status: SyncStatus, nowMs: Long): Boolean {
    if (!status.enrolled) return false
    if (status.phase is SyncPhase.Pushing || status.phase is SyncPhase.Pulling) return false
    val waiting = status.pending > 0uL || status.phase is SyncPhase.Offline || status.phase is SyncPhase.Failed
    return when (trigger) {
        SyncTrigger.LOCAL_CHANGE -> true
        SyncTrigger.NETWORK_BACK -> waiting || stale(status, nowMs)
        SyncTrigger.FOREGROUND -> waiting || stale(status, nowMs)
    }
}

/** A pull older than this is worth doing again when the app comes back. */
const val FRESH_MS: Long = 5 * 60_000

private fun stale(status: SyncStatus, nowMs: Long): Boolean {
    val last = status.lastSuccessMs ?: return true
    return nowMs - last > FRESH_MS
}

/** What a background run reports to the scheduler (WorkManager's Result, BGTask's success). */
enum class BackgroundOutcome { DONE, RETRY, GIVE_UP }

/**
 * After a background sync: done when it worked; retried (with the scheduler's backoff) while the
 * cause can pass — offline, interrupted — up to [MAX_BACKGROUND_ATTEMPTS] runs, after which the
 * periodic job and the triggers above take over; given up when retrying cannot help (revoked,
 * refused, a bug): the sync screen says why.
 */
fun backgroundOutcome(problem: Problem?, runAttempt: Int): BackgroundOutcome = when {
    problem == null -> BackgroundOutcome.DONE
    // the store's key is out of memory until the manager unlocks: the next run syncs
    problem.kind == ProblemKind.LOCKED -> BackgroundOutcome.DONE
    // the back office had the phone wiped: nothing is left to sync until it is enrolled again
    problem.kind == ProblemKind.WIPED -> BackgroundOutcome.DONE
    problem.kind != ProblemKind.OFFLINE && problem.kind != ProblemKind.INTERRUPTED -> BackgroundOutcome.GIVE_UP
    runAttempt + 1 >= MAX_BACKGROUND_ATTEMPTS -> BackgroundOutcome.GIVE_UP
    else -> BackgroundOutcome.RETRY
}

const val MAX_BACKGROUND_ATTEMPTS = 5

// ---- where the phone was (sign-in, visit, receipt) -----------------------------------------------

/**
 * A position fix in micro-degrees (WGS-84, as the platform gives it), with when it was taken, how
 * good it is, the platform's provider name, and whether the system flagged it as a mock location.
 */
data class Fix(
    val latE6: Long,
    val lonE6: Long,
    val atMs: Long,
    val accuracyM: Float? = null,
    val provider: String = "",
    val mock: Boolean = false,
)

/**
 * The position a fact records: the current fix if one came before the timeout; otherwise the
 * freshest last known one no older than [MAX_LAST_KNOWN_AGE_MS] (a position from yesterday would
 * put the manager where they were not); otherwise none — the fact is still recorded ([positionOf]).
 */
fun chooseFix(current: Fix?, lastKnown: List<Fix>, nowMs: Long): Fix? =
    current ?: lastKnown.filter { nowMs - it.atMs in 0..MAX_LAST_KNOWN_AGE_MS }.maxByOrNull { it.atMs }

const val MAX_LAST_KNOWN_AGE_MS: Long = 10 * 60_000

/** How long the phone waits for a current fix before it records "no fix" (30 秒内无定位). */
const val CURRENT_FIX_TIMEOUT_MS: Long = 30_000

/** The widest accuracy the core keeps, metres (a fix without one counts as this wide). */
const val MAX_ACCURACY_M: Long = 20_000

/**
 * What a visit, a sign-in or a receipt records of where the phone was (the core's `Position`):
 * the chosen fix with its age at [nowMs] (0 to [MAX_LAST_KNOWN_AGE_MS]), its accuracy rounded up
 * to whole metres (1 to [MAX_ACCURACY_M]; none, or nonsense, counts as the widest), its provider
 * and mock flag; or, without a fix, "no fix" after [waitedMs]. Never a reason not to record.
 */
fun positionOf(fix: Fix?, nowMs: Long, waitedMs: Long = CURRENT_FIX_TIMEOUT_MS): Position {
    if (fix == null) return Position.NoFix(waitedMs.coerceIn(0, MAX_LAST_KNOWN_AGE_MS))
    val accuracy = fix.accuracyM?.takeIf { it.isFinite() && it >= 0f }
        ?.let { Math.ceil(it.toDouble()).toLong().coerceIn(1, MAX_ACCURACY_M) } ?: MAX_ACCURACY_M
    val age = (nowMs - fix.atMs).coerceIn(0, MAX_LAST_KNOWN_AGE_MS)
    return Position.Fix(LocationFix(fix.latE6, fix.lonE6, accuracy, age, providerOf(fix.provider), fix.mock))
}

/** The platform's provider name as the core knows it; an unknown one is OTHER. */
fun providerOf(name: String): LocationProvider = when (name) {
    "gps" -> LocationProvider.GPS
    "network" -> LocationProvider.NETWORK
    "fused" -> LocationProvider.FUSED
    "passive" -> LocationProvider.PASSIVE
    else -> LocationProvider.OTHER
}

/** Degrees to micro-degrees, as the core stores a place. */
fun microDegrees(degrees: Double): Long = Math.round(degrees * 1_000_000)

// ---- date pickers ------------------------------------------------------------------------------

/** A date picker's selection (UTC midnight of the chosen day, as Material's DatePicker gives it) as YYYY-MM-DD. */
fun pickedDate(utcMidnightMs: Long): String = Instant.ofEpochMilli(utcMidnightMs).atOffset(ZoneOffset.UTC).toLocalDate().toString()

/** YYYY-MM-DD as the picker's UTC midnight, to open it on that day; null if it does not parse. */
fun pickerMs(date: String): Long? = try {
    LocalDate.parse(date.trim()).atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli()
} catch (e: DateTimeParseException) {
    null
}

/** A time picker's hour and minute as HH:mm. */
fun pickedTime(hour: Int, minute: Int): String = "%02d:%02d".format(hour.coerceIn(0, 23), minute.coerceIn(0, 59))

// ---- the receipt book before going out -----------------------------------------------------------

/** Receipt numbers left on the phone, and whether to sync for a new book before going out. */
data class ReceiptBook(val left: Long) {
    /** The core asks the server for a new book during sync below this many (wire::ReceiptBlock::REFILL_BELOW). */
    val low: Boolean get() = left < LOW_BELOW
    val empty: Boolean get() = left == 0L

    companion object {
        const val LOW_BELOW = 50L
    }
}

// ---- tap to call -------------------------------------------------------------------------------

/** The purpose recorded when the full number is shown to call the customer (保密: every reveal is audited). */
const val CALL_PURPOSE = "拨打客户电话 call the customer"

/** A number a phone can dial: digits, with + * # and separators dropped. Null if nothing is left or it is still masked. */
fun dialable(number: String): String? {
    if (number.contains('*')) return null
    val digits = number.filter { it.isDigit() || it == '+' }
    return digits.takeIf { it.count(Char::isDigit) >= 3 }
}
