// Background sync with WorkManager: a periodic job every 15 minutes and a one-time job soon after
// each local change, both only with a network connection, with exponential backoff. The one-time
// job is APPEND_OR_REPLACE: a change made while a sync runs gets a sync after it (KEEP would drop
// it until the next period). The core retries inside a run; WorkManager brings a run back within
// core-logic's limit (backgroundOutcome), after which the periodic job and the foreground and
// network triggers take over.
package app.gridbook.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.gridbook.logic.BackgroundOutcome
import app.gridbook.logic.backgroundOutcome
import app.gridbook.logic.problem
import java.util.concurrent.TimeUnit

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val graph = (applicationContext as GridbookApp).awaitGraph() ?: return Result.failure()
        // a locked store has its key out of memory: the sync waits for the manager to unlock
        if (graph.store.lockStatus().locked) return Result.success()
        if (!graph.sync.isEnrolled) return Result.success()  // nothing to do until enrolled
        graph.sync.setEnvironment(PhoneFacts.of(applicationContext))
        graph.sync.setNetwork(PhoneFacts.network(applicationContext))
        val outcome = graph.sync.syncWithRetry(attempts = 3)
        return when (backgroundOutcome(outcome.problem, runAttemptCount)) {
            BackgroundOutcome.DONE -> Result.success()
            // Offline, overloaded or cut off: WorkManager retries with backoff.
            BackgroundOutcome.RETRY -> Result.retry()
            // Revoked, refused, or retried enough: the sync screen says why.
            BackgroundOutcome.GIVE_UP -> Result.failure()
        }
    }

    companion object {
        private const val PERIODIC = "gridbook-sync-periodic"
        private const val SOON = "gridbook-sync-soon"

        private val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        fun schedule(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(online)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /** A sync shortly after a change, after the one running if any (a burst of changes waits [delaySeconds]). */
        fun syncSoon(context: Context, delaySeconds: Long = 20) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(online)
                .setInitialDelay(delaySeconds, TimeUnit.SECONDS)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(SOON, ExistingWorkPolicy.APPEND_OR_REPLACE, request)
        }
    }
}
