// What every form decides the same way, whatever the screen: a submit runs once (a second tap
// while saving, or after saving, gets the saved result and writes nothing), an unsaved form
// outlives its screen (a tab tapped mid-visit keeps the visit), a local write makes the lists that
// show it stale (Today is refreshed after a visit or a collection), and a signature taken from
// the pad is checked by the core and flagged when implausible.
package app.gridbook.logic

import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.checkSignature
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import java.util.concurrent.ConcurrentHashMap

/**
 * One submit at a time, and none once it succeeded. A double tap launches two coroutines: the
 * second waits for the first and then finds the form [saved], so it returns true without writing
 * or touching the screen's state (which shows the saved result, never the pre-save form).
 */
class SubmitOnce {
    private val mutex = Mutex()

    /** Runs [submit] unless [saved] says it already succeeded; true when the form is saved. */
    suspend fun run(saved: () -> Boolean, submit: suspend () -> Boolean): Boolean =
        mutex.withLock { if (saved()) true else submit() }

    /** True while a submit runs (the button shows it and takes no tap). */
    val busy: Boolean get() = mutex.isLocked
}

/**
 * Forms not yet saved, by the screen they belong to ("visit:<household>:<appointment>"), for the
 * life of the app: leaving a screen (a tab tapped, the back stack cleared, the screen rebuilt)
 * and coming back finds the form as it was — its arrival time and the customer's signature
 * included. A saved form's draft is dropped.
 */
class Drafts {
    private val forms = ConcurrentHashMap<String, Any>()

    @Suppress("UNCHECKED_CAST")
    fun <T : Any> get(key: String, type: Class<T>): T? = forms[key]?.takeIf { type.isInstance(it) } as T?

    fun put(key: String, form: Any) {
        forms[key] = form
    }

    fun drop(key: String) {
        forms.remove(key)
    }

    val keys: Set<String> get() = forms.keys.toSet()
}

inline fun <reified T : Any> Drafts.get(key: String): T? = get(key, T::class.java)

/**
 * Counts the phone's own writes. Repositories bump it after each successful write (their
 * `onWrite`); a screen that lists records (Today) refreshes when it moved since it last read.
 */
class LocalChanges {
    private val _version = MutableStateFlow(0L)
    val version: StateFlow<Long> = _version.asStateFlow()

    fun bump() {
        _version.value = _version.value + 1
    }
}

/** A signature as a form holds it: the pad if the core can take it, its plausibility flags, why not. */
data class TakenSignature(val pad: SignaturePad?, val flags: List<SignatureFlag>, val problem: Problem?)

/** Checks [pad] with the core: refused if it cannot be a signature, flagged if implausible. */
fun takeSignature(pad: SignaturePad): TakenSignature {
    val check = attempt { checkSignature(pad) }
    return TakenSignature(if (check.isSuccess) pad else null, check.getOrNull()?.flags ?: emptyList(), check.problem)
}
