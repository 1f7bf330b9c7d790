// Local time on the phone: its zone offset now, and a local date and time typed on a form turned
// into the UTC milliseconds the core stores (and back). The core keeps instants in UTC with the
// zone offset beside them.
package app.gridbook.logic

import java.time.Instant
import java.time.LocalDate
import java.time.LocalTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException

/** The phone's zone offset now, minutes east of UTC (480 in China). */
fun phoneZoneOffsetMin(): Int = java.util.TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60_000

/** UTC ms of a local [date] (YYYY-MM-DD) and [time] (HH:mm) at [zoneOffsetMin]; null if either does not parse. */
fun localToUtcMs(date: String, time: String, zoneOffsetMin: Int): Long? = try {
    LocalDate.parse(date.trim()).atTime(LocalTime.parse(time.trim(), HH_MM))
        .toInstant(ZoneOffset.ofTotalSeconds(zoneOffsetMin * 60)).toEpochMilli()
} catch (e: DateTimeParseException) {
    null
}

/** The local date (YYYY-MM-DD) and time (HH:mm) of [ms] at [zoneOffsetMin]. */
fun utcMsToLocal(ms: Long, zoneOffsetMin: Int): Pair<String, String> {
    val t = Instant.ofEpochMilli(ms).atOffset(ZoneOffset.ofTotalSeconds(zoneOffsetMin * 60))
    return t.toLocalDate().toString() to t.toLocalTime().format(HH_MM)
}

private val HH_MM: DateTimeFormatter = DateTimeFormatter.ofPattern("HH:mm")
