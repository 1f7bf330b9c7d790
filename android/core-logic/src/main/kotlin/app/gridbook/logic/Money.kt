// Money as the manager types it and reads it: yuan text ↔ integer fen, never floating point.
package app.gridbook.logic

import app.gridbook.ffi.formatYuan

object Money {
    private val AMOUNT = Regex("""^(\d{1,13})(?:\.(\d{1,2}))?$""")

    /**
     * Parses what the manager typed ("128", "128.5", "¥1,280.00") into fen. Null for anything that
     * is not a non-negative amount with at most two decimals.
     */
    fun parseYuan(text: String): Long? {
        val cleaned = text.trim().removePrefix("¥").removePrefix("￥").replace(",", "").replace(" ", "")
        val m = AMOUNT.matchEntire(cleaned) ?: return null
        val yuan = m.groupValues[1].toLong()
        val decimals = m.groupValues[2].padEnd(2, '0')
        return yuan * 100 + decimals.toLong()
    }

    /** 100050 → "1,000.50" (the core's formatting, the same on every platform). */
    fun format(fen: Long): String = formatYuan(fen)

    /** 100050 → "¥1,000.50" */
    fun yuan(fen: Long): String = "¥" + formatYuan(fen)

    /** Change to give back (唱收唱付): cash minus amount, or null while the cash does not cover it. */
    fun change(amountFen: Long?, cashFen: Long?): Long? =
        if (amountFen == null || cashFen == null || cashFen < amountFen) null else cashFen - amountFen
}
