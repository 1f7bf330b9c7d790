// The signature pad's input, independent of the UI toolkit: touches become strokes of points with
// times since the first touch, kept inside the pad, ready for the core's checks and seal.
package app.gridbook.logic

import app.gridbook.ffi.PadPoint
import app.gridbook.ffi.PadStroke
import app.gridbook.ffi.SignaturePad

/** Collects one signature on a [width]×[height] px pad. [clockMs] is a monotonic clock in ms. */
class SignaturePadInput(
    val width: Int,
    val height: Int,
    private val clockMs: () -> Long = { System.nanoTime() / 1_000_000 },
) {
    private val strokes = mutableListOf<MutableList<PadPoint>>()
    private var startMs: Long? = null

    /** Finger down: a new stroke begins. */
    fun down(x: Float, y: Float, pressure: Float? = null) {
        strokes.add(mutableListOf())
        add(x, y, pressure)
    }

    /** Finger moved (a move without a down starts a stroke). */
    fun move(x: Float, y: Float, pressure: Float? = null) {
        if (strokes.isEmpty()) down(x, y, pressure) else add(x, y, pressure)
    }

    /** Finger up: the stroke ends (the next touch starts another). */
    fun up() {
        if (strokes.lastOrNull()?.isEmpty() == true) strokes.removeAt(strokes.size - 1)
    }

    /** Starts over ("重签 Sign again"). */
    fun clear() {
        strokes.clear()
        startMs = null
    }

    val isEmpty: Boolean get() = strokes.none { it.isNotEmpty() }

    /** The strokes so far, for drawing. */
    val strokesSoFar: List<List<PadPoint>> get() = strokes.map { it.toList() }

    /** The signature as the core takes it. */
    fun pad(): SignaturePad = SignaturePad(
        width.toUInt(), height.toUInt(),
        strokes.filter { it.isNotEmpty() }.map { PadStroke(it.toList()) },
    )

    private fun add(x: Float, y: Float, pressure: Float?) {
        if (!x.isFinite() || !y.isFinite()) return
        val now = clockMs()
        val t0 = startMs ?: now.also { startMs = it }
        val t = (now - t0).coerceIn(0L, UInt.MAX_VALUE.toLong()).toUInt()
        val last = strokes.last().lastOrNull()?.tMs ?: 0u
        strokes.last().add(
            PadPoint(
                x.coerceIn(0f, width.toFloat()),
                y.coerceIn(0f, height.toFloat()),
                maxOf(t, last),
                pressure?.takeIf { it.isFinite() }?.coerceIn(0f, 1f),
            ),
        )
    }
}
