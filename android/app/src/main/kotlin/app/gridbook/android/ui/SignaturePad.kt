// The signature pad: touches go into core-logic's SignaturePadInput (strokes with times and
// pressure); the ink is drawn from the same points the core will hash. The customer signs here
// personally: the manager never signs for the customer (不准代客户签字).
package app.gridbook.android.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.background
import androidx.compose.foundation.border
import androidx.compose.foundation.gestures.awaitEachGesture
import androidx.compose.foundation.gestures.awaitFirstDown
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.width
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.StrokeCap
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.layout.onSizeChanged
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.IntSize
import androidx.compose.ui.unit.dp
import app.gridbook.android.R
import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.logic.SignaturePadInput

/** A pad that hands the finished signature to [onSigned]; [flags] are the core's warnings on it. */
@Composable
fun SignaturePadField(signed: Boolean, flags: List<SignatureFlag>, onSigned: (SignaturePad) -> Unit, onClear: () -> Unit) {
    var size by remember { mutableStateOf(IntSize.Zero) }
    val capture = remember(size) { if (size.width > 0) SignaturePadInput(size.width, size.height) else null }
    var version by remember { mutableIntStateOf(0) }
    // Read in composition so the buttons follow the ink.
    val hasInk = version >= 0 && capture != null && !capture.isEmpty
    Column {
        Text(stringResource(R.string.signature_hint), style = MaterialTheme.typography.bodySmall)
        Box(
            Modifier.fillMaxWidth().height(180.dp)
                .border(1.dp, MaterialTheme.colorScheme.outline)
                .background(Color.White)
                .onSizeChanged { size = it }
                .pointerInput(capture) {
                    val c = capture ?: return@pointerInput
                    awaitEachGesture {
                        val down = awaitFirstDown()
                        c.down(down.position.x, down.position.y, down.pressure)
                        version++
                        do {
                            val event = awaitPointerEvent()
                            event.changes.forEach { ch ->
                                c.move(ch.position.x, ch.position.y, ch.pressure)
                                ch.consume()
                            }
                            version++
                        } while (event.changes.any { it.pressed })
                        c.up()
                    }
                },
        ) {
            Canvas(Modifier.fillMaxSize()) {
                if (version < 0) return@Canvas  // reading `version` redraws on every touch
                capture?.strokesSoFar?.forEach { stroke ->
                    stroke.zipWithNext { a, b ->
                        drawLine(Color(0xFF1A1A1A), Offset(a.x, a.y), Offset(b.x, b.y), strokeWidth = 3.dp.toPx(), cap = StrokeCap.Round)
                    }
                    if (stroke.size == 1) drawCircle(Color(0xFF1A1A1A), 1.5.dp.toPx(), Offset(stroke[0].x, stroke[0].y))
                }
            }
        }
        if (flags.isNotEmpty()) {
            Text(stringResource(R.string.signature_again), color = MaterialTheme.colorScheme.error)
        }
        Row {
            OutlinedButton(onClick = { capture?.clear(); version++; onClear() }) { Text(stringResource(R.string.signature_clear)) }
            Spacer(Modifier.width(8.dp))
            Button(enabled = hasInk, onClick = { capture?.let { onSigned(it.pad()) } }) {
                Text(stringResource(if (signed) R.string.signature_taken else R.string.signature_done))
            }
        }
    }
}
