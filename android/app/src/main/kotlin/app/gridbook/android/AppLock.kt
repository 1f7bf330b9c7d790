// The app lock on the phone (docs/at-rest.md, "App lock and the offline session"): the lock
// screen that the core's lock state calls for, the phone's own PIN or biometrics in front of the
// Keystore vault's unlock, and the server's screenshot blocking (FLAG_SECURE).
package app.gridbook.android

import android.app.Activity
import android.app.KeyguardManager
import android.content.Context
import android.content.Intent
import android.hardware.biometrics.BiometricManager
import android.hardware.biometrics.BiometricPrompt
import android.os.Build
import android.os.CancellationSignal
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.gridbook.android.ui.problemText
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.core.SessionStatus
import app.gridbook.logic.Problem
import app.gridbook.logic.attempt
import app.gridbook.logic.problem
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlin.coroutines.resume
import kotlin.coroutines.suspendCoroutine

/** How often the lock screen asks the core (asking does not count as use, so an idle store locks on time). */
private const val LOCK_POLL_MS = 15_000L

/**
 * Shows [content] while the store is unlocked and the lock screen while it is locked; keeps the
 * window out of screenshots, recordings and the app switcher when the server's policy says so.
 */
@Composable
fun Locked(activity: ComponentActivity, store: GridbookStore, content: @Composable () -> Unit) {
    var status by remember { mutableStateOf<SessionStatus?>(null) }
    LaunchedEffect(store) {
        while (true) {
            val now = withContext(Dispatchers.IO) { store.lockStatus() }
            status = now
            applyScreenshotPolicy(activity, now.policy.blockScreenshots)
            delay(LOCK_POLL_MS)
        }
    }
    val s = status ?: return
    if (!s.locked) {
        content()
        return
    }
    LockScreen(activity, store, mustSync = s.mustSync) { status = it }
}

/** FLAG_SECURE on or off: the policy arrives with every sync, so it is applied on every check. */
fun applyScreenshotPolicy(activity: Activity, block: Boolean) = activity.runOnUiThread {
    if (block) activity.window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
    else activity.window.clearFlags(WindowManager.LayoutParams.FLAG_SECURE)
}

@Composable
private fun LockScreen(activity: ComponentActivity, store: GridbookStore, mustSync: Boolean, unlocked: (SessionStatus) -> Unit) {
    val scope = rememberCoroutineScope()
    var problem by remember { mutableStateOf<Problem?>(null) }
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text(stringResource(R.string.lock_title), style = MaterialTheme.typography.headlineSmall)
        Text(stringResource(R.string.lock_explain))
        if (mustSync) Text(stringResource(R.string.lock_must_sync), color = MaterialTheme.colorScheme.error)
        Button(onClick = {
            scope.launch {
                if (!confirmUser(activity)) return@launch
                // the Keystore vault unwraps the store's key; the core checks it against the key record
                val result = withContext(Dispatchers.IO) { attempt { store.unlock(KeystoreVault()); store.lockStatus() } }
                result.onSuccess(unlocked)
                problem = result.problem
            }
        }) { Text(stringResource(R.string.lock_unlock)) }
        problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error) }
    }
}

/**
 * The phone's own PIN, pattern or biometrics: BiometricPrompt with the device credential from
 * Android 11, the keyguard's confirmation before. A phone with no screen lock at all cannot
 * protect the store: it is let through (the Keystore key still needs the phone unlocked).
 */
suspend fun confirmUser(activity: ComponentActivity): Boolean {
    val keyguard = activity.getSystemService(Context.KEYGUARD_SERVICE) as KeyguardManager
    if (!keyguard.isDeviceSecure) return true
    if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
        return suspendCoroutine { done ->
            val prompt = BiometricPrompt.Builder(activity)
                .setTitle(activity.getString(R.string.lock_title))
                .setAllowedAuthenticators(
                    BiometricManager.Authenticators.BIOMETRIC_STRONG or BiometricManager.Authenticators.DEVICE_CREDENTIAL,
                )
                .build()
            prompt.authenticate(CancellationSignal(), activity.mainExecutor, object : BiometricPrompt.AuthenticationCallback() {
                override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) = done.resume(true)
                override fun onAuthenticationError(errorCode: Int, errString: CharSequence) = done.resume(false)
            })
        }
    }
    @Suppress("DEPRECATION")
    val intent: Intent = keyguard.createConfirmDeviceCredentialIntent(activity.getString(R.string.lock_title), null)
        ?: return true
    return suspendCoroutine { done ->
        lateinit var launcher: androidx.activity.result.ActivityResultLauncher<Intent>
        launcher = activity.activityResultRegistry.register(
            "gridbook-unlock-${System.nanoTime()}", ActivityResultContracts.StartActivityForResult(),
        ) { result ->
            launcher.unregister()
            done.resume(result.resultCode == Activity.RESULT_OK)
        }
        launcher.launch(intent)
    }
}
