// Background sync with WorkManager: a periodic job every 15 minutes and a one-time job soon after
// each local change, both only with a network connection, with exponential backoff. The core does
// the retries inside a run (a few attempts); WorkManager brings the job back after that.
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
import app.gridbook.logic.ProblemKind
import app.gridbook.logic.problem
import java.util.concurrent.TimeUnit

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val graph = (applicationContext as GridbookApp).graph.getOrNull() ?: return Result.failure()
        if (!graph.sync.isEnrolled) return Result.success()  // nothing to do until enrolled
        val outcome = graph.sync.syncWithRetry(attempts = 3)
        if (outcome.isSuccess) return Result.success()
        return when (outcome.problem?.kind) {
            // Offline, overloaded or cut off: WorkManager retries with backoff.
            ProblemKind.OFFLINE, ProblemKind.INTERRUPTED -> Result.retry()
            // Revoked or never enrolled, or refused: retrying will not help; the sync screen says why.
            else -> Result.failure()
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

        /** A sync shortly after a change (batched: a burst of changes makes one job). */
        fun syncSoon(context: Context) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(online)
                .setInitialDelay(20, TimeUnit.SECONDS)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(SOON, ExistingWorkPolicy.KEEP, request)
        }
    }
}
